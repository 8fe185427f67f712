package demo

import (
	"testing"
	"time"

	"arbmm/configs"
)

func TestDemoSmoke(t *testing.T) {
	cfg, err := Load(configs.FS, "demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	d, err := Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		time.Sleep(500 * time.Millisecond)
		st := d.Core.Status()
		t.Logf("%+v", st.Stats)
		for _, p := range st.Pairs {
			t.Logf("  %s qty %d realised %d unrealised %d fees %d fills %d", p.Pair, p.Qty, p.Realised, p.Unrealised, p.Fees, p.Fills)
		}
		if st.Stats.Fills > 20 {
			break
		}
	}
}

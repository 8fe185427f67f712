package main

import (
	"testing"

	"arbmm/configs"
	"arbmm/internal/config"
)

// TestBuildVenuesFromExampleConfig wires every venue of the shipped
// example config (no network: connections are made, not run).
func TestBuildVenuesFromExampleConfig(t *testing.T) {
	cfg, err := config.ParseFS(configs.FS, "prod.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	ins, err := cfg.Instruments()
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Venues) == 0 {
		t.Fatal("example config has no venues")
	}
	for i := range cfg.Venues {
		vc := &cfg.Venues[i]
		lv, err := buildVenue(vc, ins, connHook{})
		if err != nil {
			t.Fatalf("venue %s: %v", vc.Name, err)
		}
		if lv.conn == nil || lv.session == nil || lv.counters == nil {
			t.Errorf("venue %s: incomplete wiring %+v", vc.Name, lv)
		}
		if got := lv.conn.Config().URL; got != vc.WSURL {
			t.Errorf("venue %s: conn URL %q, want %q", vc.Name, got, vc.WSURL)
		}
		lv.close()
	}
}

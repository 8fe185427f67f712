package bench

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestRecordStamps(t *testing.T) {
	st := New()
	// The feed decodes and applies in one call: no AtDecoded stamp, so
	// receipt→applied lands in Apply.
	s := Stamps{AtReceipt: 1000, AtApplied: 1800, AtDecided: 2100, AtChecked: 2200, AtReady: 2900, AtSent: 3500}
	st.RecordStamps(&s)
	check := func(stage Stage, count, max int64) {
		t.Helper()
		h := st.Histogram(stage)
		if h.TotalCount() != count || (count > 0 && !h.ValuesAreEquivalent(h.Max(), max)) {
			t.Errorf("%s: got count %d max %d, want %d and %d", stage, h.TotalCount(), h.Max(), count, max)
		}
	}
	check(Decode, 0, 0)
	check(Apply, 1, 800)
	check(Decide, 1, 300)
	check(Risk, 1, 100)
	check(Encode, 1, 700)
	check(Send, 1, 600)
	check(TickToTrade, 1, 2500)

	st.Record(Send, -5)
	st.Record(Send, MaxValue*2)
	if st.Clamped != 2 {
		t.Errorf("clamped %d, want 2", st.Clamped)
	}
	st.Record(NumStages, 1) // ignored
	if st.Histogram(NumStages) != nil {
		t.Error("Histogram(NumStages) is not nil")
	}
}

func TestMergeAndReport(t *testing.T) {
	a, b := New(), New()
	for i := range int64(1000) {
		a.Record(TickToTrade, 1000+i) // 1.000..1.999 µs
		b.Record(TickToTrade, 5000)
	}
	b.Record(Risk, 150)
	a.Merge(b)
	r := a.Report()
	if len(r.Stages) != 2 || r.Stages[0].Stage != "risk" || r.Stages[1].Stage != "tick_to_trade" {
		t.Fatalf("got stages %+v, want risk and tick_to_trade", r.Stages)
	}
	tt := r.Stages[1]
	near := func(got, want float64) bool { return got >= want && got <= want*1.001 } // 3 significant digits
	if tt.Count != 2000 || !near(tt.P50, 1.998) || !near(tt.P90, 5) || !near(tt.Max, 5) {
		t.Errorf("got %+v, want count 2000, p50 ~2 µs, p90 and max ~5 µs", tt)
	}
	var sb strings.Builder
	if err := r.WriteText(&sb); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(sb.String()), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "stage") || !strings.HasPrefix(lines[2], "tick_to_trade ") {
		t.Errorf("table:\n%s", sb.String())
	}
	j, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(j), `"stage":"tick_to_trade","count":2000,"p50_us":`) || !strings.Contains(string(j), `"p99_9_us":5.0`) {
		t.Errorf("json: %s", j)
	}
	a.Reset()
	if rep := a.Report(); len(rep.Stages) != 0 {
		t.Errorf("after Reset: %+v", rep)
	}
}

func TestStageString(t *testing.T) {
	for s, want := range map[Stage]string{Decode: "decode", TickToTrade: "tick_to_trade", NumStages: "stage(7)"} {
		if got := s.String(); got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
}

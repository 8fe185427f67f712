package jscan

import (
	"encoding/json"
	"errors"
	"testing"

	"arbmm/internal/market"
)

func TestWalkObject(t *testing.T) {
	frame := []byte(` {"e":"depthUpdate","E":1633998512068,"s":"NKN\u0055SDT","U":499869750,"b":[["0.35130000","6195.00000000"]],"a":[],"x":{"y":[true,false,null,-1.5e3]}} `)
	var s Scanner
	s.Reset(frame)
	var got []string
	var levels [][2]int64
	for k, ok := s.ObjectStart(); ok; k, ok = s.NextKey() {
		got = append(got, string(k))
		switch string(k) {
		case "s":
			v, _ := s.String()
			if string(v) != "NKNUSDT" {
				t.Errorf("s = %q, want NKNUSDT (escape decoded)", v)
			}
		case "E", "U":
			v, _ := s.Int()
			if k[0] == 'U' && v != 499869750 {
				t.Errorf("U = %d, want 499869750", v)
			}
		case "b", "a":
			for more := s.ArrayStart(); more; more = s.NextElem() {
				s.ArrayStart()
				p, _ := s.Fixed(8)
				s.NextElem()
				q, _ := s.Fixed(8)
				s.NextElem()
				levels = append(levels, [2]int64{p, q})
			}
		default:
			s.Skip()
		}
	}
	if !s.End() {
		t.Fatalf("scan failed: %s", s.ErrorString())
	}
	if want := []string{"e", "E", "s", "U", "b", "a", "x"}; len(got) != len(want) {
		t.Fatalf("keys = %v, want %v", got, want)
	}
	if len(levels) != 1 || levels[0] != [2]int64{35130000, 619500000000} {
		t.Errorf("levels = %v, want [[35130000 619500000000]]", levels)
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		in  string
		err error
	}{
		{`{"a":1,}`, ErrSyntax},
		{`{"a" 1}`, ErrSyntax},
		{`{"a":"x`, ErrEOF},
		{`{"a":tru}`, ErrSyntax},
		{`{"a":01}`, ErrSyntax},
		{`{"a":"\q"}`, ErrSyntax},
		{`{"a":"` + "\x01" + `"}`, ErrSyntax},
		{`[1,2]`, ErrType},
	}
	for _, tc := range tests {
		var s Scanner
		s.Reset([]byte(tc.in))
		for _, ok := s.ObjectStart(); ok; _, ok = s.NextKey() {
			s.Skip()
		}
		s.End()
		if !errors.Is(s.Err(), tc.err) {
			t.Errorf("%s: err = %v, want %v", tc.in, s.Err(), tc.err)
		}
	}
}

func TestFixedForms(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		err  error
	}{
		{`"0.35130000"`, 35130000, nil},
		{`29430.2`, 2943020000000, nil},
		{`4.0`, 400000000, nil},
		{`"\u0031.5"`, 150000000, nil},
		{`"1.000000001"`, 0, market.ErrPrecision},
		{`"abc"`, 0, market.ErrSyntax},
		{`"1.5 "`, 0, market.ErrSyntax},
		{`""`, 0, market.ErrSyntax},
		{`-0.5`, -50000000, nil},
		{`00.5`, 0, ErrSyntax},
		{`true`, 0, ErrType},
	}
	for _, tc := range tests {
		var s Scanner
		s.Reset([]byte(tc.in))
		v, ok := s.Fixed(8)
		if v != tc.want || !errors.Is(s.Err(), tc.err) || ok != (tc.err == nil) {
			t.Errorf("Fixed(%s) = %d, %v, err %v; want %d, err %v", tc.in, v, ok, s.Err(), tc.want, tc.err)
		}
	}
}

// FuzzSkip checks the scanner's validity verdict and string decoding against
// encoding/json on any input.
func FuzzSkip(f *testing.F) {
	for _, s := range []string{`{"a":[1,"x",{"b":null}]}`, `"\ud83d\ude00"`, `[-0.0e+1]`, `"\ud800"`, "\"\xff\""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var s Scanner
		s.Reset(b)
		ok := s.Skip() && s.End()
		if ok != json.Valid(b) {
			t.Fatalf("Skip+End = %v (%s), json.Valid = %v for %q", ok, s.ErrorString(), !ok, b)
		}
		s.Reset(b)
		if s.Peek() == '"' {
			str, ok := s.String()
			var ref string
			rerr := json.Unmarshal(b, &ref)
			if ok && s.End() && (rerr != nil || ref != string(str)) {
				t.Fatalf("String(%q) = %q, encoding/json = %q, %v", b, str, ref, rerr)
			}
		}
	})
}

func TestAppendString(t *testing.T) {
	var s Scanner
	s.Reset([]byte(`["a\"b", "plain", "\u00e9"]`))
	var bufs [3][]byte
	i := 0
	for more := s.ArrayStart(); more; more = s.NextElem() {
		bufs[i], _ = s.AppendString([]byte("x"))
		i++
	}
	if !s.End() || string(bufs[0]) != `xa"b` || string(bufs[1]) != "xplain" || string(bufs[2]) != "xé" {
		t.Fatalf("AppendString = %q %q %q, err %v", bufs[0], bufs[1], bufs[2], s.Err())
	}
}

package market

import (
	"errors"
	"math"
	"math/big"
	"strconv"
	"testing"
)

// refFixed is the reference for ScanFixed/ParseFixed: exact rational
// arithmetic with math/big, written independently of the scanner.
func refFixed(s string, exp int) (int64, error) {
	if !isNumberSyntax(s) {
		return 0, ErrSyntax
	}
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		return 0, errRefUnsupported // math/big refuses huge exponents
	}
	r.Mul(r, new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(exp)), nil)))
	if !r.IsInt() {
		return 0, ErrPrecision
	}
	n := r.Num()
	if !n.IsInt64() {
		return 0, ErrRange
	}
	return n.Int64(), nil
}

var errRefUnsupported = errors.New("reference cannot evaluate this number")

// isNumberSyntax is the grammar ParseFixed accepts: JSON's number grammar,
// except that leading zeros are allowed ("007.5"), as venues' decimal text
// may carry them.
func isNumberSyntax(s string) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	digits := func() int {
		st := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		return i - st
	}
	if digits() == 0 {
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == len(s)
}

func TestParseFixed(t *testing.T) {
	tests := []struct {
		in   string
		exp  int
		want int64
		err  error
	}{
		{"0.35130000", 8, 35130000, nil},
		{"27120.00000", 1, 271200, nil},
		{"27120.00000", 5, 2712000000, nil},
		{"29430.2", 1, 294302, nil},
		{"4.0", 8, 400000000, nil},
		{"0", 8, 0, nil},
		{"0.00000000", 8, 0, nil},
		{"-0", 2, 0, nil},
		{"-1.25", 2, -125, nil},
		{"1e-4", 4, 1, nil},
		{"1.5E+3", 0, 1500, nil},
		{"1.5e3", 2, 150000, nil},
		{"1234567890123456789e-10", 10, 1234567890123456789, nil},
		{"12345678901234567890e-10", 8, 0, ErrPrecision},
		{"0.000000000000000000000000000000000000001e39", 0, 1, nil},
		{"100000000000000000000000000000e-29", 0, 1, nil},
		{"9223372036854775807", 0, math.MaxInt64, nil},
		{"-9223372036854775808", 0, math.MinInt64, nil},
		{"9223372036854775808", 0, 0, ErrRange},
		{"92233720368547758.08", 2, 0, ErrRange},
		{"1e19", 0, 0, ErrRange},
		{"1e1000000000", 0, 0, ErrRange},
		{"0e1000000000", 0, 0, nil},
		{"0.123", 2, 0, ErrPrecision},
		{"1e-3", 2, 0, ErrPrecision},
		{"27120.00001", 1, 0, ErrPrecision},
		{"", 2, 0, ErrSyntax},
		{"-", 2, 0, ErrSyntax},
		{".5", 2, 0, ErrSyntax},
		{"5.", 2, 0, ErrSyntax},
		{"+5", 2, 0, ErrSyntax},
		{"1e", 2, 0, ErrSyntax},
		{"1e+", 2, 0, ErrSyntax},
		{"1.2.3", 2, 0, ErrSyntax},
		{"12a", 2, 0, ErrSyntax},
		{" 1", 2, 0, ErrSyntax},
		{"NaN", 2, 0, ErrSyntax},
		{"1", 19, 0, ErrExp},
		{"1", -1, 0, ErrExp},
	}
	for _, tc := range tests {
		got, err := ParseFixed([]byte(tc.in), tc.exp)
		if got != tc.want || !errors.Is(err, tc.err) {
			t.Errorf("ParseFixed(%q, %d) = %d, %v; want %d, %v", tc.in, tc.exp, got, err, tc.want, tc.err)
		}
		if ref, rerr := refFixed(tc.in, tc.exp); tc.err != ErrExp && rerr != errRefUnsupported && (ref != got || !errors.Is(rerr, tc.err)) {
			t.Errorf("reference disagrees on %q exp %d: got %d, %v", tc.in, tc.exp, ref, rerr)
		}
	}
}

func TestScanFixedStopsAtDelimiter(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		n    int
	}{
		{`0.35130000","6195.0"]`, 35130000, 10},
		{`29430.2,"qty":1}`, 2943020000000, 7},
		{`4.0}`, 400000000, 3},
		{`1e-8]`, 1, 4},
	} {
		v, n, err := ScanFixed([]byte(tc.in), 8)
		if err != nil || v != tc.want || n != tc.n {
			t.Errorf("ScanFixed(%q) = %d, %d, %v; want %d, %d, nil", tc.in, v, n, err, tc.want, tc.n)
		}
	}
}

func TestParsePriceQtyRejectNegative(t *testing.T) {
	if _, err := ParsePrice([]byte("-1.0"), 2); !errors.Is(err, ErrNegative) {
		t.Errorf("ParsePrice(-1.0) err = %v, want ErrNegative", err)
	}
	if _, err := ParseQty([]byte("-0.5"), 2); !errors.Is(err, ErrNegative) {
		t.Errorf("ParseQty(-0.5) err = %v, want ErrNegative", err)
	}
	if q, err := ParseQty([]byte("0.5"), 2); err != nil || q != 50 {
		t.Errorf("ParseQty(0.5) = %d, %v; want 50, nil", q, err)
	}
}

func TestAppendFixed(t *testing.T) {
	tests := []struct {
		v         int64
		exp       int
		want, trm string
	}{
		{271200, 1, "27120.0", "27120"},
		{35130000, 8, "0.35130000", "0.3513"},
		{1, 8, "0.00000001", "0.00000001"},
		{0, 0, "0", "0"},
		{0, 3, "0.000", "0"},
		{-125, 2, "-1.25", "-1.25"},
		{-5, 3, "-0.005", "-0.005"},
		{math.MaxInt64, 0, "9223372036854775807", "9223372036854775807"},
		{math.MinInt64, 18, "-9.223372036854775808", "-9.223372036854775808"},
		{1, 18, "0.000000000000000001", "0.000000000000000001"},
		{1200, 2, "12.00", "12"},
	}
	for _, tc := range tests {
		if got := string(AppendFixed(nil, tc.v, tc.exp)); got != tc.want {
			t.Errorf("AppendFixed(%d, %d) = %q, want %q", tc.v, tc.exp, got, tc.want)
		}
		if got := string(AppendFixedTrim([]byte("x"), tc.v, tc.exp)); got != "x"+tc.trm {
			t.Errorf("AppendFixedTrim(%d, %d) = %q, want %q", tc.v, tc.exp, got, "x"+tc.trm)
		}
		back, err := ParseFixed([]byte(tc.want), tc.exp)
		if err != nil || back != tc.v {
			t.Errorf("ParseFixed(AppendFixed(%d)) = %d, %v", tc.v, back, err)
		}
	}
}

func TestRescale(t *testing.T) {
	tests := []struct {
		v        int64
		from, to int
		want     int64
		ok       bool
	}{
		{271200, 1, 5, 2712000000, true},
		{2712000000, 5, 1, 271200, true},
		{2712000001, 5, 1, 0, false},
		{math.MaxInt64 / 10, 0, 1, math.MaxInt64 / 10 * 10, true},
		{math.MaxInt64/10 + 1, 0, 1, 0, false},
		{-5, 0, 2, -500, true},
		{math.MinInt64 / 100, 0, 3, 0, false},
		{7, 3, 3, 7, true},
	}
	for _, tc := range tests {
		got, ok := Rescale(tc.v, tc.from, tc.to)
		if got != tc.want || ok != tc.ok {
			t.Errorf("Rescale(%d, %d, %d) = %d, %v; want %d, %v", tc.v, tc.from, tc.to, got, ok, tc.want, tc.ok)
		}
	}
}

func TestCountDecimals(t *testing.T) {
	for in, want := range map[string]int{"0.35130000": 8, "27120": 0, "1.5e3": 1, "": 0, "3.": 0} {
		if got := CountDecimals([]byte(in)); got != want {
			t.Errorf("CountDecimals(%q) = %d, want %d", in, got, want)
		}
	}
}

func TestVenueAndPair(t *testing.T) {
	for v := Venue(1); v < numVenues; v++ {
		p, err := ParseVenue(v.String())
		if err != nil || p != v {
			t.Errorf("ParseVenue(%q) = %v, %v; want %v", v.String(), p, err, v)
		}
	}
	if _, err := ParseVenue("mtgox"); err == nil {
		t.Error("ParseVenue(mtgox) succeeded, want error")
	}
	p, err := ParsePair("btc/usdt")
	if err != nil || p != (Pair{"BTC", "USDT"}) || p.String() != "BTC/USDT" {
		t.Errorf("ParsePair(btc/usdt) = %v, %v", p, err)
	}
	for _, bad := range []string{"BTCUSDT", "/USDT", "BTC/", "BTC/US-DT", "A/B/C"} {
		if _, err := ParsePair(bad); err == nil {
			t.Errorf("ParsePair(%q) succeeded, want error", bad)
		}
	}
	if Bid.Opposite() != Ask || Ask.Opposite() != Bid {
		t.Error("Opposite is not an involution between Bid and Ask")
	}
}

func TestInstrumentValidate(t *testing.T) {
	good := Instrument{Venue: Binance, Symbol: "BTCUSDT", Pair: Pair{"BTC", "USDT"}, PriceExp: 2, QtyExp: 8, Tick: 1, Step: 1000}
	if err := good.Validate(); err != nil {
		t.Fatalf("valid instrument: %v", err)
	}
	if got := good.FormatPrice(6000012); got != "60000.12" {
		t.Errorf("FormatPrice = %q, want 60000.12", got)
	}
	for name, mut := range map[string]func(*Instrument){
		"venue":  func(in *Instrument) { in.Venue = VenueUnknown },
		"symbol": func(in *Instrument) { in.Symbol = "" },
		"pair":   func(in *Instrument) { in.Pair = Pair{} },
		"pexp":   func(in *Instrument) { in.PriceExp = 19 },
		"qexp":   func(in *Instrument) { in.QtyExp = -1 },
		"tick":   func(in *Instrument) { in.Tick = -1 },
	} {
		in := good
		mut(&in)
		if err := in.Validate(); err == nil {
			t.Errorf("%s: Validate succeeded, want error", name)
		}
	}
}

// FuzzParseFixed checks ScanFixed against the math/big reference on any
// input and exponent, and that formatting a parsed value parses back to it.
func FuzzParseFixed(f *testing.F) {
	for _, s := range []string{"0.35130000", "27120.00000", "29430.2", "1e-4", "-1.5E+3", "9223372036854775807", "0.000", "1.2.3"} {
		f.Add(s, uint8(8))
	}
	f.Fuzz(func(t *testing.T, s string, e uint8) {
		exp := int(e % 19)
		got, err := ParseFixed([]byte(s), exp)
		ref, rerr := refFixed(s, exp)
		if rerr == errRefUnsupported {
			return // exponent too large for math/big; TestParseFixed pins these
		}
		if err != rerr || got != ref {
			t.Fatalf("ParseFixed(%q, %d) = %d, %v; reference %d, %v", s, exp, got, err, ref, rerr)
		}
		if err == nil {
			txt := AppendFixed(nil, got, exp)
			back, err := ParseFixed(txt, exp)
			if err != nil || back != got {
				t.Fatalf("round trip of %d at %d via %q = %d, %v", got, exp, txt, back, err)
			}
			if f, ferr := strconv.ParseFloat(string(txt), 64); ferr != nil || math.IsNaN(f) {
				t.Fatalf("AppendFixed produced %q, not a number", txt)
			}
		}
	})
}

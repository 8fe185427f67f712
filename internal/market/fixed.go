package market

import (
	"errors"
	"math"
	"math/bits"
)

// Price is a price mantissa: the price times 10^PriceExp of its instrument.
type Price int64

// Qty is a quantity mantissa: the quantity times 10^QtyExp of its instrument.
type Qty int64

// MaxExp is the largest decimal exponent a Price or Qty may use: 10^18 is the
// largest power of ten an int64 holds.
const MaxExp = 18

// Errors returned by the fixed-point scanners. They are preallocated so that
// returning one costs nothing on the hot path; callers wrap them with context
// on cold paths.
var (
	ErrSyntax    = errors.New("market: malformed decimal number")
	ErrRange     = errors.New("market: decimal number out of int64 range")
	ErrPrecision = errors.New("market: decimal number has more decimals than the exponent allows")
	ErrNegative  = errors.New("market: negative price or quantity")
	ErrExp       = errors.New("market: exponent out of range 0..18")
)

// pow10 holds 10^0 .. 10^19, the powers of ten a uint64 holds.
var pow10 = [20]uint64{
	1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000,
	1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19,
}

// Pow10 returns 10^n for 0 <= n <= 18 as an int64.
func Pow10(n int) int64 { return int64(pow10[n]) }

// ScanFixed scans the longest decimal number at the start of b and returns it
// as a mantissa scaled by 10^exp, together with the number of bytes consumed.
//
// It accepts the forms venues send as text ("0.35130000", "27120.00000",
// "-3", "1e-4") and every JSON number ("29430.2", "4.0", "1.5E+3"). A leading
// '+' or a bare '.' is a syntax error. Digits past the exponent are allowed
// only when they are zeros ("27120.00000" at exp 1 is 271200); a non-zero
// digit there is ErrPrecision. A value outside int64 is ErrRange. On error n
// is the number of bytes examined. ScanFixed does not allocate.
func ScanFixed(b []byte, exp int) (v int64, n int, err error) {
	if uint(exp) > MaxExp {
		return 0, 0, ErrExp
	}
	i := 0
	neg := false
	if i < len(b) && b[i] == '-' {
		neg = true
		i++
	}
	if v, n, ok := scanPlain(b[i:], exp); ok {
		if neg {
			v = -v
		}
		if n < 0 {
			return 0, i - n, ErrPrecision
		}
		return v, i + n, nil
	}
	var m uint64 // significant digits seen so far, without pending zeros
	pending := 0 // zeros seen after the last non-zero digit, not yet in m
	scale := 0   // value = m * 10^(pending+scale)
	overflow := false
	start := i
	for ; i < len(b); i++ {
		c := b[i] - '0'
		if c > 9 {
			break
		}
		if c == 0 {
			pending++
			continue
		}
		m, overflow = mulAdd(m, pending, c, overflow)
		pending = 0
	}
	if i == start {
		return 0, i, ErrSyntax
	}
	if i < len(b) && b[i] == '.' {
		i++
		fstart := i
		for ; i < len(b); i++ {
			c := b[i] - '0'
			if c > 9 {
				break
			}
			scale--
			if c == 0 {
				pending++
				continue
			}
			m, overflow = mulAdd(m, pending, c, overflow)
			pending = 0
		}
		if i == fstart {
			return 0, i, ErrSyntax
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		eneg := false
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			eneg = b[i] == '-'
			i++
		}
		estart := i
		e := 0
		for ; i < len(b); i++ {
			c := b[i] - '0'
			if c > 9 {
				break
			}
			if e < 1_000_000 {
				e = e*10 + int(c)
			}
		}
		if i == estart {
			return 0, i, ErrSyntax
		}
		if eneg {
			e = -e
		}
		scale += e
	}
	if m == 0 && !overflow {
		return 0, i, nil
	}
	// value = m * 10^(pending+scale), where m ends in a non-zero digit even
	// when it overflowed; mantissa = m * 10^(pending+scale+exp).
	shift := pending + scale + exp
	if shift < 0 {
		return 0, i, ErrPrecision // a non-zero digit finer than 10^-exp
	}
	if overflow || shift >= len(pow10) {
		return 0, i, ErrRange
	}
	hi, lo := bits.Mul64(m, pow10[shift])
	if hi != 0 {
		return 0, i, ErrRange
	}
	m = lo
	if neg {
		if m > 1<<63 {
			return 0, i, ErrRange
		}
		return -int64(m), i, nil
	}
	if m > math.MaxInt64 {
		return 0, i, ErrRange
	}
	return int64(m), i, nil
}

// scanPlain is ScanFixed's fast path for the text venues send: unsigned
// "123.456" with at most 18 digits and no exponent. It reports ok false when
// the text is outside that form (the general path then decides). A negative
// n (-bytes consumed) means the number has non-zero digits finer than exp.
func scanPlain(b []byte, exp int) (v int64, n int, ok bool) {
	// One loop over digits and the point: a single (mispredicted) exit
	// per number rather than one per part.
	var m uint64
	i, dot := 0, -1
	for ; i < len(b); i++ {
		c := b[i] - '0'
		if c <= 9 {
			m = m*10 + uint64(c)
			continue
		}
		if b[i] != '.' || dot >= 0 {
			break
		}
		dot = i
	}
	whole, frac := i, 0
	if dot >= 0 {
		whole, frac = dot, i-dot-1
		if frac == 0 {
			return 0, 0, false
		}
	}
	if whole == 0 || whole+frac > 18 {
		return 0, 0, false
	}
	if i < len(b) && b[i]|0x20 == 'e' {
		return 0, 0, false
	}
	if frac <= exp {
		hi, lo := bits.Mul64(m, pow10[exp-frac])
		if hi != 0 || lo > math.MaxInt64 {
			return 0, 0, false // out of range: the general path reports it
		}
		return int64(lo), i, true
	}
	q, r := divPow10(m, frac-exp)
	if r != 0 {
		return 0, -i, true
	}
	return int64(q), i, true
}

// divPow10 returns m / 10^k and m % 10^k. The common small k (wire text
// with a few more decimals than the exponent, "65114.20" at exponent 1)
// divide by constants, which compile to multiplications instead of a
// 64-bit division.
func divPow10(m uint64, k int) (uint64, uint64) {
	switch k {
	case 1:
		return m / 10, m % 10
	case 2:
		return m / 100, m % 100
	case 3:
		return m / 1000, m % 1000
	case 4:
		return m / 10000, m % 10000
	}
	d := pow10[k]
	return m / d, m % d
}

// mulAdd returns m*10^(zeros+1)+d, flagging overflow instead of wrapping.
func mulAdd(m uint64, zeros int, d byte, overflow bool) (uint64, bool) {
	if overflow {
		return m, true
	}
	if m == 0 {
		return uint64(d), false // leading zeros add nothing
	}
	k := zeros + 1
	if k >= len(pow10) {
		return m, true
	}
	hi, lo := bits.Mul64(m, pow10[k])
	if hi != 0 {
		return m, true
	}
	lo += uint64(d)
	if lo < uint64(d) {
		return m, true
	}
	return lo, false
}

// ParseFixed parses all of b as a decimal number scaled by 10^exp. Trailing
// bytes after the number are ErrSyntax. See ScanFixed for the accepted forms.
func ParseFixed(b []byte, exp int) (int64, error) {
	v, n, err := ScanFixed(b, exp)
	if n != len(b) && err != ErrExp {
		return 0, ErrSyntax // trailing bytes make it malformed, whatever else is wrong
	}
	return v, err
}

// ParsePrice parses b as a non-negative price at exponent exp.
func ParsePrice(b []byte, exp int) (Price, error) {
	v, err := ParseFixed(b, exp)
	if err == nil && v < 0 {
		err = ErrNegative
	}
	return Price(v), err
}

// ParseQty parses b as a non-negative quantity at exponent exp.
func ParseQty(b []byte, exp int) (Qty, error) {
	v, err := ParseFixed(b, exp)
	if err == nil && v < 0 {
		err = ErrNegative
	}
	return Qty(v), err
}

// AppendFixed appends the mantissa v at exponent exp as a decimal with
// exactly exp digits after the point ("27120.0" for 271200 at exp 1; no point
// when exp is 0). It is the exact inverse of ParseFixed for that exponent.
func AppendFixed(dst []byte, v int64, exp int) []byte {
	var buf [24]byte
	u := uint64(v)
	if v < 0 {
		dst = append(dst, '-')
		u = uint64(-v) // also right for MinInt64: two's complement wraps to 2^63
	}
	i := len(buf)
	for d := 0; d < exp; d++ {
		i--
		buf[i] = byte('0' + u%10)
		u /= 10
	}
	if exp > 0 {
		i--
		buf[i] = '.'
	}
	for {
		i--
		buf[i] = byte('0' + u%10)
		u /= 10
		if u == 0 {
			break
		}
	}
	return append(dst, buf[i:]...)
}

// AppendFixedTrim is AppendFixed without trailing fractional zeros (and
// without the point when nothing is left after it): "27120" rather than
// "27120.0". It is how JSON numbers print.
func AppendFixedTrim(dst []byte, v int64, exp int) []byte {
	start := len(dst)
	dst = AppendFixed(dst, v, exp)
	if exp == 0 {
		return dst
	}
	end := len(dst)
	for end > start && dst[end-1] == '0' {
		end--
	}
	if dst[end-1] == '.' {
		end--
	}
	return dst[:end]
}

// Rescale converts mantissa v from exponent from to exponent to. It reports
// false when the result does not fit in int64 or, when to < from, when v has
// non-zero digits that the coarser exponent cannot hold.
func Rescale(v int64, from, to int) (int64, bool) {
	switch {
	case to == from:
		return v, true
	case to > from:
		d := to - from
		if d > MaxExp {
			return 0, v == 0
		}
		p := int64(pow10[d])
		r := v * p
		if v != 0 && (r/p != v || (v > 0) != (r > 0)) {
			return 0, false
		}
		return r, true
	default:
		d := from - to
		if d > MaxExp {
			return 0, v == 0
		}
		p := int64(pow10[d])
		if v%p != 0 {
			return 0, false
		}
		return v / p, true
	}
}

// CountDecimals returns the number of digits after the decimal point in the
// plain decimal text b ("0.35130000" has 8), or 0 when there is no point. It
// ignores an exponent part and does not validate b.
func CountDecimals(b []byte) int {
	for i, c := range b {
		if c == '.' {
			n := 0
			for _, d := range b[i+1:] {
				if d < '0' || d > '9' {
					break
				}
				n++
			}
			return n
		}
	}
	return 0
}

package jscan

import "arbmm/internal/market"

// AppendFixedPairs consumes an array of arrays whose first two elements are
// numbers (quoted or bare) — the [price, quantity, ...] level arrays every
// venue sends — and appends each pair, parsed at exponents pexp and qexp,
// to dst. Elements after the second are validated and skipped. At most max
// pairs are accepted; more records ErrTooMany.
//
// Compact arrays of quoted numbers ([["0.35","61.0"],...], what venues
// send) take a tight byte loop; anything else (white space, bare numbers,
// extra elements) falls back to the general cursor from the start of the
// array, so both paths accept exactly the same input.
func (s *Scanner) AppendFixedPairs(dst [][2]int64, pexp, qexp, max int) ([][2]int64, bool) {
	if s.err != nil {
		return dst, false
	}
	start, n0 := s.i, len(dst)
	if out, end, ok := FastPairs(s.b, s.i, dst, pexp, qexp, max); ok {
		s.i = end
		return out, true
	}
	s.i, dst = start, dst[:n0]
	for more := s.ArrayStart(); more; more = s.NextElem() {
		if !s.ArrayStart() {
			s.Fail(ErrType)
			return dst, false
		}
		p, _ := s.Fixed(pexp)
		if !s.NextElem() {
			s.Fail(ErrType)
			return dst, false
		}
		q, _ := s.Fixed(qexp)
		for s.NextElem() {
			s.Skip()
		}
		if s.err != nil {
			return dst, false
		}
		if len(dst)-n0 == max {
			s.Fail(ErrTooMany)
			return dst, false
		}
		dst = append(dst, [2]int64{p, q})
	}
	return dst, s.err == nil
}

// FastPairs parses b[i:] as a compact array of ["p","q"] arrays (no white
// space, quoted numbers, two elements each), appending the pairs to dst and
// returning the index after the array. It reports false on anything else, so
// that the caller can fall back to AppendFixedPairs, which accepts exactly
// what FastPairs accepts and more. Decoders with a fast path for a venue's
// exact frame shape call it directly.
func FastPairs(b []byte, i int, dst [][2]int64, pexp, qexp, max int) ([][2]int64, int, bool) {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	if i+1 >= len(b) || b[i] != '[' {
		return dst, 0, false
	}
	i++
	if b[i] == ']' {
		return dst, i + 1, true
	}
	n0 := len(dst)
	for {
		// `["` price `","` qty `"]`
		if i+2 >= len(b) || b[i] != '[' || b[i+1] != '"' {
			return dst, 0, false
		}
		p, n, err := market.ScanFixed(b[i+2:], pexp)
		i += 2 + n
		if err != nil || n == 0 || i+3 >= len(b) || b[i] != '"' || b[i+1] != ',' || b[i+2] != '"' {
			return dst, 0, false
		}
		q, n, err := market.ScanFixed(b[i+3:], qexp)
		i += 3 + n
		if err != nil || n == 0 || i+2 >= len(b) || b[i] != '"' || b[i+1] != ']' {
			return dst, 0, false
		}
		if len(dst)-n0 == max {
			return dst, 0, false
		}
		dst = append(dst, [2]int64{p, q})
		switch b[i+2] {
		case ',':
			i += 3
		case ']':
			return dst, i + 3, true
		default:
			return dst, 0, false
		}
	}
}

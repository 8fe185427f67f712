package kraken

import (
	"errors"
	"hash/crc32"
	"math/bits"
	"strconv"

	"arbmm/book"
	"arbmm/internal/market"
)

// errDropped reports book data dropped because its pair waits for a
// snapshot; Handle counts such a frame as Ignored.
var errDropped = errors.New("kraken: update before snapshot")

// checksumLevels is how many levels per side Kraken's checksum covers,
// whatever the subscribed depth.
const checksumLevels = 10

// apply runs one book message through sym's state machine:
//
//   - a snapshot (re)loads the book; on v1 it first learns the pair's wire
//     decimals from its strings. The book goes Live unless its checksum (v2
//     snapshots carry one) fails;
//   - an update is applied only to a Live book, else dropped (errDropped);
//   - every level is scanned to fixed point before the book is touched, so a
//     bad number leaves the book as it was; it is then marked Stale and a
//     resubscribe requested (ErrMalformed);
//   - after the levels, each side is truncated to the depth (Kraken sends no
//     deletes for levels pushed out of range) and the checksum, if the
//     message has one, is verified: NoteChecksum(true), or on mismatch Stale,
//     resubscribe and ErrChecksum;
//   - Commit publishes the top; a crossed book is Stale and resynced too.
//     Kraken's book has no sequence numbers: the sequence given to Commit
//     counts the messages applied to the pair, the exchange time is the
//     latest level time (v1) or the timestamp (v2), 0 when absent.
func (f *Feed) apply(m *message, e *entry, sym *Symbol, depth int, recvNs int64) error {
	sym.Frames++
	if !m.snapshot && sym.state != stLive {
		return errDropped
	}
	if m.snapshot {
		if depth > sym.maxDepth {
			return f.bad(sym, errDepth)
		}
		if !f.v2 {
			pd, qd := m.wireDecimals(e)
			if pd > market.MaxExp || qd > market.MaxExp {
				return f.bad(sym, errDecimals)
			}
			if pd >= 0 {
				sym.PriceDec = pd
				if sym.PriceExp < 0 {
					sym.PriceExp = pd
				}
			}
			if qd >= 0 {
				sym.QtyDec = qd
				if sym.QtyExp < 0 {
					sym.QtyExp = qd
				}
			}
		}
	} else if depth != sym.Depth {
		return f.bad(sym, errDepth)
	}
	pe, qe := max(sym.PriceExp, 0), max(sym.QtyExp, 0) // unknown only while the book is empty
	if err := m.convert(e, pe, qe, &f.conv); err != nil {
		return f.bad(sym, err)
	}
	b := sym.Book
	if m.snapshot {
		b.Clear()
		sym.Depth = depth
		sym.cs.valid = false // the wire decimals may have changed
	}
	for side := range f.conv {
		for _, l := range f.conv[side] {
			if err := b.Set(market.Side(side), l.Price, l.Qty); err != nil {
				// convert rejects what Set would; should Set differ, the
				// book is half-applied and must not stay Live.
				return f.bad(sym, err)
			}
		}
	}
	b.Truncate(sym.Depth)
	var ret error
	ok := true
	if e.hasCS {
		got, renderable := f.checksum(sym)
		ok = renderable && got == e.cs
		b.NoteChecksum(ok)
		if !ok {
			f.fail(sym)
			ret = ErrChecksum
		}
	}
	if m.snapshot && ok {
		sym.state = stLive
		sym.pending = false
		b.SetState(book.Live)
	}
	sym.seq++
	if _, err := b.Commit(sym.seq, e.exch, recvNs); err != nil {
		f.fail(sym) // crossed: Commit has marked the book Stale
		if ret == nil {
			ret = err
		}
	}
	return ret
}

// bad records cause as the reason for ErrMalformed and resyncs sym.
func (f *Feed) bad(sym *Symbol, cause error) error {
	f.cause, f.causePos = cause, 0
	f.fail(sym)
	return ErrMalformed
}

// fail takes sym out of sync: its book goes Stale (counted as a resync in
// the book's stats), further updates are dropped until a snapshot arrives,
// and a resubscribe is requested unless one is already pending.
func (f *Feed) fail(sym *Symbol) {
	if sym.state == stStale && sym.pending {
		return // already failed and waiting
	}
	sym.state = stStale
	sym.Book.Resync()
	if !sym.pending {
		sym.pending = true
		f.ctr.Resyncs.Add(1)
		if !sym.queued {
			sym.queued = true
			f.resync = append(f.resync, sym) // cap ≥ len(syms): no allocation
		}
	}
}

// checksum returns the CRC32 of sym's book and whether every level could be
// rendered at the wire decimals. It renders only the levels that are not in
// the pair's previous checksum string and copies the others (see csCache).
// It does not allocate.
func (f *Feed) checksum(sym *Symbol) (uint32, bool) {
	c := &sym.cs
	prev, next := &c.lv[c.cur], &c.lv[c.cur^1]
	b := sym.Book
	dst := f.csBuf[:0]
	ok := true
	for k, side := range [2]market.Side{market.Ask, market.Bid} {
		old := prev[k][:0]
		if c.valid {
			old = prev[k][:c.n[c.cur][k]]
		}
		n := min(b.Depth(side), checksumLevels)
		for i := 0; i < n; i++ {
			l := b.Level(side, i)
			px, q := int64(l.Price), int64(l.Qty)
			start := len(dst)
			// A level is usually where it was, or one place off after an
			// insert or delete above it.
			j := -1
			switch {
			case i < len(old) && old[i].px == px && old[i].qty == q:
				j = i
			case i+1 < len(old) && old[i+1].px == px && old[i+1].qty == q:
				j = i + 1
			case i > 0 && i-1 < len(old) && old[i-1].px == px && old[i-1].qty == q:
				j = i - 1
			}
			if j >= 0 {
				dst = append(dst, c.text[old[j].start:old[j].end]...)
			} else {
				var okp, okq bool
				dst, okp = appendWire(dst, px, sym.PriceExp, sym.PriceDec)
				dst, okq = appendWire(dst, q, sym.QtyExp, sym.QtyDec)
				ok = ok && okp && okq
			}
			next[k][i] = csLevel{px: px, qty: q, start: int32(start), end: int32(len(dst))}
		}
		c.n[c.cur^1][k] = n
	}
	// The new string becomes the cache; the old buffer is the next scratch.
	f.csBuf, c.text = c.text[:0], dst
	c.cur ^= 1
	c.valid = ok
	return crc32.ChecksumIEEE(dst), ok
}

// csCache is a pair's last checksum string and where each level's text
// lies in it, so that the next checksum copies the levels that did not
// change instead of formatting 40 numbers. Two level tables alternate: the
// previous one is read while the next is written.
type csCache struct {
	text  []byte                        // last checksum string; cap ≥ checksumCap
	lv    [2][2][checksumLevels]csLevel // [table][asks, bids]
	n     [2][2]int                     // levels per side in each table
	cur   int                           // table describing text
	valid bool                          // text and lv[cur] may be reused
}

// csLevel is one level of a checksum string: its values and its text.
type csLevel struct {
	px, qty    int64
	start, end int32
}

// checksumCap bounds a checksum string: 20 levels of two numbers of at
// most 20 digits.
const checksumCap = 2 * checksumLevels * 2 * 20

// AppendChecksumString appends to dst the text Kraken's checksum is the
// CRC32 (IEEE) of, for sym's book as it stands: the 10 best asks ascending
// then the 10 best bids descending, each level as its price then its
// quantity rendered at the wire decimals (PriceDec, QtyDec) with the point
// removed and leading zeros stripped. A level that the wire decimals cannot
// render exactly is written at the book's exponent (the checksum then fails).
// Feed goroutine only; it does not allocate when dst has room.
func (f *Feed) AppendChecksumString(dst []byte, sym *Symbol) []byte {
	dst, _ = appendChecksum(dst, sym)
	return dst
}

func appendChecksum(dst []byte, sym *Symbol) ([]byte, bool) {
	b := sym.Book
	ok := true
	for _, side := range [2]market.Side{market.Ask, market.Bid} {
		n := min(b.Depth(side), checksumLevels)
		for i := 0; i < n; i++ {
			l := b.Level(side, i)
			var okp, okq bool
			dst, okp = appendWire(dst, int64(l.Price), sym.PriceExp, sym.PriceDec)
			dst, okq = appendWire(dst, int64(l.Qty), sym.QtyExp, sym.QtyDec)
			ok = ok && okp && okq
		}
	}
	return dst, ok
}

// appendWire appends mantissa v (at exponent exp) as the integer mantissa at
// wire decimals dec: the wire text without its point and leading zeros.
func appendWire(dst []byte, v int64, exp, dec int) ([]byte, bool) {
	w, ok := v, exp == dec
	if !ok {
		w, ok = market.Rescale(v, exp, dec)
		if !ok || dec < 0 {
			w = v
		}
	}
	if w < 0 { // not in a book; keep the text honest anyway
		return strconv.AppendInt(dst, w, 10), false
	}
	return appendUint(dst, uint64(w)), ok
}

// pow10u holds 10^0 .. 10^19.
var pow10u = [20]uint64{
	1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000,
	1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19,
}

// digits2 holds the two-digit decimal strings 00..99.
const digits2 = "0001020304050607080910111213141516171819" +
	"2021222324252627282930313233343536373839" +
	"4041424344454647484950515253545556575859" +
	"6061626364656667686970717273747576777879" +
	"8081828384858687888990919293949596979899"

// appendUint appends v in decimal, written in place two digits at a time
// (strconv.AppendUint formats into a temporary and copies: the checksum
// renders 40 numbers per message, so this is its main cost).
func appendUint(dst []byte, v uint64) []byte {
	// Digits from the bit length: log10(2) ≈ 1233/4096, corrected by one
	// comparison.
	w := v | 1
	t := bits.Len64(w) * 1233 >> 12
	n := t + 1
	if w < pow10u[t] {
		n--
	}
	l := len(dst)
	if cap(dst)-l < n {
		dst = append(dst, "00000000000000000000"[:n]...)
	} else {
		dst = dst[:l+n]
	}
	b := dst[l : l+n]
	i := n
	for v >= 100 {
		q := v / 100
		r := (v - q*100) * 2
		i -= 2
		b[i], b[i+1] = digits2[r], digits2[r+1]
		v = q
	}
	if v >= 10 {
		b[0], b[1] = digits2[v*2], digits2[v*2+1]
	} else {
		b[0] = byte('0' + v)
	}
	return dst
}

package okx

import (
	"fmt"
	"hash/crc32"
	"math/bits"
	"slices"

	"arbmm/book"
	"arbmm/internal/market"
)

// checksumLevels is how many levels per side OKX's checksum covers.
const checksumLevels = 25

// checksumCap bounds a checksum string: 50 levels of two numbers of at
// most 21 characters and their separators.
const checksumCap = 2 * checksumLevels * (2*21 + 2)

// apply runs one decoded book message through sym's state machine:
//
//   - a snapshot (action "snapshot", or any push on books5 and bbo-tbt)
//     reloads the book; it goes Live unless its checksum fails. Its seqId,
//     if any, anchors the chain;
//   - an update is applied only to a Live book; otherwise it is kept for
//     HandleSnapshot and a resync requested (once) if none is under way;
//   - after a REST snapshot, updates whose ts is not later than its ts are
//     skipped as already in it; the first later one anchors the chain;
//   - an update of a book anchored by a seqId must carry seqId and
//     prevSeqId, with prevSeqId equal to the last seqId (else a gap:
//     counted, Stale, resync, ErrGap) and seqId not below prevSeqId (else
//     OKX reset its sequence: resync, ErrSeqReset). seqId equal to
//     prevSeqId is OKX's message for a book that did not change: accepted
//     (its levels, normally none, applied) and counted. Without sequence
//     fields (OKX before 2022) only the checksum applies;
//   - the levels were all scanned and validated by the decoder, so
//     applying them cannot fail half-way. Each side is then truncated to
//     the channel's depth, and a non-zero checksum verified against the
//     best 25 levels a side: a mismatch is counted, the book Stale, a
//     resync requested (ErrChecksum); checksum 0 or missing is counted as
//     absent, neither verified nor failed;
//   - Commit publishes the top; a crossed book is Stale and resynced too.
func (f *Feed) apply(sym *Symbol, frame []byte, recvNs int64) error {
	m := &f.dec.m
	if m.isSnapshot() {
		return f.loadSnapshot(sym, recvNs)
	}
	if sym.state != stLive {
		sym.Dropped++
		f.hold(sym, frame)
		f.ctr.Ignored.Add(1)
		return nil
	}
	if sym.afterREST {
		if m.hasTs && m.ts <= sym.restTs {
			sym.StaleEvents++
			f.ctr.Ignored.Add(1)
			return nil
		}
		sym.afterREST = false
	}
	if m.hasSeq && m.hasPrev {
		if sym.hasSeq {
			switch {
			case m.prev != sym.lastSeq:
				return f.gap(sym, frame)
			case m.seq < m.prev:
				sym.SeqResets++
				f.failPublish(sym)
				f.hold(sym, frame)
				return ErrSeqReset
			case m.seq == m.prev:
				sym.NoChange++
			}
		}
	} else if sym.hasSeq {
		return f.gap(sym, frame) // continuity cannot be checked
	}
	f.setLevels(sym)
	sym.Book.Truncate(sym.Depth)
	if m.hasSeq {
		sym.lastSeq, sym.hasSeq = m.seq, true
	}
	sym.Updates++
	var ret error
	if !f.verify(sym) {
		f.fail(sym)
		ret = ErrChecksum
	}
	if err := f.commit(sym, recvNs); err != nil && ret == nil {
		ret = err
	}
	return ret
}

// loadSnapshot replaces sym's book with the levels of the snapshot in
// f.dec.m.
func (f *Feed) loadSnapshot(sym *Symbol, recvNs int64) error {
	m := &f.dec.m
	f.load(sym, sym.Depth)
	sym.Snapshots++
	sym.hasSeq, sym.lastSeq = m.hasSeq, m.seq
	var ret error
	if f.verify(sym) {
		sym.state = stLive
		sym.Book.SetState(book.Live)
	} else {
		f.fail(sym)
		ret = ErrChecksum
	}
	if err := f.commit(sym, recvNs); err != nil && ret == nil {
		ret = err
	}
	return ret
}

// load clears sym's book and fills it with the levels of f.dec.m, and
// ends any resync under way.
func (f *Feed) load(sym *Symbol, depth int) {
	b := sym.Book
	b.Clear()
	sym.exc[0].clear()
	sym.exc[1].clear()
	sym.cs.valid = false
	f.setLevels(sym)
	b.Truncate(depth)
	sym.afterREST = false
	sym.awaiting, sym.pending = false, false
	sym.held, sym.heldEnd = sym.held[:0], sym.heldEnd[:0]
	sym.floorTs = 0
}

// setLevels applies the levels of f.dec.m to sym's book and records the
// wire decimals of the levels whose text is not in its shortest form.
func (f *Feed) setLevels(sym *Symbol) {
	m := &f.dec.m
	b := sym.Book
	for side := range m.levels {
		t := &sym.exc[side]
		for _, l := range m.levels[side] {
			// The decoder rejects what Set would (a price that is not
			// positive; sizes cannot be negative), so Set cannot fail.
			_ = b.Set(market.Side(side), market.Price(l.px), market.Qty(l.qty))
			switch {
			case (l.pd >= 0 || l.qd >= 0) && l.qty != 0:
				if t.put(l.px, excVal{l.pd, l.qd}, market.Side(side), b, f.cfg.MaxDepth) {
					sym.cs.valid = false
				}
			case t.n > 0 && t.del(l.px):
				sym.cs.valid = false
			}
		}
	}
}

// verify checks the message's checksum against sym's book, counting the
// result, and reports false only on a mismatch.
func (f *Feed) verify(sym *Symbol) bool {
	m := &f.dec.m
	if !m.hasCS || m.cs == 0 {
		sym.ChecksumAbsent++
		return true
	}
	ok := int32(f.checksum(sym)) == m.cs
	sym.Book.NoteChecksum(ok)
	if ok {
		sym.ChecksumOK++
	} else {
		sym.ChecksumFail++
	}
	return ok
}

// commit ends the message: the book's sequence is the seqId, or the count
// of messages committed when there is none; its exchange time is ts.
func (f *Feed) commit(sym *Symbol, recvNs int64) error {
	m := &f.dec.m
	sym.msgs++
	seq := sym.msgs
	if m.hasSeq {
		seq = m.seq
	}
	var exch int64
	if m.hasTs {
		exch = m.ts * 1e6
	}
	sym.exch = exch
	if _, err := sym.Book.Commit(seq, exch, recvNs); err != nil {
		f.fail(sym) // crossed: Commit has marked the book Stale
		return err
	}
	return nil
}

// gap handles an update that does not continue the seqId chain.
func (f *Feed) gap(sym *Symbol, frame []byte) error {
	sym.SeqGaps++
	sym.Book.NoteGap()
	f.failPublish(sym)
	f.hold(sym, frame)
	return ErrGap
}

// fail takes sym out of sync: its book goes Stale (counted as a resync in
// the book's stats), updates are kept rather than applied until a
// snapshot arrives, and a resync is requested unless one is under way.
func (f *Feed) fail(sym *Symbol) {
	if sym.state == stStale && sym.awaiting {
		return // already failed and waiting
	}
	sym.state = stStale
	sym.Book.Resync()
	sym.floorTs = max(sym.floorTs, sym.lastTs)
	f.request(sym)
}

// failPublish is fail for a message that is not applied: it also
// publishes the book's new state, which readers of its snapshot (Read)
// would otherwise see only at the next Commit. The book's sequence, times
// and levels stay those of the last message applied.
func (f *Feed) failPublish(sym *Symbol) {
	f.fail(sym) // Book.Resync publishes the Stale state at once
}

// request asks the connection for a snapshot of sym (TakeResyncs), unless
// a request is already pending. Callers that lose updates first raise
// sym.floorTs, the ts a REST snapshot must reach to cover them: that of the
// newest book message seen, since what was lost is not newer.
func (f *Feed) request(sym *Symbol) {
	sym.awaiting = true
	if sym.pending {
		return
	}
	sym.pending = true
	f.ctr.Resyncs.Add(1)
	if !sym.queued {
		sym.queued = true
		f.resync = append(f.resync, sym) // cap ≥ len(syms): no allocation
	}
}

// hold keeps an update frame that sym's book cannot take now, for
// HandleSnapshot to replay over a REST snapshot, and requests a resync if
// none is under way. Past Config.MaxBuffered frames the kept frames are
// dropped: a REST snapshot must then be at least as new as the newest book
// message seen when they were, and the resync is requested again.
func (f *Feed) hold(sym *Symbol, frame []byte) {
	if !sym.awaiting {
		sym.floorTs = max(sym.floorTs, sym.lastTs)
		f.request(sym)
	}
	if len(sym.heldEnd) >= f.cfg.MaxBuffered {
		sym.held, sym.heldEnd = sym.held[:0], sym.heldEnd[:0]
		sym.floorTs = max(sym.floorTs, sym.lastTs)
		sym.pending = false
		f.request(sym)
	}
	sym.held = append(sym.held, frame...)
	sym.heldEnd = append(sym.heldEnd, len(sym.held))
}

// HandleSnapshot loads a REST book snapshot of instID, received at recvNs
// (Unix ns): the body of GET /api/v5/market/books?instId=…&sz=400,
// {"code":"0","msg":"","data":[{"asks":[...],"bids":[...],"ts":"..."}]}.
// It is the alternative to resubscribing when TakeResyncs asks for a
// resync. The book is loaded and goes Live; the update frames kept while
// it waited are then replayed: those whose ts is not later than the
// snapshot's are skipped as already in it, the first later one anchors the
// seqId chain (REST snapshots carry no seqId), and the following ones must
// continue it.
//
// The REST snapshot is matched to the stream by time, not by sequence, so
// it is exact only up to updates that share its millisecond; the next
// non-zero checksum catches a mismatch. A snapshot older than the newest
// book message seen when the resync started (or than the frames dropped
// past Config.MaxBuffered, or, for a Live book, than the last update
// applied) cannot cover what was lost and is refused (ErrSnapshot, and the
// resync is requested again); so is a response whose code is not "0". A
// body that cannot be decoded returns an error wrapping ErrMalformed
// (counted in DecodeErrors) and leaves the book as it was. Cold path: it
// allocates.
func (f *Feed) HandleSnapshot(instID string, body []byte, recvNs int64) error {
	sym := f.lookup([]byte(instID))
	if sym == nil {
		f.ctr.Unknown.Add(1)
		return fmt.Errorf("okx: snapshot for %q: %w", instID, ErrUnknownSymbol)
	}
	d := &f.dec
	bad := func(err error) error {
		f.ctr.DecodeErrors.Add(1)
		f.cause, f.causePos = err, d.errPos()
		return fmt.Errorf("okx: %s snapshot: %v at byte %d: %w", instID, err, d.errPos(), ErrMalformed)
	}
	if err := d.decodeREST(body); err != nil {
		if err == errCode {
			return fmt.Errorf("okx: %s snapshot: %v: %w", instID, err, ErrSnapshot)
		}
		return bad(err)
	}
	pexp, qexp := sym.Inst.PriceExp, sym.Inst.QtyExp
	if !sym.hasExp {
		pd, qd, ok := d.learnDecimals(d.raw)
		if !ok {
			return bad(d.err())
		}
		pexp, qexp = pd, qd
	}
	if err := d.decodeData(d.raw, d.rawOff, pexp, qexp); err != nil {
		return bad(err)
	}
	m := &d.m
	if !m.hasTs {
		return bad(errTs)
	}
	floor := sym.floorTs
	if sym.state == stLive {
		floor = max(floor, sym.lastTs)
	}
	if m.ts < floor {
		f.request(sym)
		return fmt.Errorf("okx: %s snapshot at ts %d is older than %d: %w", instID, m.ts, floor, ErrSnapshot)
	}
	if !sym.hasExp {
		sym.setExp(pexp, qexp)
	}
	depth := sym.Depth
	if depth == 0 {
		depth = chanDepth[chBooks]
	}
	held, ends := sym.held, sym.heldEnd
	sym.held, sym.heldEnd = nil, nil
	m.sym, m.hasSeq, m.hasCS = sym, false, false
	f.load(sym, depth)
	sym.RESTSnapshots++
	sym.hasSeq = false
	sym.afterREST, sym.restTs = true, m.ts
	sym.lastTs = max(sym.lastTs, m.ts)
	sym.state = stLive
	sym.Book.SetState(book.Live)
	ret := f.commit(sym, recvNs)
	start := 0
	for _, end := range ends {
		fr := held[start:end]
		start = end
		if err := d.decode(fr); err != nil || d.m.kind != msgBook {
			continue // it decoded when it was kept
		}
		if err := f.handleBook(fr, recvNs, true); err != nil && ret == nil {
			ret = err
		}
	}
	if sym.held == nil {
		sym.held, sym.heldEnd = held[:0], ends[:0] // reuse the arena
	}
	if ret != nil {
		return fmt.Errorf("okx: %s snapshot: %w", instID, ret)
	}
	return nil
}

// ---- checksum --------------------------------------------------------------

// checksum returns the CRC32 of sym's book as OKX computes it. It renders
// only the levels that are not in the instrument's previous checksum
// string and copies the others (see csCache). It does not allocate once
// the buffers have grown.
func (f *Feed) checksum(sym *Symbol) uint32 {
	c := &sym.cs
	b := sym.Book
	prev, next := &c.lv[c.cur], &c.lv[c.cur^1]
	var nOld [2]int
	if c.valid {
		nOld = c.n[c.cur]
	}
	n := [2]int{min(b.Depth(market.Bid), checksumLevels), min(b.Depth(market.Ask), checksumLevels)}
	var j [2]int // merge cursors into the previous levels, per side
	dst := f.csBuf[:0]
	for i := range max(n[0], n[1]) {
		for side := range 2 {
			if i >= n[side] {
				continue
			}
			if len(dst) > 0 {
				dst = append(dst, ':')
			}
			l := b.Level(market.Side(side), i)
			px, q := int64(l.Price), int64(l.Qty)
			start := len(dst)
			// Both lists are best first: skip the previous levels better
			// than this one; an equal one with the same size has the text.
			old := prev[side][:nOld[side]]
			k := j[side]
			for k < len(old) && better(side, old[k].px, px) {
				k++
			}
			j[side] = k
			if k < len(old) && old[k].px == px && old[k].qty == q {
				dst = appendSeg(dst, c.text, int(old[k].start), int(old[k].end))
			} else {
				dst = appendLevel(dst, sym, market.Side(side), px, q)
			}
			next[side][i] = csLevel{px: px, qty: q, start: int32(start), end: int32(len(dst))}
		}
	}
	c.n[c.cur^1] = n
	// The new string becomes the cache; the old buffer is the next scratch.
	f.csBuf, c.text = c.text[:0], dst
	c.cur ^= 1
	c.valid = true
	return crc32.ChecksumIEEE(dst)
}

// appendSeg appends src[start:end] to dst. A level's text is short: when
// both buffers have room, it is copied as one 32-byte block (a couple of
// vector moves, reading and writing past the text into spare capacity)
// rather than through a memmove call.
func appendSeg(dst, src []byte, start, end int) []byte {
	l := len(dst)
	if end-start <= 32 && cap(dst)-l >= 32 && cap(src)-start >= 32 {
		*(*[32]byte)(dst[l : l+32]) = *(*[32]byte)(src[start : start+32])
		return dst[:l+end-start]
	}
	return append(dst, src[start:end]...)
}

// better reports whether price a is better than b on side (0 bids, 1 asks).
func better(side int, a, b int64) bool {
	if side == int(market.Bid) {
		return a > b
	}
	return a < b
}

// csCache is an instrument's last checksum string and where each level's
// "px:sz" text lies in it, so that the next checksum copies the levels
// that did not change instead of formatting up to 100 numbers. Two level
// tables alternate: the previous one is read while the next is written.
type csCache struct {
	text  []byte                        // last checksum string
	lv    [2][2][checksumLevels]csLevel // [table][side]
	n     [2][2]int                     // levels per side in each table
	cur   int                           // table describing text
	valid bool                          // text and lv[cur] may be reused
}

// csLevel is one level of a checksum string: its values and its text.
type csLevel struct {
	px, qty    int64
	start, end int32
}

// AppendChecksumString appends to dst the text OKX's checksum is the CRC32
// (IEEE, compared as a signed 32-bit integer) of, for sym's book as it
// stands: the best 25 bids and asks interleaved, bid 1, ask 1, bid 2, ...
// (continuing with the longer side when one runs out), each level as
// "price:size", all joined by ':'. Numbers are written as OKX printed
// them: in their shortest form unless the wire text had trailing
// fractional zeros, which are then reproduced. Feed goroutine only; it
// does not allocate when dst has room.
func (f *Feed) AppendChecksumString(dst []byte, sym *Symbol) []byte {
	b := sym.Book
	n := [2]int{min(b.Depth(market.Bid), checksumLevels), min(b.Depth(market.Ask), checksumLevels)}
	start := len(dst)
	for i := range max(n[0], n[1]) {
		for side := range 2 {
			if i >= n[side] {
				continue
			}
			if len(dst) > start {
				dst = append(dst, ':')
			}
			l := b.Level(market.Side(side), i)
			dst = appendLevel(dst, sym, market.Side(side), int64(l.Price), int64(l.Qty))
		}
	}
	return dst
}

// appendLevel appends "price:size" of a level as OKX printed it.
func appendLevel(dst []byte, sym *Symbol, side market.Side, px, q int64) []byte {
	v := excVal{-1, -1}
	if t := &sym.exc[side]; t.n > 0 {
		if e, ok := t.get(px); ok {
			v = e
		}
	}
	dst = appendDec(dst, px, sym.Inst.PriceExp, v.pd)
	dst = append(dst, ':')
	return appendDec(dst, q, sym.Inst.QtyExp, v.qd)
}

// appendDec appends mantissa v at exponent exp as decimal text: in its
// shortest form (no trailing fractional zeros, no point for an integer)
// when dec < 0, else with exactly dec decimals.
func appendDec(dst []byte, v int64, exp int, dec int8) []byte {
	if v < 0 || uint(exp) > market.MaxExp {
		return market.AppendFixed(dst, v, exp) // not in a book
	}
	if dec >= 0 {
		if w, ok := market.Rescale(v, exp, int(dec)); ok {
			return appendDecimal(dst, uint64(w), int(dec))
		}
		return market.AppendFixed(dst, v, exp) // cannot happen: the text held v at dec
	}
	for exp > 0 && v%10 == 0 {
		v /= 10
		exp--
	}
	return appendDecimal(dst, uint64(v), exp)
}

// appendDecimal appends v/10^exp with exactly exp decimals (exp <= 18),
// writing two digits at a time in place: the checksum renders up to 100
// numbers a message, so formatting is a good part of its cost.
func appendDecimal(dst []byte, v uint64, exp int) []byte {
	ip, fp := v, uint64(0)
	if exp > 0 {
		ip, fp = v/pow10[exp], v%pow10[exp]
	}
	n := digitCount(ip)
	total := n
	if exp > 0 {
		total += 1 + exp
	}
	l := len(dst)
	if cap(dst)-l < total {
		dst = slices.Grow(dst, total)
	}
	dst = dst[:l+total]
	b := dst[l:]
	putDigits(b[:n], ip)
	if exp > 0 {
		b[n] = '.'
		putDigits(b[n+1:], fp)
	}
	return dst
}

// digitCount returns the number of decimal digits of v (1 for 0).
func digitCount(v uint64) int {
	// log10(2) ≈ 1233/4096, corrected by one comparison.
	w := v | 1
	t := bits.Len64(w) * 1233 >> 12
	if w < pow10[t] {
		return t
	}
	return t + 1
}

// digits2 holds the two-digit decimal strings 00..99.
const digits2 = "0001020304050607080910111213141516171819" +
	"2021222324252627282930313233343536373839" +
	"4041424344454647484950515253545556575859" +
	"6061626364656667686970717273747576777879" +
	"8081828384858687888990919293949596979899"

// putDigits writes v into b as exactly len(b) decimal digits, zero-padded
// on the left (v must fit).
func putDigits(b []byte, v uint64) {
	i := len(b)
	for i >= 2 {
		q := v / 100
		r := (v - q*100) * 2
		b[i-2], b[i-1] = digits2[r], digits2[r+1]
		v = q
		i -= 2
	}
	if i == 1 {
		b[0] = byte('0' + v)
	}
}

// ---- wire decimals ---------------------------------------------------------

// excVal is the wire decimals of a level's price and size text, -1 for
// text in its shortest form.
type excVal struct{ pd, qd int8 }

// excTable maps the prices of one side whose last wire text was not in its
// shortest form ("5.160", which OKX has not been seen to send) to their
// decimals, so that the checksum reproduces the text as received. Levels
// not in it are rendered in their shortest form, so in practice it stays
// empty and costs one comparison per level. It is an open-addressing hash
// table with linear probing, allocated on first use and sized to hold
// every level of a full side at most half full; entries for prices the
// book no longer holds are pruned when it fills.
type excTable struct {
	keys  []int64 // price mantissas; 0 is an empty slot (prices are positive)
	vals  []excVal
	spare []excEntry // prune scratch
	n     int
	shift uint
}

type excEntry struct {
	px int64
	v  excVal
}

func (t *excTable) init(maxDepth int) {
	size, bitsN := 16, uint(4)
	for size < 2*maxDepth+2 {
		size <<= 1
		bitsN++
	}
	t.keys = make([]int64, size)
	t.vals = make([]excVal, size)
	t.spare = make([]excEntry, 0, size/2)
	t.shift = 64 - bitsN
}

func (t *excTable) slot(px int64) int { return int(uint64(px) * 0x9E3779B97F4A7C15 >> t.shift) }

func (t *excTable) get(px int64) (excVal, bool) {
	mask := len(t.keys) - 1
	for i := t.slot(px); ; i = (i + 1) & mask {
		switch t.keys[i] {
		case px:
			return t.vals[i], true
		case 0:
			return excVal{}, false
		}
	}
}

// put records v for px and reports whether the table changed. When the
// table would be more than half full it first drops the prices side of b
// no longer holds (b holds at most maxDepth, which fits).
func (t *excTable) put(px int64, v excVal, side market.Side, b *book.Book, maxDepth int) bool {
	if t.keys == nil {
		t.init(maxDepth)
	}
	mask := len(t.keys) - 1
	for i := t.slot(px); ; i = (i + 1) & mask {
		switch t.keys[i] {
		case px:
			if t.vals[i] == v {
				return false
			}
			t.vals[i] = v
			return true
		case 0:
			if 2*(t.n+1) > len(t.keys) {
				t.prune(side, b)
				return t.put(px, v, side, b, maxDepth)
			}
			t.keys[i], t.vals[i] = px, v
			t.n++
			return true
		}
	}
}

// del removes px and reports whether it was there (backward-shift
// deletion keeps every probe sequence unbroken).
func (t *excTable) del(px int64) bool {
	mask := len(t.keys) - 1
	i := t.slot(px)
	for t.keys[i] != px {
		if t.keys[i] == 0 {
			return false
		}
		i = (i + 1) & mask
	}
	for j := (i + 1) & mask; t.keys[j] != 0; j = (j + 1) & mask {
		// Move the entry at j into the hole at i if its home slot does not
		// lie cyclically in (i, j].
		if h := t.slot(t.keys[j]); (j-h)&mask >= (j-i)&mask {
			t.keys[i], t.vals[i] = t.keys[j], t.vals[j]
			i = j
		}
	}
	t.keys[i], t.vals[i] = 0, excVal{}
	t.n--
	return true
}

func (t *excTable) clear() {
	if t.n == 0 {
		return
	}
	clear(t.keys)
	t.n = 0
}

// prune keeps only the prices side of b holds.
func (t *excTable) prune(side market.Side, b *book.Book) {
	t.spare = t.spare[:0]
	for i, px := range t.keys {
		if px != 0 && b.Find(side, market.Price(px)) != 0 {
			t.spare = append(t.spare, excEntry{px, t.vals[i]})
		}
	}
	clear(t.keys)
	t.n = 0
	mask := len(t.keys) - 1
	for _, e := range t.spare {
		i := t.slot(e.px)
		for t.keys[i] != 0 {
			i = (i + 1) & mask
		}
		t.keys[i], t.vals[i] = e.px, e.v
		t.n++
	}
}

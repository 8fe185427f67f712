package okx

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/bytedance/sonic"

	"arbmm/internal/market"
)

// FuzzDecode compares the decoder with a reference written independently:
// sonic decodes the frame into map[string]any / []any (UseNumber, so JSON
// numbers keep their text), the reference applies the grammar documented
// on decoder.decode to that tree, and numbers go through refGrammar and
// market.ParseFixed. For every frame, both must classify it the same way
// (malformed, ignored, book message) and, for book messages, agree on the
// channel, instId, action, every level of each side in order (value and
// wire decimals), ts, checksum, seqId and prevSeqId. Our decoder is run
// twice: with the instrument known before its data (scanned in place, the
// live path) and unknown (kept raw, then decodeData), and also at a
// second pair of exponents.
//
// Deliberate differences, excluded from the comparison:
//   - duplicate keys: a map keeps the last value; our decoder rejects a
//     repeated key it reads as ambiguous (TestClassify pins it);
//   - more levels than Config.MaxLevels: not reachable by fuzz inputs at
//     the limit used here.
func FuzzDecode(f *testing.F) {
	addSeeds(f, "FuzzDecode")
	f.Fuzz(func(t *testing.T, frame []byte) { compareDecode(t, frame) })
}

// refAPI is the reference JSON decoder: sonic, numbers as json.Number,
// invalid UTF-8 replaced as encoding/json (and jscan) do.
var refAPI = sonic.Config{UseNumber: true, ValidateString: true}.Froze()

type refKind int

const (
	refMalformed refKind = iota
	refIgnored
	refBook
)

func (k refKind) String() string { return [...]string{"malformed", "ignored", "book"}[k] }

// refMsg is what the reference makes of a frame.
type refMsg struct {
	kind    refKind
	ch      chanKind
	instID  string
	action  action
	levels  [2][]level
	ts, seq int64
	prev    int64
	cs      int32
	has     [4]bool // ts, checksum, seqId, prevSeqId
}

const fuzzMaxLevels = 5000

// refDecode classifies and decodes frame per decoder.decode's grammar,
// prices and sizes at (pe, qe).
func refDecode(frame []byte, pe, qe int) refMsg {
	if string(frame) == "pong" {
		return refMsg{kind: refIgnored}
	}
	var v any
	if err := refAPI.Unmarshal(frame, &v); err != nil {
		return refMsg{}
	}
	x, ok := v.(map[string]any)
	if !ok {
		return refMsg{}
	}
	if _, ok := x["event"].(string); ok {
		return refMsg{kind: refIgnored}
	}
	arg, ok := x["arg"].(map[string]any)
	if !ok {
		return refMsg{}
	}
	chName, ok := arg["channel"].(string)
	if !ok {
		return refMsg{}
	}
	m := refMsg{kind: refBook, ch: bookChannel([]byte(chName))}
	if m.ch == chNone {
		return refMsg{kind: refIgnored}
	}
	if m.instID, ok = arg["instId"].(string); !ok {
		return refMsg{}
	}
	data, ok := x["data"].([]any)
	if !ok || len(data) != 1 {
		return refMsg{}
	}
	el, ok := data[0].(map[string]any)
	if !ok {
		return refMsg{}
	}
	switch a, present := x["action"]; {
	case !present:
		m.action = actNone
	case a == "snapshot":
		m.action = actSnapshot
	case a == "update":
		m.action = actUpdate
	default:
		m.action = actOther
	}
	if m.ch.incremental() && m.action != actSnapshot && m.action != actUpdate ||
		!m.ch.incremental() && m.action != actNone && m.action != actSnapshot {
		return refMsg{}
	}
	for side, key := range [2]string{"bids", "asks"} {
		val, present := el[key]
		if !present {
			continue
		}
		list, ok := val.([]any)
		if !ok || len(list) > fuzzMaxLevels {
			return refMsg{}
		}
		for _, l := range list {
			lv, ok := l.([]any)
			if !ok || len(lv) < 2 {
				return refMsg{}
			}
			ps, ok1 := lv[0].(string)
			qs, ok2 := lv[1].(string)
			if !ok1 || !ok2 || refGrammar(ps) != nil || refGrammar(qs) != nil {
				return refMsg{}
			}
			px, err1 := market.ParseFixed([]byte(ps), pe)
			q, err2 := market.ParseFixed([]byte(qs), qe)
			if err1 != nil || err2 != nil || px <= 0 {
				return refMsg{}
			}
			m.levels[side] = append(m.levels[side], level{px: px, qty: q, pd: refDec(ps), qd: refDec(qs)})
		}
	}
	ints := []struct {
		key      string
		dst      *int64
		has      *bool
		min, max int64
	}{
		{"ts", &m.ts, &m.has[0], 0, maxTsMs},
		{"checksum", nil, &m.has[1], math.MinInt32, math.MaxInt32},
		{"seqId", &m.seq, &m.has[2], math.MinInt64, math.MaxInt64},
		{"prevSeqId", &m.prev, &m.has[3], math.MinInt64, math.MaxInt64},
	}
	for _, it := range ints {
		val, present := el[it.key]
		if !present {
			continue
		}
		var text string
		switch n := val.(type) {
		case json.Number:
			text = string(n)
		case string:
			text = n
		default:
			return refMsg{}
		}
		iv, err := market.ParseFixed([]byte(text), 0)
		if err != nil || iv < it.min || iv > it.max {
			return refMsg{}
		}
		*it.has = true
		if it.dst != nil {
			*it.dst = iv
		} else {
			m.cs = int32(iv)
		}
	}
	return m
}

// fuzzExps are the exponents the comparison decodes at: the live path's,
// then a second pair through decodeData.
var fuzzExps = [2][2]int{{1, 8}, {3, 0}}

// ourDecode decodes frame with the feed's decoder. known selects the live
// path (the instrument and its exponents known before "data" is reached);
// otherwise the data is kept raw and decoded afterwards at exps.
func ourDecode(frame []byte, known bool, exps [2]int) (refMsg, error) {
	d := newDecoder(fuzzMaxLevels)
	fz := &Symbol{Name: "FUZZ", hasExp: true, Inst: market.Instrument{PriceExp: exps[0], QtyExp: exps[1]}}
	if known {
		d.find = func([]byte) *Symbol { fz.ch = d.m.ch; return fz }
	}
	if err := d.decode(frame); err != nil {
		return refMsg{}, err
	}
	m := &d.m
	if m.kind == msgIgnored {
		return refMsg{kind: refIgnored}, nil
	}
	if known != m.decoded {
		if known {
			return refMsg{}, fmt.Errorf("data of a known instrument kept raw")
		}
		return refMsg{}, fmt.Errorf("data decoded without an instrument")
	}
	if !m.decoded {
		if err := d.decodeData(d.raw, d.rawOff, exps[0], exps[1]); err != nil {
			return refMsg{}, err
		}
	}
	out := refMsg{kind: refBook, ch: m.ch, instID: string(m.instID), action: m.action,
		ts: m.ts, seq: m.seq, prev: m.prev, cs: m.cs, has: [4]bool{m.hasTs, m.hasCS, m.hasSeq, m.hasPrev}}
	for side := range out.levels {
		out.levels[side] = slices.Clone(m.levels[side])
	}
	return out, nil
}

func equalMsg(a, b refMsg) bool {
	if a.kind != b.kind {
		return false
	}
	if a.kind != refBook {
		return true
	}
	return a.ch == b.ch && a.instID == b.instID && a.action == b.action && a.has == b.has &&
		(!a.has[0] || a.ts == b.ts) && (!a.has[1] || a.cs == b.cs) && (!a.has[2] || a.seq == b.seq) && (!a.has[3] || a.prev == b.prev) &&
		slices.Equal(a.levels[0], b.levels[0]) && slices.Equal(a.levels[1], b.levels[1])
}

func compareDecode(t *testing.T, frame []byte) {
	skipDup := hasDuplicateKeys(frame)
	for k, exps := range fuzzExps {
		ref := refDecode(frame, exps[0], exps[1])
		for _, known := range []bool{true, false} {
			if k == 1 && known {
				continue
			}
			got, err := ourDecode(frame, known, exps)
			if err != nil {
				got = refMsg{kind: refMalformed}
			}
			if skipDup && got.kind != ref.kind {
				return // deliberate: a map keeps the last value, we reject
			}
			if !equalMsg(got, ref) {
				t.Fatalf("exps %v known %v: ours %+v (err %v)\nreference %+v\nframe %q", exps, known, got, err, ref, frame)
			}
		}
	}
}

// hasDuplicateKeys reports whether any object in the JSON text repeats a
// key (after unescaping), using encoding/json's tokenizer.
func hasDuplicateKeys(frame []byte) bool {
	type level struct {
		keys      map[string]bool
		expectKey bool
	}
	var stack []*level
	dec := json.NewDecoder(bytes.NewReader(frame))
	valueDone := func() {
		if n := len(stack); n > 0 && stack[n-1].keys != nil {
			stack[n-1].expectKey = true
		}
	}
	for {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		var top *level
		if n := len(stack); n > 0 {
			top = stack[n-1]
		}
		switch tok := tok.(type) {
		case json.Delim:
			switch tok {
			case '{', '[':
				if top != nil && top.keys != nil {
					top.expectKey = false
				}
				l := &level{}
				if tok == '{' {
					l.keys, l.expectKey = map[string]bool{}, true
				}
				stack = append(stack, l)
			default:
				stack = stack[:len(stack)-1]
				valueDone()
			}
		case string:
			if top != nil && top.keys != nil && top.expectKey {
				if top.keys[tok] {
					return true
				}
				top.keys[tok] = true
				top.expectKey = false
				continue
			}
			valueDone()
		default:
			valueDone()
		}
	}
}

// TestDifferentialCapture runs FuzzDecode's comparison on every real frame
// of the capture, plain, sequenced and with zero checksums.
func TestDifferentialCapture(t *testing.T) {
	frames, _ := readCapture(t, captureFile)
	seqFrames, _ := sequenced(frames, false)
	zeroFrames, _ := sequenced(frames, true)
	books := 0
	for _, set := range [][][]byte{frames, seqFrames, zeroFrames} {
		for _, fr := range set {
			compareDecode(t, fr)
			if refDecode(fr, 1, 8).kind == refBook {
				books++
			}
		}
	}
	// UNI-USD-SWAP's prices mostly have 3 decimals: at (1, 8) the other
	// two instruments' frames are book messages, and a few of its own.
	if books < 3*(99+98) || books >= 3*290 {
		t.Errorf("%d book messages compared at (1, 8), want at least %d and fewer than %d", books, 3*(99+98), 3*290)
	}
}

// ---- seed corpora ------------------------------------------------------------

var update = flag.Bool("update", false, "rewrite testdata/fuzz seed corpora from the capture")

// addSeeds adds the seed corpus of target (testdata/fuzz/<target>): real
// frames, written by TestFuzzSeeds -update. A missing corpus fails.
func addSeeds(f *testing.F, target string) {
	seeds, _ := filepath.Glob(filepath.Join("testdata", "fuzz", target, "*"))
	if len(seeds) == 0 {
		f.Fatalf("no seed corpus in testdata/fuzz/%s (go test -run TestFuzzSeeds -update)", target)
	}
}

// seedFrames picks the seed frames from the capture: the two smaller
// snapshots, updates of every instrument (plain, sequenced, zero
// checksum), and the other frame kinds.
func seedFrames(tb testing.TB) map[string][]byte {
	frames, _ := readCapture(tb, captureFile)
	seqFrames, _ := sequenced(frames, false)
	zeroFrames, _ := sequenced(frames, true)
	out := map[string][]byte{}
	count := map[string]int{}
	for i, fr := range frames {
		inst := instOf(fr)
		switch {
		case bytes.HasPrefix(fr, []byte(`{"event":`)):
			out["event-subscribe"] = fr
		case bytes.Contains(fr, []byte(`"channel":"tickers"`)):
			out["tickers"] = fr
		case bytes.Contains(fr, []byte(`"channel":"trades"`)):
			out["trades"] = fr
		case isBook(fr) && bytes.Contains(fr, []byte(`"action":"snapshot"`)):
			if inst != "BTC-USDT" { // 400 levels a side: too big a seed
				out["snapshot-"+inst] = fr
			}
		case isBook(fr):
			n := count[inst]
			count[inst]++
			switch n {
			case 1, 7:
				out[fmt.Sprintf("update-%s-%d", inst, n)] = fr
			case 3:
				out["update-seq-"+inst] = seqFrames[i]
			case 5:
				out["update-zero-checksum-"+inst] = zeroFrames[i]
			}
		}
	}
	out["books5"] = []byte(`{"arg":{"channel":"books5","instId":"BTC-USDT"},"data":[{"asks":[["30001.1","1","0","1"]],"bids":[["30000","1.25","0","2"]],"instId":"BTC-USDT","ts":"1652459225464","seqId":5}]}`)
	out["pong"] = []byte("pong")
	return out
}

// TestFuzzSeeds keeps the seed corpora in step with the capture; with
// -update it writes them.
func TestFuzzSeeds(t *testing.T) {
	seeds := seedFrames(t)
	if *update {
		writeSeeds(t, "FuzzDecode", seeds)
		feedSeeds := map[string][]byte{}
		for name, fr := range seeds {
			if bytes.Contains(fr, []byte("UNI-USD-SWAP")) || !bytes.Contains(fr, []byte(`"instId"`)) {
				feedSeeds[name] = fr
			}
		}
		var stream []byte
		frames, _ := readCapture(t, captureFile)
		n := 0
		for _, fr := range frames {
			if isBook(fr) && instOf(fr) == "UNI-USD-SWAP" && n < 6 {
				stream = append(append(stream, fr...), '\n')
				n++
			}
		}
		feedSeeds["stream-uni"] = stream
		feedSeeds["rest-then-update"] = []byte(`S{"code":"0","msg":"","data":[{"asks":[["5.148","60","0","1"]],"bids":[["5.14","427","0","4"]],"ts":"1652459225464"}]}` + "\n" +
			`{"arg":{"channel":"books","instId":"UNI-USD-SWAP"},"action":"update","data":[{"asks":[["5.158","129","0","2"]],"bids":[["5.14","0","0","0"]],"ts":"1652459225564","checksum":0,"prevSeqId":10,"seqId":12}]}`)
		writeSeeds(t, "FuzzFeed", feedSeeds)
	}
	for _, target := range []string{"FuzzDecode", "FuzzFeed"} {
		files, _ := filepath.Glob(filepath.Join("testdata", "fuzz", target, "*"))
		if len(files) < 5 {
			t.Fatalf("%s: %d seeds, want at least 5 (go test -run TestFuzzSeeds -update)", target, len(files))
		}
	}
	for name, fr := range seeds {
		b, err := os.ReadFile(filepath.Join("testdata", "fuzz", "FuzzDecode", name))
		if err != nil {
			t.Fatalf("seed %s: %v (go test -run TestFuzzSeeds -update)", name, err)
		}
		if want := corpusFile(fr); !bytes.Equal(b, want) {
			t.Errorf("seed %s differs from the capture (go test -run TestFuzzSeeds -update)", name)
		}
	}
}

// corpusFile encodes one []byte argument in Go's fuzz corpus format.
func corpusFile(b []byte) []byte {
	return []byte("go test fuzz v1\n[]byte(" + strconv.Quote(string(b)) + ")\n")
}

func writeSeeds(t *testing.T, target string, seeds map[string][]byte) {
	dir := filepath.Join("testdata", "fuzz", target)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, b := range seeds {
		if err := os.WriteFile(filepath.Join(dir, name), corpusFile(b), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

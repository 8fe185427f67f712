package kraken

import (
	"math/big"
	"strings"
	"sync"
	"time"

	"arbmm/internal/market"
	"arbmm/internal/sim/auth"
	"arbmm/internal/sim/match"
	"arbmm/internal/sim/venue"
	"arbmm/internal/sim/wire"
)

// orderEntry is the order-entry state shared by REST (rest.go) and the
// authenticated websocket (wsauth.go).
//
// Locking: the fields marked "venue lock" are touched only inside
// Venue.Do callbacks and in Deliver (which the venue calls with its lock
// held), so the venue's mutex guards them and they see its one order of
// events. trackMu, timerMu and connMu guard what they name; none of them is
// held while calling Venue.Do, except trackMu (Do never takes it).
type orderEntry struct {
	s       *Server
	keys    *auth.Keys
	nonces  *auth.Nonces
	tokens  *auth.Tokens
	limiter *auth.KrakenLimiter
	pairs   *pairTable
	draws   wire.Draws // order-fault draws

	trackMu sync.Mutex
	tracked map[uint32]bool

	timerMu sync.Mutex
	timers  map[uint32]*deadman
	closed  bool

	connMu sync.Mutex
	conns  map[*authConn]bool

	// venue lock
	userrefs  map[uint64]int32       // order id → userref, when one was given
	reasons   map[uint64]string      // order id → why it was canceled or expired
	synth     map[uint64]synthOrder  // post-only orders canceled on arrival
	synthID   uint64                 // last synthetic order number
	execSubs  map[uint32][]*authConn // account → executions subscribers
	balSubs   map[uint32][]*authConn // account → balances subscribers
	totals    map[acctAsset]int64    // last total (free+locked) per account and asset
	fees      map[acctAsset]int64    // scratch of Deliver: fees of the batch
	refs      map[uint32]uint64      // scratch of Deliver: last trade of the batch
	ledgerSeq uint64                 // ledger entry ids of the balances channel
	buf, ent  []byte                 // scratch of Deliver
}

type acctAsset struct {
	acct  uint32
	asset match.AssetID
}

// synthOrder is a post-only order that would have taken: Kraken accepts it
// and cancels it at once ("Post only order"); the book never saw it.
type synthOrder struct {
	pi *pairInfo
	o  match.Order
}

// synthBit marks the ids of synthetic orders, apart from the venue's.
const synthBit = 1 << 63

// deadman is an account's CancelAllOrdersAfter timer.
type deadman struct {
	t       *time.Timer
	gen     uint64
	trigger time.Time
}

// initPrivate prepares order entry; called by New.
func (s *Server) initPrivate() error {
	e := &s.priv
	e.s = s
	e.keys = s.cfg.Keys
	if e.keys == nil {
		e.keys = auth.NewKeys()
	}
	e.nonces = auth.NewNonces()
	e.draws.Seed = s.cfg.Seed ^ 0x6f7264657273
	e.tokens = auth.NewTokens(0)
	e.limiter = auth.NewKrakenLimiter(s.cfg.Limits)
	e.tracked = map[uint32]bool{}
	e.timers = map[uint32]*deadman{}
	e.conns = map[*authConn]bool{}
	e.userrefs = map[uint64]int32{}
	e.reasons = map[uint64]string{}
	e.synth = map[uint64]synthOrder{}
	e.execSubs = map[uint32][]*authConn{}
	e.balSubs = map[uint32][]*authConn{}
	e.totals = map[acctAsset]int64{}
	e.fees = map[acctAsset]int64{}
	e.refs = map[uint32]uint64{}
	e.pairs = newPairTable(s.v)
	s.v.AddPrivateSink(e)
	return nil
}

// closePrivate stops the dead man's switches and closes the authenticated
// connections; called by Close.
func (s *Server) closePrivate() {
	e := &s.priv
	e.timerMu.Lock()
	e.closed = true
	for a, d := range e.timers {
		d.t.Stop()
		delete(e.timers, a)
	}
	e.timerMu.Unlock()
	e.connMu.Lock()
	conns := make([]*authConn, 0, len(e.conns))
	for ac := range e.conns {
		conns = append(conns, ac)
	}
	e.connMu.Unlock()
	for _, ac := range conns {
		ac.c.Close()
	}
}

// track makes account a tracked by the venue the first time one of its
// keys or tokens is used, and records its balances as the base of the
// balances channel's updates.
func (e *orderEntry) track(a uint32) {
	e.trackMu.Lock()
	defer e.trackMu.Unlock()
	if e.tracked[a] {
		return
	}
	e.tracked[a] = true
	e.s.v.Track(match.AccountID(a))
	e.s.v.Do(func(tx *venue.Tx) {
		for i := range tx.Venue().Ledger().Assets() {
			free, locked := tx.Venue().Ledger().Balance(match.AccountID(a), match.AssetID(i))
			e.totals[acctAsset{a, match.AssetID(i)}] = free + locked
		}
	})
}

// faults draws the order faults of one new order: refuse it, or place it
// and lose the response. The draws are a function of the seed and the
// order's number on this server (wire.Draws).
func (e *orderEntry) faults() (reject, lost bool) {
	f := e.s.cfg.Orders
	if f.Reject == 0 && f.LostAck == 0 {
		return false, false
	}
	return e.draws.Next() < f.Reject, e.draws.Next() < f.LostAck
}

// orderReq is a parsed new-order request of either protocol.
type orderReq struct {
	pi         *pairInfo
	r          match.Request
	userref    int32
	hasUserref bool
	validate   bool
	viqc       bool
}

// placeResult is what happened to a new order.
type placeResult struct {
	o    match.Order
	err  string // Kraken error text; "" on success
	lost bool   // the response must be lost (LostAck)
}

// place submits rq for account a: the Reject fault, the trading rate
// limit, then the book. A post-only order that would take is accepted and
// canceled at once, as Kraken does.
func (e *orderEntry) place(a uint32, rq *orderReq) placeResult {
	reject, lost := e.faults()
	if reject {
		return placeResult{err: errServiceUnavail}
	}
	var res placeResult
	rq.r.Account = match.AccountID(a)
	e.s.v.Do(func(tx *venue.Tx) {
		if err := e.limiter.Order(a, rq.pi.alt, 1, tx.Now()); err != nil {
			res.err = err.Error()
			return
		}
		o, err := tx.Submit(rq.pi.p, rq.r)
		switch {
		case err == match.ErrWouldTake:
			o = e.postOnlyCanceled(tx, a, rq)
		case err != nil:
			res.err = orderError(err)
			return
		}
		if rq.hasUserref {
			e.userrefs[o.ID] = rq.userref
		}
		res.o = o
	})
	res.lost = lost && res.err == ""
	return res
}

// postOnlyCanceled records a post-only order that would have taken as
// accepted and canceled, and streams its events. Venue lock held.
func (e *orderEntry) postOnlyCanceled(tx *venue.Tx, a uint32, rq *orderReq) match.Order {
	e.synthID++
	now := tx.Now().UnixNano()
	r := &rq.r
	o := match.Order{
		ID: synthBit | e.synthID, Account: r.Account, ClientID: r.ClientID, Side: r.Side,
		Type: r.Type, TIF: r.TIF, PostOnly: true, STP: r.STP, Price: r.Price, Qty: r.Qty,
		FeeAsset: rq.pi.p.Quote, Status: match.StatusNew, Created: now, Updated: now,
	}
	if rq.hasUserref {
		e.userrefs[o.ID] = rq.userref
	}
	e.reasons[o.ID] = errPostOnlyReason
	evs := [2]venue.Event{{Kind: venue.EventOrder, Account: r.Account, Time: tx.Now(), Pair: rq.pi.p, Order: o}}
	o.Status = match.StatusCanceled
	evs[1] = evs[0]
	evs[1].Order = o
	e.synth[o.ID] = synthOrder{pi: rq.pi, o: o}
	e.Deliver(evs[:])
	return o
}

// lookup finds account a's order id on any pair (open, kept closed, or
// synthetic). Venue lock held.
func (e *orderEntry) lookup(tx *venue.Tx, a uint32, id uint64, clientID string) (match.Order, *pairInfo, bool) {
	if id&synthBit != 0 {
		so, ok := e.synth[id]
		if !ok || so.o.Account != match.AccountID(a) {
			return match.Order{}, nil, false
		}
		return so.o, so.pi, true
	}
	for _, pi := range e.pairs.list {
		if o, ok := tx.Lookup(pi.p, match.AccountID(a), id, clientID); ok {
			return o, pi, true
		}
	}
	return match.Order{}, nil, false
}

// cancel cancels account a's open order id (or the one with clientID when
// id is 0), charging the trading counter by the order's age. Venue lock
// held. It returns the Kraken error text or "".
func (e *orderEntry) cancel(tx *venue.Tx, a uint32, id uint64, clientID string) (match.Order, *pairInfo, string) {
	o, pi, ok := e.lookup(tx, a, id, clientID)
	if !ok || !o.Status.Open() {
		return match.Order{}, nil, errUnknownOrder
	}
	age := tx.Now().Sub(time.Unix(0, o.Created))
	if err := e.limiter.Order(a, pi.alt, auth.KrakenCancelCost(age), tx.Now()); err != nil {
		return match.Order{}, nil, err.Error()
	}
	c, err := tx.Cancel(pi.p, match.AccountID(a), o.ID, "")
	if err != nil {
		return match.Order{}, nil, orderError(err)
	}
	e.reasons[c.ID] = errUserRequested
	return c, pi, ""
}

// cancelAll cancels every open order of account a with reason. Venue lock
// held.
func (e *orderEntry) cancelAll(tx *venue.Tx, a uint32, reason string) int {
	os := tx.CancelAll(nil, match.AccountID(a), nil)
	for i := range os {
		e.reasons[os[i].ID] = reason
	}
	return len(os)
}

// cancelAfter arms (timeout > 0) or disarms account a's dead man's switch
// and returns the trigger time (zero when disarmed).
func (e *orderEntry) cancelAfter(a uint32, timeout int64, now time.Time) time.Time {
	e.timerMu.Lock()
	defer e.timerMu.Unlock()
	d := e.timers[a]
	if d != nil {
		d.t.Stop()
		delete(e.timers, a)
	}
	if timeout <= 0 || e.closed {
		return time.Time{}
	}
	gen := uint64(1)
	if d != nil {
		gen = d.gen + 1
	}
	nd := &deadman{gen: gen, trigger: now.Add(time.Duration(timeout) * time.Second)}
	nd.t = time.AfterFunc(time.Duration(timeout)*time.Second, func() { e.fire(a, gen) })
	e.timers[a] = nd
	return nd.trigger
}

// fire runs account a's dead man's switch if it is still the armed one.
func (e *orderEntry) fire(a uint32, gen uint64) {
	e.timerMu.Lock()
	d := e.timers[a]
	if e.closed || d == nil || d.gen != gen {
		e.timerMu.Unlock()
		return
	}
	delete(e.timers, a)
	e.timerMu.Unlock()
	e.s.v.Do(func(tx *venue.Tx) { e.cancelAll(tx, a, errDeadMansSwitch) })
}

// pairInfo is one venue pair with its Kraken names.
type pairInfo struct {
	p        *venue.Pair
	ws       string // WebSocket v2 symbol: "BTC/USD"
	alt      string // REST altname: "XBTUSD"
	base     string // ledger (WebSocket v2) asset names: "BTC", "USD"
	quote    string
	quoteExp int // decimals of the quote asset in the ledger
	baseExp  int
}

// pairTable resolves the names a pair is asked for by.
type pairTable struct {
	list   []*pairInfo // by venue pair index
	byName map[string]*pairInfo
}

// krakenAlias is Kraken's own code for assets it names differently.
var krakenAlias = map[string]string{"BTC": "XBT", "DOGE": "XDG"}

// legacyREST are the REST asset codes of Kraken's oldest assets, which
// carry an X (crypto) or Z (fiat) prefix: XXBT, ZUSD.
var legacyREST = map[string]string{
	"BTC": "XXBT", "ETH": "XETH", "LTC": "XLTC", "XRP": "XXRP", "XLM": "XXLM",
	"DOGE": "XXDG", "ETC": "XETC", "XMR": "XXMR", "ZEC": "XZEC", "MLN": "XMLN",
	"REP": "XREP", "USD": "ZUSD", "EUR": "ZEUR", "GBP": "ZGBP", "JPY": "ZJPY",
	"CAD": "ZCAD", "AUD": "ZAUD",
}

func alias(a string) string {
	if k, ok := krakenAlias[a]; ok {
		return k
	}
	return a
}

// restAsset is an asset's REST code ("XXBT", "ZUSD", "USDT").
func restAsset(a string) string {
	if k, ok := legacyREST[a]; ok {
		return k
	}
	return alias(a)
}

// newPairTable names every pair of v by its v2 symbol ("BTC/USD"), v1
// wsname ("XBT/USD"), REST altname ("XBTUSD"), the same without the alias
// ("BTCUSD") and, for legacy assets, the REST name ("XXBTZUSD").
func newPairTable(v *venue.Venue) *pairTable {
	pt := &pairTable{byName: map[string]*pairInfo{}}
	v.Do(func(tx *venue.Tx) {
		l := tx.Venue().Ledger()
		for _, p := range v.Pairs() {
			b, q := p.Cfg.Pair.Base, p.Cfg.Pair.Quote
			pi := &pairInfo{
				p: p, ws: p.Cfg.Symbol, alt: alias(b) + alias(q), base: b, quote: q,
				quoteExp: -int(l.Exp(p.Quote)), baseExp: -int(l.Exp(p.Base)),
			}
			pt.list = append(pt.list, pi)
			names := []string{p.Cfg.Symbol, pi.alt, b + q, alias(b) + "/" + alias(q)}
			_, lb := legacyREST[b]
			_, lq := legacyREST[q]
			if lb && lq {
				names = append(names, restAsset(b)+restAsset(q))
			}
			for _, n := range names {
				if _, dup := pt.byName[n]; !dup {
					pt.byName[n] = pi
				}
			}
		}
	})
	return pt
}

func (pt *pairTable) lookup(name []byte) (*pairInfo, bool) {
	pi, ok := pt.byName[string(name)]
	if !ok {
		pi, ok = pt.byName[strings.ToUpper(string(name))]
	}
	return pi, ok
}

// Order ids look like Kraken's ("OU22CG-KLAF2-FWUDD7"): a prefix letter and
// 16 base-32 digits in groups of 5, 5 and 6. The digits hold the venue's id
// scrambled by an invertible map (13 digits) and a 15-bit check (3 digits),
// so ids read as random, decode without a table, and a mistyped one is
// refused.
const (
	txAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	txMul      = 0x9e3779b97f4a7c15
	txXor      = 0x5bd1e9955bd1e995
	txCheckMul = 0xc2b2ae3d27d4eb4f
)

var txMulInv = func() uint64 {
	inv := uint64(txMul) // Newton's iteration for the inverse mod 2^64
	for range 6 {
		inv *= 2 - txMul*inv
	}
	return inv
}()

// appendTxID appends the id's Kraken-style string with prefix ('O' order,
// 'T' trade, 'L' ledger entry).
func appendTxID(dst []byte, prefix byte, id uint64) []byte {
	x := (id ^ txXor) * txMul
	chk := (x * txCheckMul) >> 49
	var d [16]byte
	for i := range 13 {
		d[i] = txAlphabet[(x>>(5*(12-i)))&31]
	}
	for i := range 3 {
		d[13+i] = txAlphabet[(chk>>(5*(2-i)))&31]
	}
	dst = append(dst, prefix)
	dst = append(dst, d[:5]...)
	dst = append(dst, '-')
	dst = append(dst, d[5:10]...)
	dst = append(dst, '-')
	return append(dst, d[10:]...)
}

// parseTxID decodes an id made by appendTxID with prefix.
func parseTxID(b []byte, prefix byte) (uint64, bool) {
	if len(b) != 19 || b[0] != prefix || b[6] != '-' || b[12] != '-' {
		return 0, false
	}
	var d [16]uint64
	k := 0
	for i := 1; i < len(b); i++ {
		if i == 6 || i == 12 {
			continue
		}
		v := strings.IndexByte(txAlphabet, b[i])
		if v < 0 {
			return 0, false
		}
		d[k] = uint64(v)
		k++
	}
	if d[0] >= 16 {
		return 0, false
	}
	var x, chk uint64
	for i := range 13 {
		x = x<<5 | d[i]
	}
	for i := 13; i < 16; i++ {
		chk = chk<<5 | d[i]
	}
	if chk != (x*txCheckMul)>>49 {
		return 0, false
	}
	return (x * txMulInv) ^ txXor, true
}

func txid(id uint64) string { return string(appendTxID(nil, 'O', id)) }

// avgPrice is the average fill price of o as a mantissa at the pair's
// price decimals (rounded half up), or 0 before any fill.
func avgPrice(pi *pairInfo, o *match.Order) int64 {
	if o.Filled <= 0 {
		return 0
	}
	// price = QuoteFilled·10^-qe / (Filled·10^-qtyExp), at 10^-priceExp.
	pc := &pi.p.Cfg
	num := new(big.Int).Mul(big.NewInt(o.QuoteFilled), new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(pc.QtyExp+pc.PriceExp)), nil))
	den := new(big.Int).Mul(big.NewInt(o.Filled), new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(pi.quoteExp)), nil))
	num.Mul(num, big.NewInt(2)).Add(num, den)
	num.Quo(num, den.Mul(den, big.NewInt(2)))
	if !num.IsInt64() {
		return 0
	}
	return num.Int64()
}

// appendFixed appends v at exp decimals (the REST string form).
func appendFixed(b []byte, v int64, exp int) []byte { return market.AppendFixed(b, v, exp) }

// Limits are the rate limits the venue enforces (its defaults filled in),
// for a client that mirrors them.
func (s *Server) Limits() auth.KrakenLimits { return s.priv.limiter.Limits() }

// RateRefusals counts the calls and orders the venue refused for its rate
// limits.
func (s *Server) RateRefusals() uint64 { return s.priv.limiter.Refused() }

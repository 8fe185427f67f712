package engine

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"

	"arbmm/arb"
	"arbmm/bench"
	"arbmm/book"
	"arbmm/exec"
	"arbmm/exec/risk"
	"arbmm/internal/cpu"
	"arbmm/internal/market"
	"arbmm/internal/ring"
	"arbmm/mm"
)

// Gateway is one venue's order session as the core uses it: Send encodes,
// signs and writes on the calling (core) goroutine and never blocks longer
// than the write; reports come back through the gateway's report ring.
// exec/binance.Session and exec/kraken.Session satisfy it.
type Gateway interface {
	Send(in *market.Intent) error
	Close() error
}

// EventKind says what an Event carries.
type EventKind uint8

const (
	// EvBook: the book of instrument Inst changed (a feed goroutine).
	EvBook EventKind = iota
	// EvReport: an execution report (a gateway's reader goroutine).
	EvReport
	// EvVenue: a feed's connection came up (Up) or went down.
	EvVenue
)

// Event is what producers hand the core through the rings: a fixed-size
// value, copied in and out.
type Event struct {
	Kind   EventKind
	Inst   int32      // index into Config.Instruments
	RecvNs int64      // local receive time of the frame that caused it
	Book   *book.Book // EvBook: the book (a feed may create it late)
	Venue  market.Venue
	Up     bool // EvVenue: the connection is up
	Report market.Report
}

// Config configures the core.
type Config struct {
	// Instruments are every venue's listing of every pair traded, with
	// the pair's shared exponents (internal/config guarantees them).
	Instruments []market.Instrument
	// Books are the instruments' books, index for index (the feeds write
	// them; the core only reads their snapshots). A nil book is learned
	// from its first book event (a feed that creates books late); until
	// then the instrument is not traded.
	Books []*book.Book
	// Gateways are the venues' order sessions by venue; a venue without
	// one is not traded.
	Gateways [market.NumVenues]Gateway
	// Cross is the cross-exchange arbitrage of every pair listed on two or
	// more traded venues; Legs its leg-risk settings (MaxOrderQty is per
	// pair: see MaxOrderQty).
	Cross arb.CrossConfig
	Legs  arb.LegsConfig
	// MaxOrderQty is the arbitrage's largest leg per pair (canonical pair
	// string → mantissa at the pair's QtyExp); pairs not listed use
	// Cross.MaxOrderQty.
	MaxOrderQty map[string]market.Qty
	// Tri are the triangular arbitrages (three instruments of one venue
	// each).
	Tri []TriSetup
	// MM are the market makers, one instrument each.
	MM []MMSetup
	// XEMM are the cross-exchange market makers (quote on one venue,
	// hedge on another).
	XEMM []XEMMSetup
	// CrossOff disables the cross-exchange arbitrage (a market-making
	// only configuration).
	CrossOff bool
	// Risk is the pre-trade checker (its kill switch included). Required.
	Risk *risk.Checker
	// Ring is the capacity of each producer's ring (power of two);
	// default 4096.
	Ring int
	// CPU pins the core's thread to a CPU when >= 0; -1 (default) leaves
	// it unpinned.
	CPU int
	// Idle is what the core does when every ring is empty.
	Idle cpu.Idle
	// Tick is the period of the core's timer work (hedge retries, caps,
	// P&L checks, the status snapshot); default 100ms.
	Tick time.Duration
	// Now is the local clock (Unix ns) the core stamps events with; nil
	// is time.Now. Strategies never read it: they get times from events.
	Now func() int64
}

// TriSetup is one triangular arbitrage: the instruments of A/Q, B/A, B/Q
// (indexes into Instruments) and its settings.
type TriSetup struct {
	Insts [3]int
	Cfg   arb.TriConfig
}

// MMSetup is one market maker: the instrument it quotes (an index into
// Instruments), the quoting and the quote management settings.
type MMSetup struct {
	Inst          int
	Quoter        mm.QuoterConfig
	RefreshTicks  int
	Signal        bool  // shift the fair value by the short-horizon signal
	SignalHorizon int64 // ns; default 1s
}

// mmGroup is a market maker in the core.
type mmGroup struct {
	inst   int
	q      *mm.Quoter
	m      *mm.Manager
	sig    *mm.Signal
	ladder mm.Ladder
	hold   int64 // no requote before (a send was refused)
	stats  MMStats
}

// MMStats are one market maker's counters.
type MMStats struct {
	QuoteStats
	Inst               int
	Symbol             string // venue:symbol
	Fills              uint64
	BidFills, AskFills uint64
	SpreadCaptured     float64 // Σ |fill price − mid| × qty, quote units
	// Cash is Σ (sells − buys) × price of its fills, Fees what they cost
	// (quote units), Position the base they left; PnL = Cash − Fees +
	// Position at the mid, as of the last tick.
	Cash, Fees, Position, PnL float64
	// Inventory is the venue's base holding change now; InvMin and InvMax
	// the extremes it reached (base units): the inventory path.
	Inventory, InvMin, InvMax float64
}

// triGroup is a triangular arbitrage in the core, with the orders of its
// cycle in flight (a new cycle waits until they are final).
type triGroup struct {
	insts [3]int
	tri   *arb.Tri
	ids   [3]market.ClientID
	open  int
}

// Core is the engine's single-threaded heart: it drains the feed and
// gateway rings, runs the strategies on book changes, checks every intent
// with risk, sends through the gateways, and books the fills. Everything
// below Run belongs to Run's goroutine; the producers only push events,
// and readers use Status.
type Core struct {
	cfg    Config
	ins    []market.Instrument
	books  []*book.Book
	tops   []book.Top
	rings  []*ring.SPSC[Event]
	orders *exec.Orders
	pos    *Positions
	risk   *risk.Checker
	kill   *risk.KillSwitch
	ids    *exec.IDs
	groups []group // one per pair traded on two or more venues
	grpOf  []int   // instrument → group, -1 none
	tris   []triGroup
	triOf  [][]int // instrument → its triangular groups
	mms    []mmGroup
	mmOf   [][]int // instrument → its market makers
	xemms  []xemmGroup
	xOf    [][]int       // instrument → its cross-exchange market makers (as A or B)
	xh     market.Intent // a hedge being sent (a field: an interface call would move a local to the heap)
	out    []market.Intent
	ev     Event
	now    int64
	idler  cpu.Idler
	killed bool // the kill switch was seen active (cancel-all sent)

	arbBreaches uint64 // the arbitrage groups' leg breaches, summed

	stats     Stats
	statusMu  sync.Mutex
	snap      Status // guarded by statusMu
	openBuf   []*exec.Order
	pending   []market.Report        // reports of intents send could not send, booked after the event
	venueUp   [market.NumVenues]bool // the feeds' connection states
	venueSeen [market.NumVenues]bool
	stages    *bench.Stages // HDR latency of each stage of the path to a trade
	stamps    bench.Stamps
}

// group is one pair's arbitrage across its venues.
type group struct {
	pair  market.Pair
	insts []int // instrument indexes, one per venue
	legs  []arb.Leg
	cross *arb.Cross
	legst *arb.Legs
}

// Stats are the core's counters (owned by Run's goroutine; copied into
// each Status).
type Stats struct {
	Events, BookEvents, Reports    uint64
	Evaluations, Opportunities     uint64
	TriEvaluations, TriTaken       uint64
	Taken, RiskRefused, SendErrors uint64
	Orders, Fills, Rejects         uint64
	Hedges, Breaches, KillCancels  uint64
	Disconnects                    uint64 // feed connections lost
	RingFull                       uint64
	OpenOrders                     int // orders not yet final, at the last snapshot
	TickToTradeLastNs, DecisionNs  int64
	// PnL is realised + unrealised P&L after fees in the reporting
	// currency (the first instrument's quote), as of the last tick.
	PnL float64
	// TickToTradeP50 and P99 are the percentiles so far (ns) of frame
	// receipt → both legs handed to their sockets, for trades taken.
	TickToTradeP50, TickToTradeP99 int64
}

// New builds the core: the order table, positions, one arbitrage group per
// pair listed on two or more venues with a gateway, and a ring per
// producer (Ring returns them).
func New(cfg Config) (*Core, error) {
	if len(cfg.Instruments) == 0 || len(cfg.Books) != len(cfg.Instruments) {
		// (entries may be nil: see Config.Books)
		return nil, errors.New("engine: need instruments and one book per instrument")
	}
	if cfg.Risk == nil {
		return nil, errors.New("engine: a risk checker is required")
	}
	if cfg.Ring == 0 {
		cfg.Ring = 4096
	}
	if cfg.Tick == 0 {
		cfg.Tick = 100 * time.Millisecond
	}
	if cfg.Now == nil {
		cfg.Now = func() int64 { return time.Now().UnixNano() }
	}
	pos, err := NewPositions(cfg.Instruments)
	if err != nil {
		return nil, err
	}
	c := &Core{
		cfg:     cfg,
		ins:     cfg.Instruments,
		books:   cfg.Books,
		tops:    make([]book.Top, len(cfg.Instruments)),
		orders:  exec.NewOrders(1024, 4096),
		pos:     pos,
		risk:    cfg.Risk,
		kill:    cfg.Risk.Kill(),
		ids:     exec.NewIDs(time.Unix(0, cfg.Now())),
		grpOf:   make([]int, len(cfg.Instruments)),
		out:     make([]market.Intent, 0, 16),
		openBuf: make([]*exec.Order, 0, 1024),
		pending: make([]market.Report, 0, 64),
		stages:  bench.New(),
		idler:   cpu.NewIdler(cfg.Idle),
	}
	byPair := map[market.Pair][]int{}
	var order []market.Pair
	for i := range c.ins {
		c.grpOf[i] = -1
		if cfg.Gateways[c.ins[i].Venue] == nil || cfg.CrossOff {
			continue
		}
		p := c.ins[i].Pair
		if _, ok := byPair[p]; !ok {
			order = append(order, p)
		}
		byPair[p] = append(byPair[p], i)
	}
	for _, p := range order {
		idx := byPair[p]
		if len(idx) < 2 {
			continue
		}
		cc := cfg.Cross
		if q, ok := cfg.MaxOrderQty[p.String()]; ok {
			cc.MaxOrderQty = q
		}
		cross, err := arb.NewCross(cc)
		if err != nil {
			return nil, fmt.Errorf("engine: %s: %w", p, err)
		}
		legst, err := arb.NewLegs(cfg.Legs)
		if err != nil {
			return nil, fmt.Errorf("engine: %s: %w", p, err)
		}
		g := group{pair: p, insts: idx, legs: make([]arb.Leg, len(idx)), cross: cross, legst: legst}
		for k, i := range idx {
			g.legs[k] = arb.Leg{Inst: &c.ins[i], Top: &c.tops[i]}
			c.grpOf[i] = len(c.groups)
		}
		c.groups = append(c.groups, g)
	}
	c.triOf = make([][]int, len(c.ins))
	for _, ts := range cfg.Tri {
		for _, i := range ts.Insts {
			if i < 0 || i >= len(c.ins) || cfg.Gateways[c.ins[i].Venue] == nil {
				return nil, fmt.Errorf("engine: triangular instrument %d: not traded", i)
			}
		}
		t, err := arb.NewTri(ts.Cfg, &c.ins[ts.Insts[0]], &c.ins[ts.Insts[1]], &c.ins[ts.Insts[2]])
		if err != nil {
			return nil, fmt.Errorf("engine: %w", err)
		}
		for _, i := range ts.Insts {
			c.triOf[i] = append(c.triOf[i], len(c.tris))
		}
		c.tris = append(c.tris, triGroup{insts: ts.Insts, tri: t})
	}
	c.mmOf = make([][]int, len(c.ins))
	for _, ms := range cfg.MM {
		if ms.Inst < 0 || ms.Inst >= len(c.ins) || cfg.Gateways[c.ins[ms.Inst].Venue] == nil {
			return nil, fmt.Errorf("engine: market maker on instrument %d: not traded", ms.Inst)
		}
		in := &c.ins[ms.Inst]
		q, err := mm.NewQuoter(ms.Quoter, in)
		if err != nil {
			return nil, fmt.Errorf("engine: %s %s: %w", in.Venue, in.Symbol, err)
		}
		g := mmGroup{inst: ms.Inst, q: q, m: mm.NewManager(in, ms.RefreshTicks, in.Venue == market.Binance)}
		if ms.Signal {
			h := ms.SignalHorizon
			if h == 0 {
				h = int64(time.Second)
			}
			g.sig = mm.NewSignal(h, 0.999)
		}
		g.stats.Inst = ms.Inst
		g.stats.Symbol = in.Venue.String() + ":" + in.Symbol
		c.mmOf[ms.Inst] = append(c.mmOf[ms.Inst], len(c.mms))
		c.mms = append(c.mms, g)
	}
	c.xOf = make([][]int, len(c.ins))
	for _, xs := range cfg.XEMM {
		if err := c.addXEMM(xs); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// NewRing makes a ring for one producer (a feed or a gateway) and
// registers it with the core; call before Run.
func (c *Core) NewRing() (*ring.SPSC[Event], error) {
	r, err := ring.New[Event](c.cfg.Ring)
	if err != nil {
		return nil, err
	}
	c.rings = append(c.rings, r)
	return r, nil
}

// Positions are the core's positions (read them after Run returns, or
// through Status while it runs).
func (c *Core) Positions() *Positions { return c.pos }

// Stages is the core's latency histograms: read them after Run returns.
func (c *Core) Stages() *bench.Stages { return c.stages }

// Orders is the core's order table (after Run returns).
func (c *Core) Orders() *exec.Orders { return c.orders }

// SetBalance records a venue's starting holding (before Run).
func (c *Core) SetBalance(v market.Venue, asset string, amount int64, dec int) error {
	return c.pos.SetBalance(v, asset, amount, dec)
}

// Run is the core loop; it returns when ctx is done, after asking every
// gateway to cancel what is open.
func (c *Core) Run(ctx context.Context) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if c.cfg.CPU >= 0 {
		if err := cpu.Pin(c.cfg.CPU); err != nil {
			return err
		}
		defer cpu.Unpin()
	}
	done := ctx.Done()
	nextTick := c.cfg.Now()
	empty := 0
	batch := make([]Event, 64)
	for {
		select {
		case <-done:
			c.cancelAll()
			c.publish()
			return nil
		default:
		}
		n := 0
		for _, r := range c.rings {
			k := r.PopBatch(batch)
			for i := 0; i < k; i++ {
				c.handle(&batch[i])
			}
			n += k
		}
		now := c.cfg.Now()
		if now >= nextTick {
			c.now = now
			c.onTimer()
			nextTick = now + int64(c.cfg.Tick)
		}
		if n == 0 {
			empty++
			c.idler.Idle(empty)
		} else {
			empty = 0
		}
	}
}

func (c *Core) handle(ev *Event) {
	c.stats.Events++
	c.now = c.cfg.Now()
	switch ev.Kind {
	case EvBook:
		c.stats.BookEvents++
		c.onBook(ev)
	case EvReport:
		c.stats.Reports++
		c.onReport(&ev.Report)
	case EvVenue:
		c.venueUp[ev.Venue] = ev.Up
		c.venueSeen[ev.Venue] = true
		if !ev.Up {
			c.stats.Disconnects++
		}
		c.kill.OnVenueState(ev.Venue, ev.Up, c.now)
	}
	c.drainPending()
}

// onBook runs the pair's arbitrage on a book change.
func (c *Core) onBook(ev *Event) {
	i := int(ev.Inst)
	if i < 0 || i >= len(c.grpOf) {
		return
	}
	if ev.Book != nil && c.books[i] == nil {
		c.books[i] = ev.Book
	}
	if c.books[i] != nil {
		c.books[i].Read(&c.tops[i]) // every strategy below sees this event's book
	}
	for _, t := range c.triOf[i] {
		c.onTri(&c.tris[t], ev)
	}
	for _, k := range c.mmOf[i] {
		c.onMM(&c.mms[k])
	}
	for _, k := range c.xOf[i] {
		c.onXEMM(&c.xemms[k])
	}
	if c.grpOf[i] < 0 {
		return
	}
	g := &c.groups[c.grpOf[i]]
	for k, j := range g.insts {
		if j != i && c.books[j] != nil {
			c.books[j].Read(&c.tops[j]) // (i's was read above)
		}
		c.fillBalances(&g.legs[k], j)
	}
	if c.kill.Active() || g.legst.InFlight() > 0 {
		return // one attempt per pair at a time; none once killed
	}
	for _, j := range g.insts {
		if !c.risk.RateReady(&c.ins[j], c.now) {
			return // no order budget on a leg now: nothing to decide
		}
	}
	c.stats.Evaluations++
	op, ok := g.cross.Best(g.legs)
	if !ok {
		return
	}
	c.stats.Opportunities++
	st := &c.stamps
	*st = bench.Stamps{}
	st[bench.AtReceipt], st[bench.AtApplied], st[bench.AtDecided] = ev.RecvNs, c.now, c.cfg.Now()
	buyID, sellID := c.ids.Next(time.Time{}), c.ids.Next(time.Time{})
	c.out = op.Intents(g.legs, buyID, sellID, c.out[:0])
	// Both legs must pass risk, or neither goes.
	for k := range c.out {
		if v := c.check(&c.out[k]); v != risk.OK {
			c.stats.RiskRefused++
			return
		}
	}
	st[bench.AtChecked] = c.cfg.Now()
	_ = g.legst.Open(&op, buyID, sellID, c.now)
	c.stats.Taken++
	for k := range c.out {
		c.send(&c.out[k])
	}
	st[bench.AtSent] = c.cfg.Now()
	if ev.RecvNs > 0 {
		c.stats.TickToTradeLastNs = st[bench.AtSent] - ev.RecvNs
		c.stages.RecordStamps(st)
	}
}

// onMM requotes a market maker: the wanted ladder from the book and the
// inventory, pulled when the book is not to be trusted or the kill switch
// is on; the manager's intents go out through risk (cancels always pass;
// a refused quote goes back to the manager as a reject).
func (c *Core) onMM(g *mmGroup) {
	i := g.inst
	if c.books[i] == nil {
		return
	}
	in := &c.ins[i]
	t := &c.tops[i]
	var inv float64
	if b, dec, ok := c.pos.Asset(in.Pair.Base); ok {
		inv = float64(c.pos.Change(in.Venue, b)) / float64(market.Pow10(dec))
	}
	var ref float64
	if g.sig != nil && t.NBids > 0 && t.NAsks > 0 {
		shift := g.sig.Observe(t, in.PriceExp, c.now)
		ref = float64(t.Bids[0].Price+t.Asks[0].Price)/2/float64(market.Pow10(in.PriceExp)) + shift
	}
	g.stats.Inventory = inv
	g.stats.InvMin, g.stats.InvMax = min(g.stats.InvMin, inv), max(g.stats.InvMax, inv)
	var ok bool
	g.ladder, ok = g.q.Quote(t, inv, ref, 0, c.now)
	c.manage(g.m, in, &g.ladder, !ok || c.kill.Active(), &g.stats.QuoteStats, &g.hold)
}

// MMStats returns the market makers' counters (after Run returns, or
// through Status).
func (c *Core) MMStats() []MMStats {
	out := make([]MMStats, len(c.mms))
	for k := range c.mms {
		out[k] = c.mms[k].stats
	}
	return out
}

// onTri runs a triangular arbitrage on a book change of one of its pairs:
// three IOC orders when the cycle pays, all three past risk or none.
func (c *Core) onTri(t *triGroup, ev *Event) {
	if t.open > 0 || c.kill.Active() {
		return
	}
	for _, j := range t.insts {
		if !c.risk.RateReady(&c.ins[j], c.now) {
			return
		}
	}
	for _, j := range t.insts {
		if c.books[j] == nil {
			return
		}
		c.books[j].Read(&c.tops[j])
	}
	c.stats.TriEvaluations++
	bq := &c.ins[t.insts[2]]
	var free int64
	if q, dec, ok := c.pos.Asset(bq.Pair.Quote); ok {
		free = floorRescale(c.pos.Balance(bq.Venue, q), dec, bq.PriceExp+bq.QtyExp)
	}
	op, ok := t.tri.Best(&c.tops[t.insts[0]], &c.tops[t.insts[1]], &c.tops[t.insts[2]], free)
	if !ok {
		return
	}
	for k := range t.ids {
		t.ids[k] = c.ids.Next(time.Time{})
	}
	c.out = op.Intents(t.tri, t.ids, c.out[:0])
	for k := range c.out {
		if c.check(&c.out[k]) != risk.OK {
			c.stats.RiskRefused++
			return
		}
	}
	c.stats.TriTaken++
	t.open = 3
	for k := range c.out {
		c.send(&c.out[k])
	}
}

// fillBalances sets a leg's free balances from the positions, at the
// pair's decimals.
func (c *Core) fillBalances(l *arb.Leg, j int) {
	in := &c.ins[j]
	if b, dec, ok := c.pos.Asset(in.Pair.Base); ok {
		l.BaseFree = floorRescale(c.pos.Balance(in.Venue, b), dec, in.QtyExp)
	}
	if q, dec, ok := c.pos.Asset(in.Pair.Quote); ok {
		l.QuoteFree = floorRescale(c.pos.Balance(in.Venue, q), dec, in.PriceExp+in.QtyExp)
	}
}

// floorRescale converts v from one decimal count to another, rounding
// toward zero when precision is lost.
func floorRescale(v int64, from, to int) int64 {
	if x, ok := market.Rescale(v, from, to); ok {
		return x
	}
	if from > to {
		return v / market.Pow10(from-to)
	}
	return v
}

// check runs risk on one intent with the instrument's view.
func (c *Core) check(in *market.Intent) risk.Verdict {
	j := c.instIndex(in.Inst)
	var v risk.View
	if j >= 0 {
		t := &c.tops[j]
		v.Book = t.State
		v.BookAge = c.now - t.RecvTime
		if t.NBids > 0 && t.NAsks > 0 {
			v.RefPrice = (t.Bids[0].Price + t.Asks[0].Price) / 2
		}
		var l arb.Leg
		c.fillBalances(&l, j)
		v.FreeBase = market.Qty(l.BaseFree)
		v.FreeQuote = market.Price(l.QuoteFree / market.Pow10(in.Inst.QtyExp))
		if pj, ok := c.pos.PairOf(in.Inst); ok {
			v.TotalPosition = market.Qty(c.pos.Pair(pj, 0).Qty)
		}
		if b, dec, ok := c.pos.Asset(in.Inst.Pair.Base); ok {
			v.Position = market.Qty(floorRescale(c.pos.Change(in.Venue, b), dec, in.Inst.QtyExp))
		}
	}
	return c.risk.Check(in, &v, c.now)
}

func (c *Core) instIndex(p *market.Instrument) int {
	for j := range c.ins {
		if &c.ins[j] == p {
			return j
		}
	}
	return -1
}

// send records an order and hands it to its venue's gateway.
func (c *Core) send(in *market.Intent) {
	gw := c.cfg.Gateways[in.Venue]
	if gw == nil {
		c.stats.SendErrors++
		return
	}
	switch in.Action {
	case market.ActNew:
		if _, err := c.orders.New(in, c.now); err != nil {
			c.stats.SendErrors++
			return
		}
		c.stats.Orders++
	case market.ActReplace:
		// The replacement is a new order in the table; the replaced one
		// is being canceled.
		repl := *in
		repl.Action, repl.ClientID, repl.NewID = market.ActNew, in.NewID, 0
		if _, err := c.orders.New(&repl, c.now); err != nil {
			c.stats.SendErrors++
			return
		}
		_, _ = c.orders.CancelSent(in.ClientID, c.now)
		c.stats.Orders++
	case market.ActCancel:
		_, _ = c.orders.CancelSent(in.ClientID, c.now)
	}
	if err := gw.Send(in); err != nil {
		c.stats.SendErrors++
		if in.Action == market.ActReplace && len(c.pending) < cap(c.pending) {
			c.pending = append(c.pending, market.Report{Kind: market.ReportReject, ClientID: in.NewID, Venue: in.Venue, Inst: in.Inst,
				Req: market.ActNew, Status: market.Rejected, RecvTime: c.now, Code: codeNotSent, Reason: "not sent: " + sendErrText(err)})
		}
		if in.Action == market.ActCancel && len(c.pending) < cap(c.pending) {
			// A cancel never sent leaves the order resting: booked as a
			// refused cancel, so its owner (a quote manager) sees the
			// order live again and cancels it on a later requote.
			c.pending = append(c.pending, market.Report{Kind: market.ReportReject, ClientID: in.ClientID, Venue: in.Venue, Inst: in.Inst,
				Req: market.ActCancel, Status: market.Unknown, RecvTime: c.now, Code: codeNotSent, Reason: "cancel not sent: " + sendErrText(err)})
		}
		if in.Action == market.ActNew && len(c.pending) < cap(c.pending) {
			// Never sent: the order is refused as far as the table (and
			// the leg tracking) goes. Booked after the current event, not
			// from inside it: the caller is iterating its intents.
			c.pending = append(c.pending, market.Report{Kind: market.ReportReject, ClientID: in.ClientID, Venue: in.Venue, Inst: in.Inst,
				Req: market.ActNew, Status: market.Rejected, RecvTime: c.now, Code: codeNotSent, Reason: "not sent: " + sendErrText(err)})
		}
	}
}

// codeNotSent marks the rejects the core makes up for intents a gateway
// refused to send (no venue code is negative).
const codeNotSent = -1

// sendErrText names a gateway's refusal without allocating for the
// common ones.
func sendErrText(err error) string {
	return err.Error()
}

// drainPending books the reports send made up for intents it could not
// send; each may lead to more (a hedge that cannot be sent either).
func (c *Core) drainPending() {
	for len(c.pending) > 0 {
		r := c.pending[0]
		copy(c.pending, c.pending[1:])
		c.pending = c.pending[:len(c.pending)-1]
		c.onReport(&r)
	}
}

// onReport books a report: the order table, the positions, the leg
// tracking (which may hedge), the kill switch's reject count.
func (c *Core) onReport(r *market.Report) {
	_, out, err := c.orders.Apply(r)
	if err != nil {
		return // not one of ours (counted by the table)
	}
	if r.Kind == market.ReportReject {
		c.stats.Rejects++
		if r.Code != codeNotSent {
			c.kill.OnReject(c.now) // the venue's refusals; local ones are SendErrors
		}
	}
	if out == exec.FillAdded && r.Kind == market.ReportFill {
		c.stats.Fills++
		_ = c.pos.Apply(r)
	}
	j := c.instIndex(r.Inst)
	if j < 0 {
		return
	}
	for _, k := range c.mmOf[j] {
		g := &c.mms[k]
		if ours, fill := g.m.OnReport(r); ours && fill {
			t := &c.tops[j]
			if t.NBids > 0 && t.NAsks > 0 {
				pu := float64(market.Pow10(r.Inst.PriceExp))
				mid := float64(t.Bids[0].Price+t.Asks[0].Price) / 2 / pu
				px := float64(r.Price) / pu
				g.q.OnFill(px, mid)
				d := px - mid
				if r.Side == market.Buy {
					d = -d
					g.stats.BidFills++
				} else {
					g.stats.AskFills++
				}
				g.stats.SpreadCaptured += d * float64(r.Qty) / float64(market.Pow10(r.Inst.QtyExp))
			}
			g.stats.Fills++
			cash, base := fillFlow(r)
			g.stats.Cash += cash
			g.stats.Position += base
			g.stats.Fees += c.feeQuote(r)
		}
	}
	for _, k := range c.xOf[j] {
		c.onXEMMReport(&c.xemms[k], j, r)
	}
	if final := r.Status.Final() || r.Kind == market.ReportReject || r.Kind == market.ReportCanceled || r.Kind == market.ReportExpired; final {
		for _, ti := range c.triOf[j] {
			t := &c.tris[ti]
			for k, id := range t.ids {
				if id != 0 && id == r.ClientID {
					t.ids[k] = 0
					t.open--
				}
			}
		}
	}
	if c.grpOf[j] < 0 {
		return
	}
	g := &c.groups[c.grpOf[j]]
	for k, i := range g.insts {
		c.fillBalances(&g.legs[k], i)
	}
	c.out = g.legst.OnReport(r, g.legs, c.now, c.nextID, c.out[:0])
	c.sendHedges(g)
}

func (c *Core) nextID() market.ClientID { return c.ids.Next(time.Time{}) }

// sendHedges sends the hedge intents in c.out that pass risk; one that
// does not is handed back to the leg tracking, which tries again on a
// later tick (a rate budget refills; a stale book comes back).
func (c *Core) sendHedges(g *group) {
	for k := range c.out {
		if c.check(&c.out[k]) == risk.OK {
			c.stats.Hedges++
			c.send(&c.out[k])
		} else {
			c.stats.RiskRefused++
			g.legst.Refused(c.out[k].ClientID)
		}
	}
}

// onTimer runs the periodic work: hedge retries and caps, the P&L check,
// the kill switch's consequences, the status snapshot.
func (c *Core) onTimer() {
	var breaches uint64
	for gi := range c.groups {
		g := &c.groups[gi]
		for k, i := range g.insts {
			if c.books[i] != nil {
				c.books[i].Read(&c.tops[i])
			}
			c.fillBalances(&g.legs[k], i)
		}
		c.out = g.legst.OnTimer(g.legs, c.now, c.nextID, c.out[:0])
		c.sendHedges(g)
		breaches += g.legst.Stats.Breaches
	}
	if breaches > c.arbBreaches {
		c.stats.Breaches += breaches - c.arbBreaches
		c.arbBreaches = breaches
		c.kill.Trigger(risk.Unhedged, "an arbitrage leg could not be hedged within its caps", c.now)
	}
	if c.xemmTimer() {
		c.stats.Breaches++
		c.kill.Trigger(risk.Unhedged, "a cross-exchange market maker's exposure passed its caps", c.now)
	}
	c.drainPending()
	// A venue down too long trips the switch: it is checked on every tick.
	for v := range c.venueSeen {
		if c.venueSeen[v] {
			c.kill.OnVenueState(market.Venue(v), c.venueUp[v], c.now)
		}
	}
	c.stats.PnL = c.totalPnL()
	c.kill.OnPnL(c.stats.PnL, c.now)
	if c.kill.Active() && !c.killed {
		c.killed = true
		c.cancelAll()
	}
	for k := range c.mms {
		g := &c.mms[k]
		if c.books[g.inst] != nil {
			c.books[g.inst].Read(&c.tops[g.inst])
		}
		c.onMM(g) // a stale book pulls quotes even when no event comes
		g.stats.PnL = g.stats.Cash - g.stats.Fees + g.stats.Position*c.markOf(g.inst)
	}
	c.publish()
}

// totalPnL sums the pairs' realised and unrealised P&L in the reporting
// currency (the first instrument's quote, USDT in the demo): a pair quoted
// in another asset (ETH/BTC) is converted at that asset's mark against the
// reporting currency (BTC/USDT); one that cannot be converted is left out.
func (c *Core) totalPnL() float64 {
	report := c.ins[0].Pair.Quote
	var sum float64
	for j := 0; j < c.pos.Pairs(); j++ {
		pp := &c.pos.pairs[j]
		p := c.pos.Pair(j, c.mark(pp.inst))
		v := float64(p.Realised+p.Unrealised) / float64(market.Pow10(p.PriceExp+p.QtyExp))
		if q := pp.inst.Pair.Quote; q != report {
			rate := 0.0
			for k := range c.ins {
				if in := &c.ins[k]; in.Pair.Base == q && in.Pair.Quote == report {
					rate = float64(c.mark(in)) / float64(market.Pow10(in.PriceExp))
					break
				}
			}
			v *= rate
		}
		sum += v
	}
	return sum
}

// rate is the value of one unit of asset in the reporting currency (the
// first instrument's quote): 1 for it, else the mark of asset/reporting,
// 0 when no instrument gives one.
func (c *Core) rate(asset string) float64 {
	report := c.ins[0].Pair.Quote
	if asset == report {
		return 1
	}
	for k := range c.ins {
		if in := &c.ins[k]; in.Pair.Base == asset && in.Pair.Quote == report {
			return float64(c.mark(in)) / float64(market.Pow10(in.PriceExp))
		}
	}
	return 0
}

// mark is the mid of the pair's first venue with a two-sided book.
func (c *Core) mark(in *market.Instrument) market.Price {
	for j := range c.ins {
		if c.ins[j].Pair == in.Pair {
			if t := &c.tops[j]; t.NBids > 0 && t.NAsks > 0 {
				return (t.Bids[0].Price + t.Asks[0].Price) / 2
			}
		}
	}
	return 0
}

// markOf is instrument j's mid in real units (0 without a two-sided
// book).
func (c *Core) markOf(j int) float64 {
	in := &c.ins[j]
	return float64(c.mark(in)) / float64(market.Pow10(in.PriceExp))
}

// fillFlow is a fill's quote cash (+ received) and base (+ received), in
// real units.
func fillFlow(r *market.Report) (cash, base float64) {
	q := float64(r.Qty) / float64(market.Pow10(r.Inst.QtyExp))
	v := float64(r.Price) / float64(market.Pow10(r.Inst.PriceExp)) * q
	if r.Side == market.Buy {
		return -v, q
	}
	return v, -q
}

// feeQuote is a fill's fee in the pair's quote: a fee in the base at the
// fill's price, one in another asset at the marks.
func (c *Core) feeQuote(r *market.Report) float64 {
	if r.Fee == 0 {
		return 0
	}
	f := float64(r.Fee) / float64(market.Pow10(int(r.FeeExp)))
	switch r.FeeAsset {
	case r.Inst.Pair.Quote:
		return f
	case r.Inst.Pair.Base:
		return f * float64(r.Price) / float64(market.Pow10(r.Inst.PriceExp))
	}
	if q := c.rate(r.Inst.Pair.Quote); q > 0 {
		return f * c.rate(r.FeeAsset) / q
	}
	return 0
}

// cancelAll asks every gateway to cancel every open order.
func (c *Core) cancelAll() {
	for v := range c.cfg.Gateways {
		if gw := c.cfg.Gateways[v]; gw != nil {
			in := market.Intent{Action: market.ActCancelAll, Venue: market.Venue(v)}
			if err := gw.Send(&in); err != nil {
				c.stats.SendErrors++
			}
			c.stats.KillCancels++
		}
	}
}

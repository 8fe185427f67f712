package mm

import (
	"arbmm/internal/market"
)

// slotState is where one quote slot's order is.
type slotState uint8

const (
	slotEmpty     slotState = iota
	slotPending             // sent, not yet acknowledged
	slotLive                // resting on the venue
	slotCanceling           // a cancel (or the cancel half of a replace) is out
)

// slot is one layer of one side: the order resting there, if any.
type slot struct {
	state slotState
	id    market.ClientID
	price market.Price
	qty   market.Qty
	next  market.ClientID // the replacing order's id while a replace is out
}

// Manager keeps the quotes resting on a venue in step with the ladder the
// Quoter wants, the way a venue will not punish: a quote moves only when
// the wanted price is more than RefreshTicks away (or its size changed),
// moving is one cancel-replace request where the venue has one (Binance
// order.cancelReplace) or a cancel and a new order, every new quote is
// post-only (LimitMaker), an order waiting for its acknowledgement is left
// alone, and no more new orders and replaces go out at once than the
// caller's rate budget allows (the top layers first). Cancels are not
// rate-limited: a quote the market moved away from (a bid above the
// wanted one, an ask below) that has no budget to move is canceled rather
// than left to be picked off, one it moved toward stays until the budget
// allows, and pulled quotes are all canceled. Owned by
// the engine goroutine; no allocation.
type Manager struct {
	inst       *market.Instrument
	refresh    market.Price // ticks × tick
	replace    bool         // the venue has cancel-replace
	bids, asks [MaxLayers]slot
	Stats      ManagerStats
}

// ManagerStats count what the manager sent.
type ManagerStats struct {
	News, Replaces, Cancels, Skipped, Fills uint64
}

// NewManager manages quotes of inst, refreshing beyond refreshTicks ticks;
// replace says the venue has a cancel-replace request.
func NewManager(inst *market.Instrument, refreshTicks int, replace bool) *Manager {
	return &Manager{inst: inst, refresh: market.Price(refreshTicks) * inst.TickOr1(), replace: replace}
}

// Update appends to dst the intents that move the resting quotes toward
// the ladder (or, with pulled, cancel them all), with at most budget new
// orders and replaces among them (cancels always go). newID supplies
// client ids.
func (m *Manager) Update(l *Ladder, pulled bool, budget int, newID func() market.ClientID, dst []market.Intent) []market.Intent {
	if pulled {
		for s := market.Bid; s <= market.Ask; s++ {
			sl := m.side(s)
			for i := range sl {
				if sl[i].state == slotLive {
					dst = m.cancel(&sl[i], dst)
				}
			}
		}
		return dst
	}
	// Cancels of layers the ladder no longer has go first: they free the
	// venue's open-order slots.
	for s := market.Bid; s <= market.Ask; s++ {
		sl, n, _ := m.want(l, s)
		for i := n; i < MaxLayers; i++ {
			if sl[i].state == slotLive {
				dst = m.cancel(&sl[i], dst)
			}
		}
	}
	// Then layer by layer from the top, bids and asks alternating.
	for i := 0; i < MaxLayers; i++ {
		for s := market.Bid; s <= market.Ask; s++ {
			sl, n, lv := m.want(l, s)
			if i >= n {
				continue
			}
			w := lv[i]
			cur := &sl[i]
			switch cur.state {
			case slotEmpty:
				if budget <= 0 {
					m.Stats.Skipped++
					continue
				}
				id := newID()
				*cur = slot{state: slotPending, id: id, price: w.Price, qty: w.Qty}
				dst = append(dst, m.intent(market.ActNew, s, w, id, 0))
				m.Stats.News++
				budget--
			case slotLive:
				d := w.Price - cur.price
				if d < 0 {
					d = -d
				}
				if d <= m.refresh && w.Qty == cur.qty {
					continue // close enough: no churn
				}
				if m.replace && budget > 0 {
					id := newID()
					dst = append(dst, m.intent(market.ActReplace, s, w, cur.id, id))
					cur.state, cur.next, cur.price, cur.qty = slotCanceling, id, w.Price, w.Qty
					m.Stats.Replaces++
					budget--
					continue
				}
				if budget <= 0 {
					// No budget to move it: leave a quote the market moved
					// toward (less aggressive than wanted); cancel one it
					// moved away from, before it is picked off.
					m.Stats.Skipped++
					if s == market.Bid && cur.price <= w.Price || s == market.Ask && cur.price >= w.Price {
						continue
					}
				}
				dst = m.cancel(cur, dst) // the new one goes once the slot is free and the budget allows
			}
		}
	}
	return dst
}

func (m *Manager) side(s market.Side) *[MaxLayers]slot {
	if s == market.Bid {
		return &m.bids
	}
	return &m.asks
}

// want returns a side's slots, how many layers the ladder wants there and
// their levels.
func (m *Manager) want(l *Ladder, s market.Side) (*[MaxLayers]slot, int, *[MaxLayers]Level) {
	if s == market.Bid {
		return &m.bids, l.NBids, &l.Bids
	}
	return &m.asks, l.NAsks, &l.Asks
}

func (m *Manager) cancel(sl *slot, dst []market.Intent) []market.Intent {
	sl.state = slotCanceling
	m.Stats.Cancels++
	return append(dst, market.Intent{Action: market.ActCancel, Venue: m.inst.Venue, Inst: m.inst, ClientID: sl.id})
}

func (m *Manager) intent(a market.Action, s market.Side, w Level, id, newID market.ClientID) market.Intent {
	return market.Intent{Action: a, Venue: m.inst.Venue, Inst: m.inst, Side: s, Type: market.LimitMaker, TIF: market.GTC,
		Price: w.Price, Qty: w.Qty, ClientID: id, NewID: newID}
}

// OnReport moves the slot of the report's order: acknowledged → live;
// filled, canceled, expired or rejected → empty (a replace's new order
// takes the slot when it is acknowledged). It reports whether the order
// was one of the manager's and whether the report is a fill.
func (m *Manager) OnReport(r *market.Report) (ours, fill bool) {
	for s := market.Bid; s <= market.Ask; s++ {
		sl := m.side(s)
		for i := range sl {
			cur := &sl[i]
			switch {
			case cur.state != slotEmpty && r.ClientID == cur.id:
				ours = true
				fill = r.Kind == market.ReportFill
				if fill {
					m.Stats.Fills++
				}
				final := r.Status.Final() || r.Kind == market.ReportCanceled || r.Kind == market.ReportExpired ||
					r.Kind == market.ReportReject && r.Req != market.ActCancel && r.Req != market.ActReplace
				switch {
				case final && cur.next != 0:
					cur.id, cur.next, cur.state = cur.next, 0, slotPending // the replacement takes over
				case final:
					*cur = slot{}
				case r.Kind == market.ReportAck && cur.state == slotPending:
					cur.state = slotLive
				case r.Kind == market.ReportReject: // a refused cancel: the order still rests
					cur.state, cur.next = slotLive, 0
				}
				return ours, fill
			case cur.next != 0 && r.ClientID == cur.next:
				ours = true
				fill = r.Kind == market.ReportFill
				if fill {
					m.Stats.Fills++
				}
				switch {
				case r.Status.Final() || r.Kind == market.ReportReject || r.Kind == market.ReportExpired:
					cur.next = 0 // the replacement failed; the old order's fate comes in its own report
				case r.Kind == market.ReportAck:
					cur.id, cur.next, cur.state = cur.next, 0, slotLive
				}
				return ours, fill
			}
		}
	}
	return false, false
}

// Resting counts the quotes live or on their way, per side.
func (m *Manager) Resting() (bids, asks int) {
	for i := range m.bids {
		if m.bids[i].state != slotEmpty {
			bids++
		}
		if m.asks[i].state != slotEmpty {
			asks++
		}
	}
	return bids, asks
}

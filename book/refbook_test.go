package book

import (
	"slices"

	"arbmm/internal/market"
)

// refBook is the naive reference the optimised Book is checked against:
// maps of price to quantity, sorted on demand, with the same capacity rules
// stated plainly (a full side drops a level worse than all it holds, and
// evicts its worst level for a better one).
type refBook struct {
	max   int
	sides [2]map[market.Price]market.Qty
}

func newRefBook(max int) *refBook {
	return &refBook{max: max, sides: [2]map[market.Price]market.Qty{{}, {}}}
}

// better reports whether a is a better price than b on side s.
func better(s market.Side, a, b market.Price) bool {
	if s == market.Bid {
		return a > b
	}
	return a < b
}

func (r *refBook) levels(s market.Side) []Level {
	var out []Level
	for p, q := range r.sides[s] {
		out = append(out, Level{p, q})
	}
	slices.SortFunc(out, func(a, b Level) int {
		if better(s, a.Price, b.Price) {
			return -1
		}
		return 1
	})
	return out
}

func (r *refBook) set(s market.Side, p market.Price, q market.Qty) {
	m := r.sides[s]
	if q == 0 {
		delete(m, p)
		return
	}
	if _, ok := m[p]; ok {
		m[p] = q
		return
	}
	if len(m) >= r.max {
		lv := r.levels(s)
		worst := lv[len(lv)-1].Price
		if !better(s, p, worst) {
			return
		}
		delete(m, worst)
	}
	m[p] = q
}

func (r *refBook) truncate(depth int) {
	for s := market.Bid; s <= market.Ask; s++ {
		lv := r.levels(s)
		for _, l := range lv[min(depth, len(lv)):] {
			delete(r.sides[s], l.Price)
		}
	}
}

func (r *refBook) clear() { r.sides = [2]map[market.Price]market.Qty{{}, {}} }

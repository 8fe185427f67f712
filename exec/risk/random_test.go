package risk

import (
	"math/big"
	"math/rand/v2"
	"testing"
	"time"

	"arbmm/book"
	"arbmm/internal/market"
)

// refLimits are the limits of one instrument as the reference reads them:
// straight from the config's decimal text into exact rationals, without the
// package's parsing or mantissa arithmetic.
type refLimits struct {
	maxQty, maxNotional, maxPos, maxTotal *big.Rat
	band, feeBps                          *big.Rat
	maxOpen                               int
	stale                                 int64
	rate                                  float64
	burst                                 int
}

func rat(s string) *big.Rat {
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		panic("bad rational " + s)
	}
	return r
}

// dec is mantissa m at exponent e as an exact rational.
func dec(m int64, e int) *big.Rat {
	return new(big.Rat).SetFrac(big.NewInt(m), new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(e)), nil))
}

func ratAbs(r *big.Rat) *big.Rat { return new(big.Rat).Abs(r) }

// refAllows is the slow reference: every configured limit, stated as the
// trader would state it, in exact arithmetic. It reports the first limit
// the order breaks, or "" when it breaks none. accepted holds the times of
// the orders already accepted on the instrument (for the rate).
func refAllows(in *market.Intent, v *View, now int64, inst *market.Instrument, l *refLimits, killed bool, accepted []int64) string {
	if killed {
		return "kill"
	}
	if v.Book != book.Live {
		return "book"
	}
	if v.BookAge > l.stale {
		return "stale"
	}
	if in.Qty <= 0 || in.Price <= 0 {
		return "positive"
	}
	price, qty := dec(int64(in.Price), inst.PriceExp), dec(int64(in.Qty), inst.QtyExp)
	isInt := func(r *big.Rat) bool { return r.IsInt() }
	if in.Type != market.Market && !isInt(new(big.Rat).Quo(price, dec(int64(inst.TickOr1()), inst.PriceExp))) {
		return "tick"
	}
	if !isInt(new(big.Rat).Quo(qty, dec(int64(inst.StepOr1()), inst.QtyExp))) {
		return "step"
	}
	if qty.Cmp(dec(int64(inst.MinQty), inst.QtyExp)) < 0 {
		return "minqty"
	}
	if qty.Cmp(l.maxQty) > 0 {
		return "maxqty"
	}
	notional := new(big.Rat).Mul(price, qty)
	if notional.Cmp(l.maxNotional) > 0 {
		return "maxnotional"
	}
	if notional.Cmp(dec(int64(inst.MinNotional), inst.PriceExp)) < 0 {
		return "minnotional"
	}
	if v.RefPrice <= 0 {
		return "ref"
	}
	ref := dec(int64(v.RefPrice), inst.PriceExp)
	dev := new(big.Rat).Quo(ratAbs(new(big.Rat).Sub(price, ref)), ref)
	if dev.Cmp(new(big.Rat).Quo(l.band, rat("10000"))) > 0 {
		return "band"
	}
	signed := new(big.Rat).Set(qty)
	if in.Side == market.Sell {
		signed.Neg(signed)
	}
	for _, p := range []struct {
		pos market.Qty
		max *big.Rat
		nm  string
	}{{v.Position, l.maxPos, "pos"}, {v.TotalPosition, l.maxTotal, "total"}} {
		before := dec(int64(p.pos), inst.QtyExp)
		after := new(big.Rat).Add(before, signed)
		if ratAbs(after).Cmp(p.max) > 0 && ratAbs(after).Cmp(ratAbs(before)) >= 0 {
			return p.nm
		}
	}
	if in.Side == market.Buy {
		fee := new(big.Rat).Mul(notional, new(big.Rat).Quo(l.feeBps, rat("10000")))
		if new(big.Rat).Add(notional, fee).Cmp(dec(int64(v.FreeQuote), inst.PriceExp)) > 0 {
			return "quote"
		}
	} else if qty.Cmp(dec(int64(v.FreeBase), inst.QtyExp)) > 0 {
		return "base"
	}
	if v.OpenOrders+1 > l.maxOpen {
		return "open"
	}
	// The rate: with this order, no span of accepted orders holds more
	// than burst plus the rate times the span's length (spans of up to the
	// last 100 orders: ten seconds at 10/s).
	for i := max(0, len(accepted)-100); i < len(accepted); i++ {
		n := len(accepted) - i + 1
		span := float64(now-accepted[i]) / 1e9
		if float64(n) > float64(l.burst)+span*l.rate+1e-9 {
			return "rate"
		}
	}
	return ""
}

// TestRandomNoViolation generates random intents and views around the
// limits and checks that every intent Check accepts keeps every configured
// limit by the reference; and that Check refuses nothing the reference
// allows, except by rounding a buy's quote need up (Balance) or by the
// rate's interval rounding.
func TestRandomNoViolation(t *testing.T) {
	// Binance's minimum notional raised to 20.00 so that orders of a few
	// steps fall below it.
	ins := testInstruments()
	ins[0].MinNotional = 2000
	c, err := New(testConfig(t), ins)
	if err != nil {
		t.Fatal(err)
	}
	refs := []refLimits{{
		maxQty: rat("0.5"), maxNotional: rat("30000"), maxPos: rat("1"), maxTotal: rat("1.5"),
		band: rat("50"), feeBps: rat("10"), maxOpen: 4, stale: int64(2 * time.Second), rate: 10, burst: 3,
	}, {
		maxQty: rat("0.25"), maxNotional: rat("30000"), maxPos: rat("1"), maxTotal: rat("1.5"),
		band: rat("50"), feeBps: rat("30"), maxOpen: 4, stale: int64(2 * time.Second), rate: 10, burst: 3,
	}}
	rng := rand.New(rand.NewPCG(1, 2))
	accepted := make([][]int64, len(ins))
	now := int64(1_800_000_000e9)
	var got [numVerdicts]int
	const n = 200_000
	for i := 0; i < n; i++ {
		now += rng.Int64N(int64(30 * time.Millisecond))
		if rng.IntN(500) == 0 {
			c.Kill().Trigger(Operator, "random", now)
		} else if rng.IntN(50) == 0 {
			c.Kill().Reset()
		}
		k := rng.IntN(len(ins))
		inst := &ins[k]
		// Around 60000 ± 1%, on or off the tick; sizes around the limits.
		refP := int64(6_000_000) + rng.Int64N(1000)
		if inst.PriceExp == 1 {
			refP /= 10
		}
		pick := func(a, b int64) int64 { return a + rng.Int64N(b-a+1) }
		price := refP + refP*pick(-60, 60)/10000
		if rng.IntN(4) > 0 {
			price -= price % int64(inst.TickOr1())
		}
		scale := market.Pow10(inst.QtyExp) // 1 BTC
		qty := pick(-scale/100, scale*6/10)
		if rng.IntN(4) > 0 {
			qty -= qty % int64(inst.StepOr1())
		}
		if rng.IntN(20) == 0 {
			qty = pick(0, 50) * int64(inst.StepOr1()) // near the minimums
		}
		in := market.Intent{
			Action: market.ActNew, Venue: inst.Venue, Inst: inst,
			Side: market.Side(rng.IntN(2)), Type: market.OrderType(rng.IntN(3)), TIF: market.TIF(rng.IntN(3)),
			Price: market.Price(price), Qty: market.Qty(qty),
		}
		if rng.IntN(30) == 0 {
			in.Price = market.Price(pick(-1, 0))
		}
		notional := max(price*qty/scale, 0)
		v := View{
			Book:          []book.State{book.Live, book.Live, book.Live, book.Live, book.Live, book.Live, book.Syncing, book.Stale}[rng.IntN(8)],
			BookAge:       pick(0, int64(2200*time.Millisecond)),
			RefPrice:      market.Price(refP),
			FreeBase:      market.Qty(pick(0, scale)),
			FreeQuote:     market.Price(pick(notional*99/100, notional*102/100+10)),
			Position:      market.Qty(pick(-scale*12/10, scale*12/10)),
			TotalPosition: market.Qty(pick(-scale*17/10, scale*17/10)),
			OpenOrders:    int(pick(0, 5)),
		}
		if rng.IntN(50) == 0 {
			v.RefPrice = 0
		}
		killed := c.Kill().Active()
		want := refAllows(&in, &v, now, inst, &refs[k], killed, accepted[k])
		verdict := c.Check(&in, &v, now)
		got[verdict]++
		if verdict == OK {
			if want != "" {
				t.Fatalf("#%d accepted %+v with view %+v at %d, but it breaks %s", i, in, v, now, want)
			}
			accepted[k] = append(accepted[k], now)
			continue
		}
		if want == "" && verdict != Balance && verdict != RateLimit {
			t.Fatalf("#%d refused %+v with view %+v as %s, but the reference allows it", i, in, v, verdict)
		}
	}
	// The test is not vacuous: orders pass, and every limit refuses some.
	for vd := Verdict(0); vd < numVerdicts; vd++ {
		switch vd {
		case UnknownInstrument, BadIntent:
			continue
		}
		if got[vd] == 0 {
			t.Errorf("verdict %s never produced in %d random checks", vd, n)
		}
	}
	if got[OK] < n/50 {
		t.Errorf("only %d of %d accepted", got[OK], n)
	}
	t.Logf("verdicts: %v", got)
}

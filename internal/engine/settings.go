package engine

import (
	"fmt"

	"arbmm/arb"
	"arbmm/internal/config"
	"arbmm/internal/cpu"
	"arbmm/internal/market"
	"arbmm/mm"
)

// TriSettings adds the triangular arbitrages of the tri sections.
func TriSettings(tris []config.TriConfig, ins []market.Instrument, dst *Config) error {
	for k, tc := range tris {
		v, err := market.ParseVenue(tc.Venue)
		if err != nil {
			return fmt.Errorf("tri[%d].venue: %w", k, err)
		}
		if len(tc.Pairs) != 3 {
			return fmt.Errorf("tri[%d].pairs: want three pairs, A/Q, B/A, B/Q", k)
		}
		var ts TriSetup
		for i, ps := range tc.Pairs {
			p, err := market.ParsePair(ps)
			if err != nil {
				return fmt.Errorf("tri[%d].pairs[%d]: %w", k, i, err)
			}
			ts.Insts[i] = -1
			for j := range ins {
				if ins[j].Venue == v && ins[j].Pair == p {
					ts.Insts[i] = j
				}
			}
			if ts.Insts[i] < 0 {
				return fmt.Errorf("tri[%d].pairs[%d]: %s does not list %s", k, i, v, p)
			}
		}
		b := &ins[ts.Insts[2]]
		q, err := market.ParseFixed([]byte(tc.MaxQty), b.QtyExp)
		if err != nil || q <= 0 {
			return fmt.Errorf("tri[%d].max_qty: %q: want a positive quantity of %s", k, tc.MaxQty, b.Pair.Base)
		}
		ts.Cfg = arb.TriConfig{MinProfitBps: tc.MinProfitBps, SafetyMarginBps: tc.SafetyMarginBps, MaxQty: market.Qty(q)}
		dst.Tri = append(dst.Tri, ts)
	}
	return nil
}

// Settings fills the strategy and threading parts of an engine Config from
// the YAML sections (arb, engine) for the given instruments: quantities and
// notionals parsed exactly at the pairs' decimals.
func Settings(a *config.ArbConfig, e config.EngineConfig, ins []market.Instrument, dst *Config) error {
	if a == nil {
		return fmt.Errorf("engine: the config has no arb section")
	}
	if len(ins) == 0 {
		return fmt.Errorf("engine: no instruments")
	}
	dst.Idle = cpu.Park
	if e.Idle != "" {
		idle, err := cpu.ParseIdle(e.Idle)
		if err != nil {
			return fmt.Errorf("engine.idle: %w", err)
		}
		dst.Idle = idle
	}
	dst.CPU = -1
	if e.CPU != nil {
		dst.CPU = *e.CPU
	}
	dst.MaxOrderQty = map[string]market.Qty{}
	for pair, text := range a.MaxOrderQty {
		p, err := market.ParsePair(pair)
		if err != nil {
			return fmt.Errorf("arb.max_order_qty: %w", err)
		}
		found := false
		for _, in := range ins {
			if in.Pair == p {
				q, err := market.ParseFixed([]byte(text), in.QtyExp)
				if err != nil || q <= 0 {
					return fmt.Errorf("arb.max_order_qty.%s: %q: want a positive quantity with at most %d decimals", pair, text, in.QtyExp)
				}
				dst.MaxOrderQty[p.String()] = market.Qty(q)
				found = true
				break
			}
		}
		if !found {
			return fmt.Errorf("arb.max_order_qty.%s: no instrument trades it", pair)
		}
	}
	first := ins[0]
	unhedged, err := market.ParseFixed([]byte(a.MaxUnhedgedNotional), first.PriceExp+first.QtyExp)
	if err != nil || unhedged <= 0 {
		return fmt.Errorf("arb.max_unhedged_notional: %q: want a positive quote amount", a.MaxUnhedgedNotional)
	}
	dst.Cross = arb.CrossConfig{MinProfitBps: a.MinProfitBps, SafetyMarginBps: a.SafetyMarginBps, Levels: a.Levels, MaxOrderQty: 1}
	dst.Legs = arb.LegsConfig{MaxHedgeSlippageBps: a.MaxHedgeSlippageBps, MaxUnhedgedNotional: unhedged, MaxUnhedgedTime: int64(a.MaxUnhedgedTime)}
	return nil
}

// MMSettings adds the market makers of the mm sections.
func MMSettings(mms []config.MMConfig, ins []market.Instrument, dst *Config) error {
	for k, mc := range mms {
		v, err := market.ParseVenue(mc.Venue)
		if err != nil {
			return fmt.Errorf("mm[%d].venue: %w", k, err)
		}
		p, err := market.ParsePair(mc.Pair)
		if err != nil {
			return fmt.Errorf("mm[%d].pair: %w", k, err)
		}
		idx := -1
		for j := range ins {
			if ins[j].Venue == v && ins[j].Pair == p {
				idx = j
			}
		}
		if idx < 0 {
			return fmt.Errorf("mm[%d]: %s does not list %s", k, v, p)
		}
		in := &ins[idx]
		dec := func(field, text string, required bool) (float64, error) {
			if text == "" && !required {
				return 0, nil
			}
			q, err := market.ParseFixed([]byte(text), in.QtyExp)
			if err != nil {
				return 0, fmt.Errorf("mm[%d].%s: %q: %w", k, field, text, err)
			}
			return float64(q) / float64(market.Pow10(in.QtyExp)), nil
		}
		qmax, err := dec("q_max", mc.QMax, true)
		if err != nil {
			return err
		}
		target, err := dec("target_inventory", mc.TargetInventory, false)
		if err != nil {
			return err
		}
		lq, err := market.ParseFixed([]byte(mc.LayerQty), in.QtyExp)
		if err != nil {
			return fmt.Errorf("mm[%d].layer_qty: %q: %w", k, mc.LayerQty, err)
		}
		qc := mm.QuoterConfig{Gamma: mc.Gamma, HorizonSec: mc.HorizonSec, QMax: qmax, TargetInventory: target,
			Sigma2Prior: mc.Sigma2Prior, KPrior: mc.KPrior, MinSpreadBps: mc.MinSpreadBps, Layers: mc.Layers,
			LayerSpacingBps: mc.LayerSpacingBps, LayerQty: []market.Qty{market.Qty(lq)}, StaleAfterNs: int64(mc.StaleAfter)}
		setup := MMSetup{Inst: idx, RefreshTicks: mc.RefreshTicks}
		switch mc.Fair {
		case "", "microprice":
			qc.Fair = mm.Microprice
		case "mid":
			qc.Fair = mm.Mid
		case "signal":
			qc.Fair, setup.Signal = mm.Reference, true
		default:
			return fmt.Errorf("mm[%d].fair: %q: want microprice, mid or signal", k, mc.Fair)
		}
		setup.Quoter = qc
		dst.MM = append(dst.MM, setup)
	}
	return nil
}

// XEMMSettings adds the cross-exchange market makers of the xemm sections.
func XEMMSettings(xs []config.XEMMConfig, ins []market.Instrument, dst *Config) error {
	for k, xc := range xs {
		p, err := market.ParsePair(xc.Pair)
		if err != nil {
			return fmt.Errorf("xemm[%d].pair: %w", k, err)
		}
		find := func(field, venue string) (int, error) {
			v, err := market.ParseVenue(venue)
			if err != nil {
				return -1, fmt.Errorf("xemm[%d].%s: %w", k, field, err)
			}
			for j := range ins {
				if ins[j].Venue == v && ins[j].Pair == p {
					return j, nil
				}
			}
			return -1, fmt.Errorf("xemm[%d].%s: %s does not list %s", k, field, v, p)
		}
		a, err := find("quote_venue", xc.QuoteVenue)
		if err != nil {
			return err
		}
		b, err := find("hedge_venue", xc.HedgeVenue)
		if err != nil {
			return err
		}
		qexp := ins[a].QtyExp
		qty, err := market.ParseFixed([]byte(xc.Qty), qexp)
		if err != nil || qty <= 0 {
			return fmt.Errorf("xemm[%d].qty: %q: want a positive quantity with at most %d decimals", k, xc.Qty, qexp)
		}
		maxq, err := market.ParseFixed([]byte(xc.MaxUnhedgedQty), qexp)
		if err != nil || maxq <= 0 {
			return fmt.Errorf("xemm[%d].max_unhedged_qty: %q: want a positive quantity with at most %d decimals", k, xc.MaxUnhedgedQty, qexp)
		}
		if xc.MaxUnhedgedTime <= 0 {
			return fmt.Errorf("xemm[%d].max_unhedged_time: want a positive duration", k)
		}
		dst.XEMM = append(dst.XEMM, XEMMSetup{Quote: a, Hedge: b, RefreshTicks: xc.RefreshTicks, Cfg: mm.XConfig{
			MinProfitBps: xc.MinProfitBps, Qty: market.Qty(qty), HedgeSlippageBps: xc.HedgeSlippageBps,
			MaxUnhedgedQty: market.Qty(maxq), MaxUnhedgedNs: int64(xc.MaxUnhedgedTime)}})
	}
	return nil
}

package kraken

import (
	"bytes"
	"encoding/json"
	"testing"

	"arbmm/internal/market"
)

// restSeeds are REST answers as Kraken documents them and as the simulated
// venue sends them.
var restSeeds = []string{
	`{"error":[],"result":{"descr":{"order":"buy 1.25000000 XBTUSD @ limit 27500.0"},"txid":["OU22CG-KLAF2-FWUDD7"]}}`,
	`{"error":["EOrder:Insufficient funds"]}`,
	`{"error":["EAPI:Invalid nonce"],"result":{}}`,
	`{"error":[],"result":{"OQCLML-BW3P3-BUCMWZ":{"refid":null,"userref":0,"cl_ord_id":"x0000000000000001","status":"closed","opentm":1688666559.8974,"closetm":1688666559.9,"starttm":0,"expiretm":0,"descr":{"pair":"XBTUSD","type":"buy","ordertype":"limit","price":"30010.0","price2":"0","leverage":"none","order":"buy 0.10000000 XBTUSD @ limit 30010.0","close":""},"vol":"0.10000000","vol_exec":"0.10000000","cost":"3001.0","fee":"7.8026","price":"30010.0","stopprice":"0.00000","limitprice":"0.00000","misc":"","oflags":"fciq","trades":["TCCCTY-WE2O6-P3NB37"]}}}`,
	`{"error":[],"result":{"open":{}}}`,
	`{"error":[],"result":{"token":"1Dwc4lzSwNWOAwkMdqhssNNFhs1ed606d1WcF3XfEMw","expires":900}}`,
	`{"error":[],"result":{"count":3}}`,
	`{"error":[],"result":{"unixtime":1688669448,"rfc1123":"Thu, 06 Jul 23 18:50:48 +0000"}}`,
}

// FuzzRESTAnswer feeds arbitrary bytes to the REST answer decoders: they
// never panic, and the envelope agrees with encoding/json on the first
// error text and on whether a result is present.
func FuzzRESTAnswer(f *testing.F) {
	for _, s := range restSeeds {
		f.Add([]byte(s))
	}
	in := &market.Instrument{Venue: market.Kraken, Symbol: "BTC/USD", Pair: market.Pair{Base: "BTC", Quote: "USD"}, PriceExp: 1, QtyExp: 8, Tick: 1, Step: 1}
	d := NewDecoder([]*market.Instrument{in})
	f.Fuzz(func(t *testing.T, body []byte) {
		errText, pos, err := d.restEnvelope(body)
		var ref struct {
			Error  []json.RawMessage `json:"error"`
			Result json.RawMessage   `json:"result"`
		}
		var top map[string]json.RawMessage
		if err == nil && json.Unmarshal(body, &top) == nil && json.Unmarshal(body, &ref) == nil && uniqueKeys(body) {
			want := ""
			if len(ref.Error) > 0 {
				var s string
				if json.Unmarshal(ref.Error[0], &s) == nil {
					want = s
				}
			}
			if errText != want {
				t.Fatalf("%q: error text %q, encoding/json %q", body, errText, want)
			}
			if _, has := top["result"]; has != (pos >= 0) {
				t.Fatalf("%q: result at %d, encoding/json says present=%v", body, pos, has)
			}
		}
		if err != nil || pos < 0 {
			return
		}
		var oid market.VenueOrderID
		_ = d.addOrderResult(body, pos, &oid)
		_ = d.orderInfos(body, pos, in, 1, func(r *market.Report) {
			if r.Inst != in || r.Kind != market.ReportStatus {
				t.Fatalf("%q: report %+v", body, r)
			}
		})
		_, _ = d.tokenResult(body, pos)
		_, _ = d.intResult(body, pos, "count")
	})
}

// uniqueKeys reports whether body's top-level object has no duplicate
// keys (encoding/json keeps the last, the decoder the first error).
func uniqueKeys(body []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(body))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return false
	}
	seen := map[string]bool{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return false
		}
		k, _ := t.(string)
		if seen[k] {
			return false
		}
		seen[k] = true
		var skip json.RawMessage
		if dec.Decode(&skip) != nil {
			return false
		}
	}
	return true
}

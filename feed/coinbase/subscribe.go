package coinbase

import "unicode/utf8"

// Channel names to subscribe to. Level2 frames arrive on the wire as
// channel "l2_data".
const (
	ChannelLevel2     = "level2"
	ChannelHeartbeats = "heartbeats"
)

// URL is the Advanced Trade market-data websocket endpoint.
const URL = "wss://advanced-trade-ws.coinbase.com"

// AppendSubscribe appends the subscribe request for channel and products to
// dst, in Coinbase's form:
//
//	{"type":"subscribe","product_ids":["BTC-USD","ETH-USD"],"channel":"level2"}
//
// A connection subscribes ChannelLevel2 for its products and
// ChannelHeartbeats (whose frames keep a quiet connection's sequence_num
// moving). product_ids is left out when products is empty. Public channels
// need no JWT. Cold path.
func AppendSubscribe(dst []byte, products []string, channel string) []byte {
	return appendRequest(dst, "subscribe", products, channel)
}

// AppendUnsubscribe appends the matching unsubscribe request; with
// AppendSubscribe it resubscribes the products TakeResyncs returns, so that
// Coinbase sends them a fresh snapshot.
func AppendUnsubscribe(dst []byte, products []string, channel string) []byte {
	return appendRequest(dst, "unsubscribe", products, channel)
}

func appendRequest(dst []byte, typ string, products []string, channel string) []byte {
	dst = append(dst, `{"type":"`...)
	dst = append(dst, typ...)
	dst = append(dst, '"')
	if len(products) > 0 {
		dst = append(dst, `,"product_ids":[`...)
		for i, p := range products {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendJSONString(dst, p)
		}
		dst = append(dst, ']')
	}
	dst = append(dst, `,"channel":`...)
	dst = appendJSONString(dst, channel)
	return append(dst, '}')
}

// appendJSONString appends s as a JSON string, escaping quotes,
// backslashes and control characters, and replacing invalid UTF-8 with
// U+FFFD.
func appendJSONString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			dst = append(dst, '\\', c)
		case c < 0x20:
			dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		case c < utf8.RuneSelf:
			dst = append(dst, c)
		default:
			r, n := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && n == 1 {
				dst = append(dst, "\ufffd"...)
			} else {
				dst = append(dst, s[i:i+n]...)
			}
			i += n
			continue
		}
		i++
	}
	return append(dst, '"')
}

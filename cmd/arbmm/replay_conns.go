package main

import (
	"encoding/json"
	"errors"
	"io"
	"net/url"

	"arbmm/internal/capture"
	"arbmm/internal/market"
)

// resolveConnNames maps the connection names some recorders write on recv
// records ("BYBIT.ws.2") to the websocket URLs of the capture's open and
// send records, so that replay knows which endpoint (Bybit spot or linear)
// a connection was. A name whose venue has one URL in the capture takes
// it; otherwise it takes the one URL on which every topic it received was
// subscribed, repeating as matches remove candidates. Names left ambiguous
// are absent from the result. Cold path: it reads the file once more.
func resolveConnNames(path string) map[string]string {
	r, err := capture.Open(path)
	if err != nil {
		return nil
	}
	defer r.Close()
	urls := map[market.Venue][]string{}        // venue → URLs opened
	subscribed := map[string]map[string]bool{} // URL → topics subscribed
	received := map[string]map[string]bool{}   // name → topics received
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) || err != nil {
			break
		}
		switch rec.Kind {
		case capture.KindOpen:
			if v, _ := venueOfURL(rec.Conn); v != market.VenueUnknown && isURL(rec.Conn) {
				urls[v] = appendNew(urls[v], rec.Conn)
			}
		case capture.KindSend:
			var req struct {
				Args []json.RawMessage `json:"args"`
			}
			if json.Unmarshal(rec.Data, &req) != nil {
				continue
			}
			for _, a := range req.Args {
				var topic string
				if json.Unmarshal(a, &topic) == nil {
					addTopic(subscribed, rec.Conn, topic)
				}
			}
		case capture.KindRecv:
			if isURL(rec.Conn) {
				continue
			}
			var fr struct {
				Topic string `json:"topic"`
			}
			_ = json.Unmarshal(rec.Data, &fr)
			addTopic(received, rec.Conn, fr.Topic)
		}
	}
	out := map[string]string{}
	cands := map[string][]string{}
	for name, topics := range received {
		v, _ := venueOfURL(name)
		if len(urls[v]) == 1 {
			out[name] = urls[v][0]
			continue
		}
		for _, u := range urls[v] {
			all := true
			for t := range topics {
				all = all && (t == "" || subscribed[u][t])
			}
			if all {
				cands[name] = append(cands[name], u)
			}
		}
	}
	for progress := true; progress; {
		progress = false
		for name, us := range cands {
			if len(us) != 1 {
				continue
			}
			out[name] = us[0]
			delete(cands, name)
			for other := range cands {
				cands[other] = removeString(cands[other], us[0])
			}
			progress = true
		}
	}
	return out
}

func isURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && u.Host != ""
}

func addTopic(m map[string]map[string]bool, key, topic string) {
	if m[key] == nil {
		m[key] = map[string]bool{}
	}
	m[key][topic] = true
}

func appendNew(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}

func removeString(list []string, s string) []string {
	out := list[:0]
	for _, x := range list {
		if x != s {
			out = append(out, x)
		}
	}
	return out
}

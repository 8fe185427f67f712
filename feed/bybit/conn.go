package bybit

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"

	"arbmm/book"
	"arbmm/feed"
)

// DefaultSessionDepth is the orderbook depth a SessionConfig without one
// subscribes to.
const DefaultSessionDepth = 200

// maxArgsPerRequest is how many topics one subscribe request carries: Bybit
// spot refuses more than 10 args per request.
const maxArgsPerRequest = 10

// SessionConfig says what a Session subscribes to on its connection.
type SessionConfig struct {
	// Symbols are the venue symbols ("BTCUSDT") of the Feed's category to
	// subscribe to. Required.
	Symbols []string
	// Depth is the orderbook depth: 1, 50, 200, 500 (linear only) or 1000.
	// Default DefaultSessionDepth.
	Depth int
}

// Validate fills in defaults and reports the first invalid setting.
func (c *SessionConfig) Validate() error {
	if len(c.Symbols) == 0 {
		return errors.New("bybit: SessionConfig.Symbols is empty")
	}
	if c.Depth == 0 {
		c.Depth = DefaultSessionDepth
	}
	switch c.Depth {
	case 1, 50, 200, 500, 1000:
	default:
		return fmt.Errorf("bybit: SessionConfig.Depth %d: want 1, 50, 200, 500 or 1000", c.Depth)
	}
	seen := map[string]bool{}
	for _, s := range c.Symbols {
		u := strings.ToUpper(s)
		if u == "" || strings.ContainsAny(u, "\".\\ ") {
			return fmt.Errorf("bybit: SessionConfig.Symbols: bad symbol %q", s)
		}
		if seen[u] {
			return fmt.Errorf("bybit: SessionConfig.Symbols: %q twice", s)
		}
		seen[u] = true
	}
	return nil
}

// Session adapts a Feed to a feed.Conn: it subscribes the configured
// orderbook topics on every (re)connect, sends Bybit's application ping,
// hands frames to the Feed, resubscribes a topic on the live connection
// when the Feed asks for a resync (Bybit answers with a snapshot), and
// marks every book Stale when the connection is lost.
//
// All methods but Resubscribes are called from the Conn's Run goroutine,
// which owns the Feed.
type Session struct {
	// Conn is the connection the Session serves, set by the caller after
	// feed.NewConn and before Run; resubscribes are sent on it.
	Conn *feed.Conn

	f      *Feed
	topics []string
	subs   [][]byte // subscribe requests, built once
	ping   []byte
	req    []byte   // scratch for resubscribe requests
	rs     []string // scratch for TakeResyncs

	resubs  atomic.Uint64
	sendErr atomic.Uint64
}

var _ feed.Session = (*Session)(nil)

// NewSession returns a Session feeding f with the topics of cfg.
func NewSession(f *Feed, cfg SessionConfig) (*Session, error) {
	if f == nil {
		return nil, errors.New("bybit: NewSession: nil Feed")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Session{f: f, ping: []byte(`{"op":"ping"}`), req: make([]byte, 0, 128)}
	for _, sym := range cfg.Symbols {
		s.topics = append(s.topics, "orderbook."+strconv.Itoa(cfg.Depth)+"."+strings.ToUpper(sym))
	}
	for i := 0; i < len(s.topics); i += maxArgsPerRequest {
		s.subs = append(s.subs, appendRequest(nil, "subscribe", s.topics[i:min(i+maxArgsPerRequest, len(s.topics))]...))
	}
	s.rs = make([]string, 0, len(s.topics))
	return s, nil
}

// appendRequest appends {"op":op,"args":[topics…]} to dst.
func appendRequest(dst []byte, op string, topics ...string) []byte {
	dst = append(dst, `{"op":"`...)
	dst = append(dst, op...)
	dst = append(dst, `","args":[`...)
	for i, t := range topics {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, '"')
		dst = append(dst, t...)
		dst = append(dst, '"')
	}
	return append(dst, "]}"...)
}

// Topics returns the subscribed topics ("orderbook.200.BTCUSDT").
func (s *Session) Topics() []string { return s.topics }

// Resubscribes returns how many topic resubscribes were sent on a live
// connection; SendErrors how many could not be sent (the connection was
// going down, and the next Subscribe covers them). Safe from any goroutine.
func (s *Session) Resubscribes() uint64 { return s.resubs.Load() }

// SendErrors: see Resubscribes.
func (s *Session) SendErrors() uint64 { return s.sendErr.Load() }

// Subscribe implements feed.Session: the subscribe requests of every
// topic, ten per request.
func (s *Session) Subscribe(dst [][]byte) [][]byte { return append(dst, s.subs...) }

// Ping implements feed.Session: Bybit's {"op":"ping"}.
func (s *Session) Ping() []byte { return s.ping }

// Frame implements feed.Session: it hands the frame to the Feed (which
// counts what it could not use) and then resubscribes every topic whose
// book went out of sync.
func (s *Session) Frame(frame []byte, recvNs int64) {
	_ = s.f.Handle(frame, recvNs) // errors are counted by the Feed and its books
	if len(s.f.resync) == 0 {
		return
	}
	s.rs = s.f.TakeResyncs(s.rs[:0])
	for _, t := range s.rs {
		if !s.send("unsubscribe", t) || !s.send("subscribe", t) {
			return // the connection is going down: Down and the next Subscribe resync it
		}
		s.resubs.Add(1)
	}
}

func (s *Session) send(op, topic string) bool {
	if s.Conn == nil {
		s.sendErr.Add(1)
		return false
	}
	s.req = appendRequest(s.req[:0], op, topic)
	if err := s.Conn.Send(s.req); err != nil {
		s.sendErr.Add(1)
		return false
	}
	return true
}

// Down implements feed.Session: every book of the connection goes Stale
// (counted as a resync and published at once) and drops deltas until the snapshot
// that follows the next Subscribe; pending resubscribe requests are
// dropped, as the resubscribe covers them.
func (s *Session) Down(error) {
	s.rs = s.f.TakeResyncs(s.rs[:0])
	for _, sym := range s.f.Symbols() {
		if sym.state != stStale {
			sym.state = stStale
			sym.Book.Resync() // Stale, counted and published
		} else {
			sym.Book.SetState(book.Stale)
		}
		sym.pending, sym.queued = false, false
	}
}

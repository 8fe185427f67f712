package okx

import (
	"errors"
	"fmt"
	"strings"
	"sync/atomic"

	"arbmm/book"
	"arbmm/feed"
)

// DefaultChannel is the book channel a SessionConfig without one
// subscribes to: 400 levels, checksummed, pushed every 100 ms.
const DefaultChannel = "books"

// SessionConfig says what a Session subscribes to on its connection.
type SessionConfig struct {
	// InstIDs are the instruments ("BTC-USDT", "UNI-USD-SWAP") whose book
	// channel the connection subscribes to. Required.
	InstIDs []string
	// Channel is the book channel: "books" (default), "books5",
	// "bbo-tbt", "books50-l2-tbt" or "books-l2-tbt" (the tbt channels of
	// more than one level need a login OKX grants to VIP tiers).
	Channel string
}

// Validate fills in defaults and reports the first invalid setting.
func (c *SessionConfig) Validate() error {
	if len(c.InstIDs) == 0 {
		return errors.New("okx: SessionConfig.InstIDs is empty")
	}
	if c.Channel == "" {
		c.Channel = DefaultChannel
	}
	switch c.Channel {
	case "books", "books5", "bbo-tbt", "books50-l2-tbt", "books-l2-tbt":
	default:
		return fmt.Errorf("okx: SessionConfig.Channel %q: not a book channel", c.Channel)
	}
	seen := make(map[string]bool, len(c.InstIDs))
	for _, id := range c.InstIDs {
		if !validInstID([]byte(id)) || strings.ContainsAny(id, `"\`) || seen[id] {
			return fmt.Errorf("okx: SessionConfig.InstIDs: bad or repeated instId %q", id)
		}
		seen[id] = true
	}
	return nil
}

// Session adapts a Feed to a feed.Conn: it subscribes the configured book
// channel for every instrument on each (re)connect, sends OKX's text ping,
// hands frames to the Feed, resubscribes on the live connection the
// instruments the Feed asks to resync (OKX answers with a snapshot that
// starts a new seqId chain: exact, unlike a REST book), and marks every
// book Stale when the connection is lost.
//
// All methods but the counters are called from the Conn's Run goroutine,
// which owns the Feed.
type Session struct {
	// Conn is the connection the Session serves, set by the caller after
	// feed.NewConn and before Run; resubscribes are sent on it.
	Conn *feed.Conn

	f       *Feed
	channel string
	sub     []byte   // the subscribe request, built once
	req     []byte   // scratch for resubscribe requests
	rs      []string // scratch for TakeResyncs

	resubs  atomic.Uint64
	sendErr atomic.Uint64
}

var _ feed.Session = (*Session)(nil)

var pingFrame = []byte("ping")

// NewSession returns a Session feeding f with the instruments of cfg.
func NewSession(f *Feed, cfg SessionConfig) (*Session, error) {
	if f == nil {
		return nil, errors.New("okx: NewSession: nil Feed")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Session{f: f, channel: cfg.Channel, req: make([]byte, 0, 256), rs: make([]string, 0, len(cfg.InstIDs)+8)}
	s.sub = appendRequest(nil, "subscribe", cfg.Channel, cfg.InstIDs)
	return s, nil
}

// appendRequest appends
// {"op":op,"args":[{"channel":channel,"instId":id},…]} to dst.
func appendRequest(dst []byte, op, channel string, ids []string) []byte {
	dst = append(dst, `{"op":"`...)
	dst = append(dst, op...)
	dst = append(dst, `","args":[`...)
	for i, id := range ids {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"channel":"`...)
		dst = append(dst, channel...)
		dst = append(dst, `","instId":"`...)
		dst = append(dst, id...)
		dst = append(dst, `"}`...)
	}
	return append(dst, "]}"...)
}

// Resubscribes returns how many resubscribes (one per batch of instruments
// TakeResyncs returned) were sent on a live connection; SendErrors how many
// could not be sent (the connection was going down, and the next Subscribe
// covers them). Safe from any goroutine.
func (s *Session) Resubscribes() uint64 { return s.resubs.Load() }

// SendErrors: see Resubscribes.
func (s *Session) SendErrors() uint64 { return s.sendErr.Load() }

// Subscribe implements feed.Session: one subscribe request for every
// instrument.
func (s *Session) Subscribe(dst [][]byte) [][]byte { return append(dst, s.sub) }

// Ping implements feed.Session: OKX's text "ping" (it answers "pong",
// which the Feed ignores).
func (s *Session) Ping() []byte { return pingFrame }

// Frame implements feed.Session: it hands the frame to the Feed (which
// counts what it could not use) and then unsubscribes and resubscribes
// every instrument whose book went out of sync.
func (s *Session) Frame(frame []byte, recvNs int64) {
	_ = s.f.Handle(frame, recvNs) // errors are counted by the Feed and its books
	if len(s.f.resync) == 0 {
		return
	}
	s.rs = s.f.TakeResyncs(s.rs[:0])
	if len(s.rs) == 0 {
		return
	}
	if s.Conn == nil {
		s.sendErr.Add(1)
		return
	}
	s.req = appendRequest(s.req[:0], "unsubscribe", s.channel, s.rs)
	if err := s.Conn.Send(s.req); err != nil {
		s.sendErr.Add(1)
		return // the connection is going down: Down and the next Subscribe resync them
	}
	s.req = appendRequest(s.req[:0], "subscribe", s.channel, s.rs)
	if err := s.Conn.Send(s.req); err != nil {
		s.sendErr.Add(1)
		return
	}
	s.resubs.Add(1)
}

// Down implements feed.Session: every book of the connection goes Stale
// (counted as a resync and published at once) and waits for the snapshot
// that follows the next Subscribe, keeping no update of the old
// connection; pending resync requests are dropped, as that subscribe
// covers them, and the seqId chain starts afresh.
func (s *Session) Down(error) {
	s.rs = s.f.TakeResyncs(s.rs[:0])
	for _, sym := range s.f.Symbols() {
		if sym.state != stStale {
			sym.state = stStale
			sym.Book.Resync()
		} else {
			sym.Book.SetState(book.Stale)
		}
		sym.pending, sym.queued = false, false
		sym.awaiting = true // the subscribe brings the snapshot: no resync request for updates before it
		sym.hasSeq, sym.afterREST = false, false
		sym.held, sym.heldEnd = sym.held[:0], sym.heldEnd[:0]
		sym.floorTs = 0
	}
}

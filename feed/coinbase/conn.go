package coinbase

import (
	"errors"
	"fmt"
	"sync/atomic"

	"arbmm/feed"
)

// SessionConfig says what a Session subscribes to on its connection.
type SessionConfig struct {
	// Products are the products ("BTC-USD") whose level2 channel the
	// connection subscribes to. Required.
	Products []string
	// NoHeartbeats leaves out the heartbeats subscription. By default the
	// connection subscribes to heartbeats for its products too, so that a
	// quiet connection keeps sending sequenced frames (gaps show sooner)
	// and never trips the idle timeout.
	NoHeartbeats bool
}

// Validate reports the first invalid setting.
func (c *SessionConfig) Validate() error {
	if len(c.Products) == 0 {
		return errors.New("coinbase: SessionConfig.Products is empty")
	}
	seen := make(map[string]bool, len(c.Products))
	for _, p := range c.Products {
		if p == "" || seen[p] {
			return fmt.Errorf("coinbase: SessionConfig.Products: empty or repeated product %q", p)
		}
		seen[p] = true
	}
	return nil
}

// Session adapts a Feed to a feed.Conn: it subscribes level2 (and
// heartbeats) for the configured products on every (re)connect, hands
// frames to the Feed, resubscribes level2 on the live connection for the
// products the Feed asks to resync (Coinbase answers with a snapshot), and
// on a lost connection calls Reset, which marks every book Stale and
// restarts the connection's sequence_num check. Coinbase needs no
// application ping: Ping returns nil and the Conn sends websocket pings.
//
// All methods but the counters are called from the Conn's Run goroutine,
// which owns the Feed.
type Session struct {
	// Conn is the connection the Session serves, set by the caller after
	// feed.NewConn and before Run; resubscribes are sent on it.
	Conn *feed.Conn

	f    *Feed
	subs [][]byte // subscribe requests, built once
	req  []byte   // scratch for resubscribe requests
	rs   []string // scratch for TakeResyncs

	resubs  atomic.Uint64
	sendErr atomic.Uint64
}

var _ feed.Session = (*Session)(nil)

// NewSession returns a Session feeding f with the products of cfg.
func NewSession(f *Feed, cfg SessionConfig) (*Session, error) {
	if f == nil {
		return nil, errors.New("coinbase: NewSession: nil Feed")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	products := append([]string(nil), cfg.Products...)
	s := &Session{f: f, req: make([]byte, 0, 256), rs: make([]string, 0, len(products)+8)}
	s.subs = append(s.subs, AppendSubscribe(nil, products, ChannelLevel2))
	if !cfg.NoHeartbeats {
		s.subs = append(s.subs, AppendSubscribe(nil, products, ChannelHeartbeats))
	}
	return s, nil
}

// Resubscribes returns how many level2 resubscribes (one per batch of
// products TakeResyncs returned) were sent on a live connection; SendErrors
// how many could not be sent (the connection was going down, and the next
// Subscribe covers them). Safe from any goroutine.
func (s *Session) Resubscribes() uint64 { return s.resubs.Load() }

// SendErrors: see Resubscribes.
func (s *Session) SendErrors() uint64 { return s.sendErr.Load() }

// Subscribe implements feed.Session: level2, then heartbeats.
func (s *Session) Subscribe(dst [][]byte) [][]byte { return append(dst, s.subs...) }

// Ping implements feed.Session: nil, websocket ping control frames.
func (s *Session) Ping() []byte { return nil }

// Frame implements feed.Session: it hands the frame to the Feed (which
// counts what it could not use) and then unsubscribes and resubscribes
// level2 for every product whose book went out of sync.
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
	s.req = AppendUnsubscribe(s.req[:0], s.rs, ChannelLevel2)
	if err := s.Conn.Send(s.req); err != nil {
		s.sendErr.Add(1)
		return // the connection is going down: Down and the next Subscribe resync them
	}
	s.req = AppendSubscribe(s.req[:0], s.rs, ChannelLevel2)
	if err := s.Conn.Send(s.req); err != nil {
		s.sendErr.Add(1)
		return
	}
	s.resubs.Add(1)
}

// Down implements feed.Session: Reset, so every book is Stale (counted as
// a resync and published) until the snapshot that follows the next
// Subscribe, and the next connection's sequence_num starts afresh.
func (s *Session) Down(error) { s.f.Reset() }

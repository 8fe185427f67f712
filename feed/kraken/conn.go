package kraken

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"

	"arbmm/book"
	"arbmm/feed"
)

// SessionConfig configures a Session.
type SessionConfig struct {
	// Symbols are the pairs subscribed after each (re)connect, as spelled
	// on the wire: "BTC/USD" on v2, "XBT/USD" on v1. Required.
	Symbols []string
	// Depth is the book depth subscribed: 10, 25, 100, 500 or 1000.
	// Default: the Feed's Config.Depth (v2) or 10 (v1).
	Depth int
}

// Validate reports the first invalid setting; NewSession fills Depth.
func (c *SessionConfig) Validate() error {
	if len(c.Symbols) == 0 {
		return errors.New("kraken: SessionConfig.Symbols is empty")
	}
	for _, s := range c.Symbols {
		if s == "" || strings.ContainsAny(s, "\"\\") {
			return fmt.Errorf("kraken: bad symbol %q", s)
		}
	}
	switch c.Depth {
	case 10, 25, 100, 500, 1000:
	default:
		return fmt.Errorf("kraken: depth %d, want 10, 25, 100, 500 or 1000", c.Depth)
	}
	return nil
}

// SessionStats are a Session's counters; any goroutine may read them.
type SessionStats struct {
	Resubscribes uint64 // unsubscribe+subscribe pairs sent on a live connection
	SendErrors   uint64 // resubscribes that could not be sent (the reconnect resubscribes)
	Downs        uint64 // connections lost
}

// Session adapts a Feed to feed.Conn: it subscribes the configured pairs'
// book channel, answers the Feed's resubscribe requests (after a checksum
// mismatch or a bad message) with an unsubscribe and a subscribe for that
// pair on the live connection, and marks every book Stale when the
// connection drops. Kraken answers a subscribe with a fresh snapshot.
//
// Subscribe, Ping, Frame and Down are called by feed.Conn from its Run
// goroutine only; Stats from any goroutine.
type Session struct {
	// Conn is the connection the resubscribe requests are sent on; set it
	// after feed.NewConn. While nil, resubscribes wait for the reconnect.
	Conn *feed.Conn

	f     *Feed
	cfg   SessionConfig
	subs  [][]byte // the subscribe request, built once
	resub []string // scratch for TakeResubscribe
	buf   []byte   // scratch for one request

	resubscribes, sendErrors, downs atomic.Uint64
}

// NewSession returns a Session for f.
func NewSession(f *Feed, cfg SessionConfig) (*Session, error) {
	if f == nil {
		return nil, errors.New("kraken: NewSession: nil Feed")
	}
	if cfg.Depth == 0 {
		cfg.Depth = DefaultDepth
		if f.v2 {
			cfg.Depth = f.cfg.Depth
		}
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if f.v2 && cfg.Depth != f.cfg.Depth {
		return nil, fmt.Errorf("kraken: session depth %d, feed depth %d: want equal", cfg.Depth, f.cfg.Depth)
	}
	s := &Session{f: f, cfg: cfg, resub: make([]string, 0, len(cfg.Symbols)), buf: make([]byte, 0, 256)}
	s.subs = [][]byte{s.appendRequest(nil, true, cfg.Symbols...)}
	return s, nil
}

// AppendSubscribe appends the subscribe (or, when subscribe is false, the
// unsubscribe) request for the book channel of symbols at depth:
//
//	v2: {"method":"subscribe","params":{"channel":"book","symbol":["BTC/USD"],"depth":10}}
//	v1: {"event":"subscribe","pair":["XBT/USD"],"subscription":{"name":"book","depth":10}}
func AppendSubscribe(dst []byte, version int, subscribe bool, depth int, symbols ...string) []byte {
	verb := "unsubscribe"
	if subscribe {
		verb = "subscribe"
	}
	if version == 2 {
		dst = append(dst, `{"method":"`...)
		dst = append(dst, verb...)
		dst = append(dst, `","params":{"channel":"book","symbol":[`...)
	} else {
		dst = append(dst, `{"event":"`...)
		dst = append(dst, verb...)
		dst = append(dst, `","pair":[`...)
	}
	for i, sym := range symbols {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, '"')
		dst = append(dst, sym...)
		dst = append(dst, '"')
	}
	if version == 2 {
		dst = append(dst, `],"depth":`...)
		dst = strconv.AppendInt(dst, int64(depth), 10)
		return append(dst, `}}`...)
	}
	dst = append(dst, `],"subscription":{"name":"book","depth":`...)
	dst = strconv.AppendInt(dst, int64(depth), 10)
	return append(dst, `}}`...)
}

func (s *Session) appendRequest(dst []byte, subscribe bool, symbols ...string) []byte {
	v := 1
	if s.f.v2 {
		v = 2
	}
	return AppendSubscribe(dst, v, subscribe, s.cfg.Depth, symbols...)
}

// Subscribe appends the subscribe request for every configured pair.
func (s *Session) Subscribe(dst [][]byte) [][]byte { return append(dst, s.subs...) }

// Ping returns nil: Kraken answers websocket ping control frames.
func (s *Session) Ping() []byte { return nil }

// Frame handles the frame, then sends an unsubscribe and a subscribe on
// the live connection for every pair the Feed took out of sync.
func (s *Session) Frame(frame []byte, recvNs int64) {
	_ = s.f.Handle(frame, recvNs) // errors are counted by the Feed
	s.resub = s.f.TakeResubscribe(s.resub[:0])
	for _, sym := range s.resub {
		if err := s.resubscribe(sym); err != nil {
			// The connection is down or going down: Down marks the
			// books and the reconnect's Subscribe brings them back.
			s.sendErrors.Add(1)
			return
		}
	}
}

func (s *Session) resubscribe(sym string) error {
	if s.Conn == nil {
		return feed.ErrNotConnected
	}
	s.buf = s.appendRequest(s.buf[:0], false, sym)
	if err := s.Conn.Send(s.buf); err != nil {
		return err
	}
	s.buf = s.appendRequest(s.buf[:0], true, sym)
	if err := s.Conn.Send(s.buf); err != nil {
		return err
	}
	s.resubscribes.Add(1)
	return nil
}

// Down marks every book Stale and resets each pair to wait for the
// snapshot the next connection's subscribe brings; pending resubscribe
// requests are dropped, since the reconnect subscribes everything.
func (s *Session) Down(err error) {
	s.downs.Add(1)
	for _, sym := range s.f.syms {
		if sym.Book.State() != book.Stale {
			sym.Book.Resync()
		}
		sym.state = stStale
		sym.hasChan = false // v1 channel ids are per connection
	}
	s.resub = s.f.TakeResubscribe(s.resub[:0])
	s.f.ctr.Resyncs.Add(1)
}

// Stats returns the Session's counters. Any goroutine.
func (s *Session) Stats() SessionStats {
	return SessionStats{Resubscribes: s.resubscribes.Load(), SendErrors: s.sendErrors.Load(), Downs: s.downs.Load()}
}

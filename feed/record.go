package feed

import "time"

// CaptureSink receives what a recording connection sends and receives, in
// the capture format's terms (internal/capture's Writer and Rotator
// implement it).
type CaptureSink interface {
	Open(ts time.Time, conn string) error
	Send(ts time.Time, conn string, data []byte) error
	Recv(ts time.Time, conn string, data []byte) error
}

// Recording wraps a venue Session so that its connection is recorded: each
// (re)connect as an open record followed by the subscribe frames as send
// records, and every received frame as a recv record stamped with its
// receipt time, before the venue handles it. conn names the connection in
// the records (its URL, so that replay recognises the venue). Sink errors
// are counted in Errors and do not stop the feed. Frames a venue sends
// with Conn.Send are not seen here; the venue's REST responses are recorded
// by the venue's own hook.
type Recording struct {
	Inner  Session
	Sink   CaptureSink
	Conn   string
	Errors uint64 // sink write errors; written by the Run goroutine

	subs [][]byte
}

// Subscribe records the connection and the subscribe frames.
func (r *Recording) Subscribe(dst [][]byte) [][]byte {
	r.subs = r.Inner.Subscribe(r.subs[:0])
	now := time.Now()
	r.note(r.Sink.Open(now, r.Conn))
	for _, f := range r.subs {
		r.note(r.Sink.Send(now, r.Conn, f))
	}
	return append(dst, r.subs...)
}

// Ping is the venue's.
func (r *Recording) Ping() []byte { return r.Inner.Ping() }

// Frame records the frame, then hands it to the venue.
func (r *Recording) Frame(frame []byte, recvNs int64) {
	r.note(r.Sink.Recv(time.Unix(0, recvNs), r.Conn, frame))
	r.Inner.Frame(frame, recvNs)
}

// Down is the venue's.
func (r *Recording) Down(err error) { r.Inner.Down(err) }

func (r *Recording) note(err error) {
	if err != nil {
		r.Errors++
	}
}

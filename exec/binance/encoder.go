package binance

import (
	"arbmm/exec"
	"arbmm/internal/market"
)

// Encoder encodes and signs WebSocket API requests exactly as a Session
// writes them (parameters sorted by name, HMAC-SHA256 over a reused keyed
// state, or Ed25519), without the connection: the tick-to-trade benchmark
// and tools use it. Owned by one goroutine; no allocation once its
// buffers have grown.
type Encoder struct {
	q      reqBuf
	g      signer
	opts   OrderOpts
	id     uint64
	logged *exec.Credential // the key a session.logon authenticated (Ed25519)
}

// LoggedOn marks cred as the key of a session authenticated with
// session.logon (Ed25519): its requests then carry no signature, as on a
// Session, which is why Ed25519 keys are the fast path.
func (e *Encoder) LoggedOn(cred *exec.Credential) { e.logged = cred }

// NewEncoder returns an encoder writing with opts as given (RespOmit and
// a zero RecvWindow leave those parameters out; a Session's defaults are
// RespResult and 5000).
func NewEncoder(opts OrderOpts) *Encoder { return &Encoder{opts: opts} }

// AppendRequest appends the signed request for in (a new order, a cancel,
// a cancel-all or a cancel-replace) under cred with timestamp tsMs (ms),
// numbering requests from 1.
func (e *Encoder) AppendRequest(dst []byte, in *market.Intent, cred *exec.Credential, tsMs int64) ([]byte, error) {
	if cred == nil {
		return dst, ErrNoKey
	}
	e.g.use(cred)
	e.id++
	return e.q.appendWSIntent(dst, e.id, in, &e.opts, &e.g, credSigns(cred, e.logged), tsMs)
}

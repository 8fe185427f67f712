package binance

import (
	"bytes"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/valyala/fasthttp"

	"arbmm/internal/sim/auth"
	"arbmm/internal/sim/match"
	"arbmm/internal/sim/venue"
	"arbmm/internal/sim/wire"
)

// orderEntry is the order-entry state (orders.go, wsapi.go, userdata.go).
//
// Locking: the venue lock is outermost. Deliver (userdata.go) runs under it
// and takes udMu for reading; nothing takes the venue lock while holding
// udMu or mu. capture and cancelCID are touched only under the
// venue lock (inside Venue.Do and Deliver).
type orderEntry struct {
	s      *Server
	replay *auth.ReplayCache
	start  time.Time
	assets []assetInfo // by match.AssetID
	stp    []string    // per pair: the name of its default STP mode

	mu      sync.Mutex
	tracked map[uint32]bool
	idN     uint64 // generated client order ids and listen keys

	draws wire.Draws // order-fault draws

	// Under the venue lock.
	capture   *fillCapture
	cancelCID map[uint64]string // order id → the cancel request's client id
	ev        []byte            // scratch: one encoded event
	execID    int64             // execution ids ("I")

	udMu     sync.RWMutex
	streams  map[uint32][]*udStream // by account
	keys     map[string]*listenKey  // by listen key
	sessions map[*wire.Conn]*wsSession
}

// assetInfo is a ledger asset's name and decimal places.
type assetInfo struct {
	name string
	dec  int
}

// fillCapture collects the taker fills of one order while it is submitted,
// for the FULL response.
type fillCapture struct {
	id    uint64
	fills []match.Fill
}

// initPrivate prepares order entry; called by New.
func (s *Server) initPrivate() error {
	o := &s.priv
	o.s = s
	o.replay = auth.NewReplayCache()
	o.draws.Seed = s.cfg.Seed ^ 0x6661756c74
	o.start = s.v.Now()
	o.tracked = map[uint32]bool{}
	o.cancelCID = map[uint64]string{}
	o.streams = map[uint32][]*udStream{}
	o.keys = map[string]*listenKey{}
	o.sessions = map[*wire.Conn]*wsSession{}
	s.v.Do(func(tx *venue.Tx) {
		for _, a := range s.v.Ledger().Assets() {
			o.assets = append(o.assets, assetInfo{a.Name, -int(a.Exp)})
		}
	})
	for _, p := range s.v.Pairs() {
		o.stp = append(o.stp, p.Book.Config().STP.String())
	}
	s.v.AddPrivateSink(o)
	return nil
}

// closePrivate closes the order-entry connections; called by Close.
func (s *Server) closePrivate() {
	o := &s.priv
	o.udMu.Lock()
	var conns []*wire.Conn
	for c := range o.sessions {
		conns = append(conns, c)
	}
	for _, lk := range o.keys {
		for _, st := range lk.conns {
			conns = append(conns, st.c)
		}
	}
	o.udMu.Unlock()
	for _, c := range conns {
		c.Close()
	}
}

// private routes the order-entry endpoints and reports whether path was
// one of them.
func (s *Server) private(ctx *fasthttp.RequestCtx, path string) bool {
	m := string(ctx.Method())
	switch path {
	case "/api/v3/order":
		switch m {
		case fasthttp.MethodPost:
			s.rest(ctx, 1, true, auth.PermTrade, errDuplicate, s.opPlace)
		case fasthttp.MethodDelete:
			s.rest(ctx, 1, false, auth.PermTrade, errBadSignature, s.opCancel)
		case fasthttp.MethodGet:
			s.rest(ctx, 4, false, auth.PermRead, readOnly, s.opQuery)
		default:
			return false
		}
	case "/api/v3/order/test":
		if m != fasthttp.MethodPost {
			return false
		}
		s.rest(ctx, 1, false, auth.PermTrade, errDuplicate, s.opTest)
	case "/api/v3/order/cancelReplace":
		if m != fasthttp.MethodPost {
			return false
		}
		s.rest(ctx, 1, true, auth.PermTrade, errDuplicate, s.opCancelReplace)
	case "/api/v3/openOrders":
		switch m {
		case fasthttp.MethodGet:
			w := 6
			if len(ctx.QueryArgs().Peek("symbol")) == 0 && len(ctx.PostArgs().Peek("symbol")) == 0 {
				w = 80
			}
			s.rest(ctx, w, false, auth.PermRead, readOnly, s.opOpenOrders)
		case fasthttp.MethodDelete:
			s.rest(ctx, 1, false, auth.PermTrade, errBadSignature, s.opCancelAll)
		default:
			return false
		}
	case "/api/v3/account":
		if m != fasthttp.MethodGet {
			return false
		}
		s.rest(ctx, 20, false, auth.PermRead, readOnly, s.opAccount)
	case "/sapi/v1/account/apiRestrictions":
		if m != fasthttp.MethodGet {
			return false
		}
		s.rest(ctx, 1, false, 0, readOnly, s.opRestrictions)
	case "/api/v3/userDataStream":
		s.listenKeyREST(ctx, m)
	case "/ws-api/v3":
		s.serveWSAPI(ctx)
	default:
		if key, ok := strings.CutPrefix(path, "/ws/"); ok && key != "" && !strings.Contains(key, "/") {
			s.serveUserStream(ctx, key)
			return true
		}
		return false
	}
	return true
}

// params are a request's parameters, decoded: the REST query string then
// form body (the query wins when both carry a name, as at Binance), or a
// WebSocket API request's params object. Values alias the request.
type params struct {
	kv []auth.Param
}

// get returns the first value of name; nil when absent or empty.
func (p *params) get(name string) []byte {
	for i := range p.kv {
		if string(p.kv[i].Name) == name {
			if len(p.kv[i].Value) == 0 {
				return nil
			}
			return p.kv[i].Value
		}
	}
	return nil
}

// op is an order-entry operation shared by REST and the WebSocket API: it
// appends its result (the REST body, the WebSocket API "result") to b.
// lost reports an order placed whose acknowledgement must be lost.
type op func(b []byte, key *auth.Key, p *params) (out []byte, e *apiError, lost bool)

// rest runs a SIGNED REST endpoint: authentication, rate limits, the
// permission check, then op. replayErr answers a replayed signature.
func (s *Server) rest(ctx *fasthttp.RequestCtx, weight int, order bool, perm auth.Perm, replayErr *apiError, fn op) {
	var body fasthttp.Args
	var p params
	ctx.QueryArgs().VisitAll(func(k, v []byte) { p.kv = append(p.kv, auth.Param{Name: k, Value: v}) })
	if b := ctx.PostBody(); len(b) > 0 && !bytes.HasPrefix(ctx.Request.Header.ContentType(), []byte("application/json")) {
		body.ParseBytes(b)
		body.VisitAll(func(k, v []byte) { p.kv = append(p.kv, auth.Param{Name: k, Value: v}) })
	}
	key, e := s.restAuth(ctx, &p, replayErr)
	if e != nil {
		if s.limit(ctx, weight, 0, false) {
			writeAPIError(ctx, e)
		}
		return
	}
	if !s.limit(ctx, weight, key.Account, order) {
		return
	}
	if perm != 0 && !key.Can(perm) {
		writeAPIError(ctx, errKeyRejected)
		return
	}
	out, e, lost := fn(ctx.Response.Body()[:0], key, &p)
	if lost {
		// The order stands; its response never arrives.
		ctx.HijackSetNoResponse(true)
		ctx.Hijack(func(c net.Conn) { _ = c.Close() })
		return
	}
	if e != nil {
		writeAPIError(ctx, e)
		return
	}
	ctx.SetContentType("application/json;charset=UTF-8")
	ctx.SetBody(out)
}

// writeAPIError writes e as Binance's error response.
func writeAPIError(ctx *fasthttp.RequestCtx, e *apiError) {
	if e.data == nil {
		writeError(ctx, e.status, e.code, e.msg)
		return
	}
	ctx.SetStatusCode(e.status)
	ctx.SetContentType("application/json;charset=UTF-8")
	ctx.SetBody(appendErrorBody(ctx.Response.Body()[:0], e))
}

// apiKeyOK reports whether an API key is well-formed (Binance's are 64
// alphanumerics; any length of them is accepted here).
func apiKeyOK(k []byte) bool {
	if len(k) == 0 || len(k) > 128 {
		return false
	}
	for _, c := range k {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return false
		}
	}
	return true
}

// lookupKey finds an API key: -2014 when malformed, -2015 when unknown or
// expired. It tracks the key's account in the venue on first use.
func (s *Server) lookupKey(apiKey []byte) (*auth.Key, *apiError) {
	if !apiKeyOK(apiKey) {
		return nil, errKeyFormat
	}
	if s.cfg.Keys == nil {
		return nil, errKeyRejected
	}
	key, ok := s.cfg.Keys.Lookup(apiKey)
	if !ok || key.Expired(s.v.Now()) {
		return nil, errKeyRejected
	}
	s.priv.track(key.Account)
	return key, nil
}

// track makes account a tracked by the venue, once.
func (o *orderEntry) track(a uint32) {
	o.mu.Lock()
	done := o.tracked[a]
	o.tracked[a] = true
	o.mu.Unlock()
	if !done {
		o.s.v.Track(match.AccountID(a))
	}
}

// restAuth checks a SIGNED REST request: the X-MBX-APIKEY header, the
// signature over query string + body, the timestamp window and replay.
func (s *Server) restAuth(ctx *fasthttp.RequestCtx, p *params, replayErr *apiError) (*auth.Key, *apiError) {
	key, e := s.lookupKey(ctx.Request.Header.Peek("X-MBX-APIKEY"))
	if e != nil {
		return nil, e
	}
	var buf [1024]byte
	payload, sig, ok := auth.BinanceRESTPayload(buf[:0], ctx.URI().QueryString(), ctx.PostBody())
	if !ok {
		return nil, errMandatory("signature")
	}
	if e := s.checkTimestamp(p); e != nil {
		return nil, e
	}
	var sb [128]byte
	raw, ok := auth.UnescapeSignature(sb[:0], sig)
	if !ok {
		return nil, errBadSignature
	}
	var scope [64]byte
	sc := append(append(scope[:0], ctx.Method()...), ctx.Path()...)
	return key, s.verify(key, payload, raw, p, replayErr, sc)
}

// checkTimestamp applies the timestamp and recvWindow rule.
func (s *Server) checkTimestamp(p *params) *apiError {
	tsb := p.get("timestamp")
	if tsb == nil {
		return errMandatory("timestamp")
	}
	ts, err := strconv.ParseInt(string(tsb), 10, 64)
	if err != nil || ts < 0 {
		return errIllegal("timestamp", legalInteger)
	}
	var rw int64
	if b := p.get("recvWindow"); b != nil {
		rw, err = strconv.ParseInt(string(b), 10, 64)
		if err != nil {
			return errIllegal("recvWindow", legalInteger)
		}
		if rw == 0 {
			rw = -1 // an explicit 0 is outside Binance's range, not the default
		}
	}
	if err := auth.CheckBinanceTimestamp(s.v.Now(), ts, rw); err != nil {
		return errTimestamp(err)
	}
	return nil
}

// verify checks sig (percent-decoded) over payload with key, then replay:
// a signature already accepted for the same scope (method and path, or
// WebSocket API method) is refused with replayErr. Binance signs neither
// the method nor the path, so the scope keeps, say, a GET and a DELETE of
// the same order in the same millisecond from looking like a replay.
func (s *Server) verify(key *auth.Key, payload, sig []byte, p *params, replayErr *apiError, scope []byte) *apiError {
	switch key.Type {
	case auth.HMAC:
		if !auth.VerifyBinanceHMAC(key.Secret, payload, sig) {
			return errBadSignature
		}
		for i, c := range sig { // one replay key for either hex case
			if 'A' <= c && c <= 'F' {
				sig[i] = c + 'a' - 'A'
			}
		}
	case auth.Ed25519:
		if !auth.VerifyEd25519(key.Public, payload, sig) {
			return errBadSignature
		}
	default:
		return errBadSignature
	}
	if replayErr == readOnly {
		return nil // a read changes nothing: the same query twice is fine
	}
	ts, _ := strconv.ParseInt(string(p.get("timestamp")), 10, 64)
	var rk [256]byte
	if s.priv.replay.Seen(append(append(rk[:0], scope...), sig...), ts, s.v.Now()) {
		return replayErr
	}
	return nil
}

// readOnly, passed as a request's replay error, marks a read: queries
// repeated byte for byte (two in the same millisecond) are not replays of
// anything that changes state, and Binance answers them.
var readOnly = &apiError{}

// nextID returns a fresh number for generated ids.
func (o *orderEntry) nextID() uint64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.idN++
	return o.idN
}

const idAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// genID appends n pseudo-random alphanumerics drawn from the seed and a
// counter: Binance's generated client order ids are 22 of them, listen
// keys 60.
func (o *orderEntry) genID(dst []byte, n int) []byte {
	x := wire.SeedFor(o.s.cfg.Seed^0x6f72646572, o.nextID())
	for i := 0; i < n; i++ {
		if i%10 == 0 && i > 0 {
			x = wire.SeedFor(x, uint64(i))
		}
		dst = append(dst, idAlphabet[x%uint64(len(idAlphabet))])
		x /= uint64(len(idAlphabet))
	}
	return dst
}

package tinkertest

import (
	"bytes"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/compress/zstd"
)

// Server is a fake Tinker service on a local port. Create it with NewServer,
// point a client at URL(), and Close it when done. All methods are safe for
// concurrent use.
type Server struct {
	cfg  config
	http *httptest.Server
	zstd *zstd.Decoder

	closeOnce sync.Once
	closed    chan struct{}
	timers    sync.WaitGroup
	inflight  inflight // requests in flight per key and endpoint, see InFlight

	mu    sync.Mutex // guards the service state below
	st    state
	store futureStore

	faults faultTable
	limits rateLimits
	log    requestLog
	jwtKey []byte

	rest     restState // guarded by mu
	archives *archiveHost
}

// NewServer starts a fake Tinker server on 127.0.0.1 (or on the listener
// given with WithListener). It panics if it cannot listen, like
// httptest.NewServer.
func NewServer(opts ...Option) *Server {
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	dec, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(maxBodyBytes))
	if err != nil {
		panic(fmt.Sprintf("tinkertest: zstd decoder: %v", err))
	}
	s := &Server{
		cfg:    cfg,
		zstd:   dec,
		closed: make(chan struct{}),
		jwtKey: randomBytes(32),
	}
	s.st.init()
	s.rest.init()
	s.store.init()
	s.log.limit = cfg.logLimit
	s.limits.init(cfg.rateLimits)
	h := httptest.NewUnstartedServer(http.HandlerFunc(s.serveHTTP))
	if cfg.listener != nil {
		_ = h.Listener.Close()
		h.Listener = cfg.listener
	}
	if cfg.tls {
		h.EnableHTTP2 = true
		h.StartTLS()
	} else {
		h.Start()
	}
	s.http = h
	s.startArchiveHost()
	return s
}

// URL is the base URL to give a client, e.g. "http://127.0.0.1:41234"; the
// API lives under URL()+"/api/v1/".
func (s *Server) URL() string { return s.http.URL }

// Client returns an *http.Client that trusts the server's certificate
// (WithTLS) and talks HTTP/2 to it; without TLS it is a plain client. Its
// connections are closed by Close.
func (s *Server) Client() *http.Client { return s.http.Client() }

// CertificatePEM is the PEM encoding of the certificate the server presents
// under WithTLS, for a client in another process to trust (Go reads a file
// of it named by SSL_CERT_FILE); it is nil without TLS.
func (s *Server) CertificatePEM() []byte {
	c := s.http.Certificate()
	if c == nil {
		return nil
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}

// Close wakes every long-poll in flight, stops pending work and shuts the
// server down, waiting for handlers to return. Futures never complete after
// Close. It is safe to call more than once.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		close(s.closed)
		s.mu.Lock()
		s.st.closed = true
		s.stopTimers()
		s.mu.Unlock()
		s.http.CloseClientConnections()
		s.http.Close()
		s.archives.web.CloseClientConnections()
		s.archives.web.Close()
		s.timers.Wait()
		s.zstd.Close()
	})
}

func (s *Server) now() time.Time { return s.cfg.now() }

const maxBodyBytes = 256 << 20

// reply is a handler's answer, written by serveHTTP (possibly altered by a
// fault).
type reply struct {
	status int
	ctype  string
	header http.Header
	body   []byte
}

func jsonReply(status int, v any) reply {
	b, err := json.Marshal(v)
	if err != nil {
		return detailReply(http.StatusInternalServerError, "tinkertest: cannot encode response: %v", err)
	}
	return reply{status: status, ctype: "application/json", body: b}
}

// detailReply is the error body shape of the fake: {"detail": "<message>"},
// FastAPI's shape, with the status carrying the class of error.
func detailReply(status int, format string, args ...any) reply {
	b, _ := json.Marshal(map[string]string{"detail": fmt.Sprintf(format, args...)})
	return reply{status: status, ctype: "application/json", body: b}
}

func okJSON(v any) reply { return jsonReply(http.StatusOK, v) }

// call carries one request through the pipeline.
type call struct {
	s        *Server
	r        *http.Request
	endpoint string
	params   []string // path parameters of the route
	body     []byte
	owner    string // key fingerprint of the caller (the raw key's, also under JWT)
	fault    *activeFault
	entry    *Entry
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	entry := s.log.begin(s.now(), r)
	c := &call{s: s, r: r, entry: entry}
	rep, fault := s.dispatch(c)
	s.log.update(entry, func(e *Entry) {
		e.Status = rep.status
		if fault != nil {
			e.FaultID = fault.id
			e.Fault = fault.describe()
		}
	})
	if fault != nil && (fault.f.Reset || fault.f.DropResponse) {
		s.resetConn(w)
		return
	}
	if fault != nil && (fault.f.Truncate || fault.f.Malformed) {
		rep = corrupt(rep, fault.f)
		if fault.f.Truncate {
			s.writeTruncated(w, rep)
			return
		}
	}
	h := w.Header()
	for k, vs := range rep.header {
		h[k] = vs
	}
	if rep.ctype != "" {
		h.Set("Content-Type", rep.ctype)
	}
	h.Set("Content-Length", fmt.Sprint(len(rep.body)))
	w.WriteHeader(rep.status)
	_, _ = w.Write(rep.body)
}

// dispatch routes, authenticates, applies rate limits and faults, and runs
// the handler.
func (s *Server) dispatch(c *call) (reply, *activeFault) {
	rt, params, allowed := route(c.r.URL.EscapedPath())
	if rt == nil {
		return detailReply(http.StatusNotFound, "Not Found"), nil
	}
	c.endpoint, c.params = rt.endpoint, params
	s.log.update(c.entry, func(e *Entry) { e.Endpoint = rt.endpoint })
	if !strings.Contains(allowed, c.r.Method+",") {
		rep := detailReply(http.StatusMethodNotAllowed, "Method Not Allowed")
		rep.header = http.Header{"Allow": {strings.TrimSuffix(allowed, ",")}}
		return rep, nil
	}
	h := rt.handlers[c.r.Method]
	if !rt.public {
		owner, rep, ok := s.authenticate(c.r, rt.endpoint)
		if !ok {
			return rep, nil
		}
		c.owner = owner
		s.log.update(c.entry, func(e *Entry) { e.KeyFingerprint = owner })
		s.inflight.enter(owner, rt.endpoint)
		defer s.inflight.leave(owner, rt.endpoint)
	}
	if rep, ok := checkQuery(c.r, rt); !ok {
		return rep, nil
	}
	if rep, ok := s.readBody(c); !ok {
		return rep, nil
	}
	c.noteAddressing()
	if !rt.public {
		if rep, limited := s.limits.take(c.owner, rt.endpoint, s.now()); limited {
			return rep, nil
		}
	}
	fault := s.faults.match(c.owner, rt.endpoint)
	if fault != nil {
		if fault.f.Delay > 0 && !s.wait(c.r, fault.f.Delay) {
			return detailReply(http.StatusServiceUnavailable, "server closing"), fault
		}
		if rep, done := s.applyBefore(c, fault); done {
			if fault.f.Status != 0 && !fault.f.EmptyBody {
				// A bare empty-body status is a proxy's: the service never
				// saw the request, so its seq_id is not spent.
				s.spendRejectedSeq(c, fault.f.Status)
			}
			return rep, fault
		}
	}
	c.fault = fault
	return h(c), fault
}

// wait blocks for d, or until the request is canceled or the server closes;
// it reports whether d elapsed.
func (s *Server) wait(r *http.Request, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	case <-s.closed:
		return false
	}
}

func (s *Server) readBody(c *call) (reply, bool) {
	if c.r.Method == http.MethodGet {
		return reply{}, true
	}
	raw, err := io.ReadAll(io.LimitReader(c.r.Body, maxBodyBytes+1))
	if err != nil {
		return detailReply(http.StatusBadRequest, "cannot read body: %v", err), false
	}
	if len(raw) > maxBodyBytes {
		return detailReply(http.StatusRequestEntityTooLarge, "body larger than %d bytes", maxBodyBytes), false
	}
	switch enc := strings.ToLower(strings.TrimSpace(c.r.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
	case "zstd":
		if c.endpoint != EndpointForwardBackward {
			return detailReply(http.StatusUnsupportedMediaType, "Content-Encoding zstd is only accepted on forward_backward"), false
		}
		out, err := s.zstd.DecodeAll(raw, nil)
		if err != nil {
			return detailReply(http.StatusBadRequest, "body is not valid zstd: %v", err), false
		}
		raw = out
	default:
		return detailReply(http.StatusUnsupportedMediaType, "unsupported Content-Encoding %q", enc), false
	}
	c.body = raw
	return reply{}, true
}

// parse checks the body is JSON (Content-Type application/json) and returns
// its strict object view; it also records the generic body in the log.
func (c *call) parse() (*object, reply, bool) {
	ct := c.r.Header.Get("Content-Type")
	if !strings.HasPrefix(strings.ToLower(ct), "application/json") {
		return nil, detailReply(http.StatusUnsupportedMediaType, "Content-Type must be application/json, got %q", ct), false
	}
	c.s.log.update(c.entry, func(e *Entry) { e.Body = generic(c.body) })
	o, err := parseObject("", c.body)
	if err != nil {
		return nil, detailReply(http.StatusBadRequest, "%v", err), false
	}
	return o, reply{}, true
}

func (c *call) note(f func(e *Entry)) { c.s.log.update(c.entry, f) }

// noteAddressing logs the body and its ids before any fault or validation,
// so a request answered by a fault is still findable by model, sampler and
// seq_id. Handlers overwrite these with what they validated.
func (c *call) noteAddressing() {
	if len(c.body) == 0 {
		return
	}
	if c.endpoint == EndpointForwardBackward && strings.HasPrefix(strings.ToLower(c.r.Header.Get("Content-Type")), "application/x-protobuf") {
		if req, err := decodeFwdBwdProto(c.body); err == nil {
			c.note(func(e *Entry) {
				e.Body, e.ModelID, e.SeqID, e.HasSeqID = fwdbwdSummary(req), req.ModelID, req.SeqID, true
			})
		}
		return
	}
	var m map[string]any
	if json.Unmarshal(c.body, &m) != nil {
		return
	}
	c.note(func(e *Entry) {
		e.Body = m
		e.ModelID, _ = m["model_id"].(string)
		e.SamplerID, _ = m["sampling_session_id"].(string)
		e.SessionID, _ = m["session_id"].(string)
		e.RequestID, _ = m["request_id"].(string)
		for _, k := range []string{"seq_id", "model_seq_id", "sampling_session_seq_id"} {
			if n, ok := m[k].(float64); ok && n == float64(int64(n)) {
				e.SeqID, e.HasSeqID = int64(n), true
				break
			}
		}
	})
}

// resetConn hijacks the connection and closes it with an RST, so the client
// sees a connection reset instead of a response.
func (s *Server) resetConn(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

// writeTruncated announces the full length but sends only half the body,
// then closes the connection.
func (s *Server) writeTruncated(w http.ResponseWriter, rep reply) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, buf, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	defer conn.Close()
	var b bytes.Buffer
	fmt.Fprintf(&b, "HTTP/1.1 %d %s\r\n", rep.status, http.StatusText(rep.status))
	for k, vs := range rep.header {
		for _, v := range vs {
			fmt.Fprintf(&b, "%s: %s\r\n", k, v)
		}
	}
	if rep.ctype != "" {
		fmt.Fprintf(&b, "Content-Type: %s\r\n", rep.ctype)
	}
	full := len(rep.body)
	if full < 2 {
		full = 2
	}
	fmt.Fprintf(&b, "Content-Length: %d\r\nConnection: close\r\n\r\n", full)
	b.Write(rep.body[:len(rep.body)/2])
	_, _ = buf.Write(b.Bytes())
	_ = buf.Flush()
}

// corrupt replaces a body with one that does not parse: broken JSON, or
// protobuf bytes with an invalid tag.
func corrupt(rep reply, f Fault) reply {
	if !f.Malformed {
		return rep
	}
	if strings.Contains(rep.ctype, "protobuf") {
		rep.body = []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}
	} else {
		rep.ctype = "application/json"
		rep.body = []byte(`{"request_id": "trunc`)
	}
	return rep
}

package tinkertest

import (
	"net/http"
	"sync"
	"time"

	"github.com/tinkex-go/tinkex/types"
)

// Entry is one request as the server saw it. Entries are in arrival order;
// fields the handler learns later (status, ids) are filled when it answers,
// so a long-poll still in flight has Status 0.
type Entry struct {
	Index    uint64 // arrival number, from 1
	Time     time.Time
	Method   string
	Path     string // URL path as sent (escaped)
	Query    string
	Endpoint string // route name (Endpoint* constants); "" for unknown routes
	// KeyFingerprint identifies the caller: the fingerprint of the key a JWT
	// was issued for, else of the X-API-Key sent (even if refused); "" when
	// no key was sent.
	KeyFingerprint string
	Header         http.Header // request headers; X-API-Key, CF-Access-Client-Secret and Authorization replaced by their fingerprints
	Body           any         // decoded JSON body (generic), or a summary of a protobuf body
	Status         int         // response status; 0 while in flight or when the connection was reset
	Fault          string      // description of the fault applied, "" if none
	FaultID        int         // id returned by Inject, 0 if none
	SessionID      string
	ModelID        string
	SamplerID      string
	SeqID          int64 // seq_id, model_seq_id or sampling_session_seq_id as sent
	HasSeqID       bool
	RequestID      string // future id answered (submits) or asked for (retrieve_future)
	// RequestType is the polled future's kind on retrieve_future
	// (CreateModel, LoadWeights, Forward, ForwardBackward, OptimStep,
	// SaveWeights, SaveWeightsForSampler, Sample, UnloadModel), to compare
	// with the X-Tinker-Request-Type header the client sent.
	RequestType string
	Duplicate   bool // a resubmission answered with the existing future
	// RemoteAddr is the client's address: one value per connection, so
	// two entries with the same RemoteAddr came over one connection.
	RemoteAddr string
	// Proto is the request's protocol, "HTTP/1.1" or "HTTP/2.0" (WithTLS).
	Proto string
}

// credentialHeaders are logged, besides X-API-Key, as the fingerprint of
// their value: a Cloudflare Access secret and a bearer token.
var credentialHeaders = []string{"CF-Access-Client-Secret", "Authorization"}

type requestLog struct {
	mu      sync.Mutex
	limit   int
	next    uint64
	entries []*Entry
	dropped int
}

func (l *requestLog) begin(now time.Time, r *http.Request) *Entry {
	h := r.Header.Clone()
	fp := ""
	if k := h.Get("X-API-Key"); k != "" {
		fp = types.KeyFingerprint(k)
		h.Set("X-API-Key", fp)
	}
	for _, name := range credentialHeaders {
		if v := h.Get(name); v != "" {
			h.Set(name, types.KeyFingerprint(v))
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.next++
	e := &Entry{Index: l.next, Time: now, Method: r.Method, Path: r.URL.EscapedPath(), Query: r.URL.RawQuery, Header: h, KeyFingerprint: fp, RemoteAddr: r.RemoteAddr, Proto: r.Proto}
	l.entries = append(l.entries, e)
	if l.limit > 0 && len(l.entries) > l.limit {
		n := len(l.entries) - l.limit
		clear(l.entries[:n])
		l.entries = l.entries[n:]
		l.dropped += n
	}
	return e
}

func (l *requestLog) update(e *Entry, f func(*Entry)) {
	l.mu.Lock()
	f(e)
	l.mu.Unlock()
}

// Match selects log entries; zero fields match anything.
type Match struct {
	Endpoint  string
	Method    string
	Key       string // raw key; compared by fingerprint
	KeyFP     string // fingerprint
	SessionID string
	ModelID   string
	SamplerID string
	SeqID     *int64
	Status    int
	RequestID string
}

func (m Match) matches(e *Entry) bool {
	switch {
	case m.Endpoint != "" && e.Endpoint != m.Endpoint,
		m.Method != "" && e.Method != m.Method,
		m.Key != "" && e.KeyFingerprint != types.KeyFingerprint(m.Key),
		m.KeyFP != "" && e.KeyFingerprint != m.KeyFP,
		m.SessionID != "" && e.SessionID != m.SessionID,
		m.ModelID != "" && e.ModelID != m.ModelID,
		m.SamplerID != "" && e.SamplerID != m.SamplerID,
		m.SeqID != nil && (!e.HasSeqID || e.SeqID != *m.SeqID),
		m.Status != 0 && e.Status != m.Status,
		m.RequestID != "" && e.RequestID != m.RequestID:
		return false
	}
	return true
}

// Requests returns copies of the logged requests that match m, in arrival
// order. Requests(Match{}) is the whole log.
func (s *Server) Requests(m Match) []Entry {
	s.log.mu.Lock()
	defer s.log.mu.Unlock()
	var out []Entry
	for _, e := range s.log.entries {
		if m.matches(e) {
			c := *e
			c.Header = e.Header.Clone()
			out = append(out, c)
		}
	}
	return out
}

// Count returns how many logged requests match m.
func (s *Server) Count(m Match) int {
	s.log.mu.Lock()
	defer s.log.mu.Unlock()
	n := 0
	for _, e := range s.log.entries {
		if m.matches(e) {
			n++
		}
	}
	return n
}

// CountEndpoint is Count(Match{Endpoint: endpoint}).
func (s *Server) CountEndpoint(endpoint string) int { return s.Count(Match{Endpoint: endpoint}) }

// DroppedRequests is how many log entries were dropped to respect the log
// limit (oldest first).
func (s *Server) DroppedRequests() int {
	s.log.mu.Lock()
	defer s.log.mu.Unlock()
	return s.log.dropped
}

// SeqID is a helper for Match.SeqID.
func SeqID(n int64) *int64 { return &n }

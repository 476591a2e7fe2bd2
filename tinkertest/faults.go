package tinkertest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/tinkex-go/tinkex/types"
)

// Fault scripts a misbehaviour for matching requests. A fault matches a
// request when Key (if set) is the caller's key and Endpoint (if set) is
// the route's endpoint name; it then applies to the matching calls selected
// by Skip, Every and Times. The first installed fault that applies wins.
// Faults run after authentication and rate limiting, so a fault for key A
// never touches key B.
//
// What happens, in order of precedence:
//   - Delay > 0: wait first (latency injection); combined with nothing
//     else, the request is then handled normally.
//   - Reset: the connection is closed with an RST before the request is
//     handled (nothing was processed).
//   - Status != 0: answer that status without handling the request, with
//     RetryAfter / RetryAfterMs / ShouldRetry headers and Body (default
//     {"detail": ...}; EmptyBody sends no body at all, like a proxy's bare
//     400). With QueueState on retrieve_future the body is
//     {"queue_state", "queue_state_reason"} (e.g. 408 with a queue state).
//   - QueueState (retrieve_future, no Status): answer 200
//     {"type":"try_again","request_id","queue_state":QueueState,...} without
//     looking at the future (use "active" for N pending polls).
//   - FutureError != "": on a submit endpoint the request is accepted and
//     its future fails; on retrieve_future the polled future fails. The
//     failure body is 200 {"error": FutureError, "category": Category}.
//   - DropResponse: the request is handled (its work is done), then the
//     connection is reset instead of answering.
//   - Truncate: handled, then half the body is sent and the connection
//     closed. Malformed: handled, then the body is replaced by bytes that do
//     not parse (JSON or protobuf, by the response's type). Both together:
//     a truncated malformed body.
type Fault struct {
	Key      string // raw key the fault is for; "" = every key
	Endpoint string // Endpoint* name; "" = every endpoint

	Times int // apply to at most this many calls (0 = unlimited)
	Every int // apply only to every Nth matching call (N, 2N, ...)
	Skip  int // let the first Skip matching calls through

	Status       int
	RetryAfter   string // Retry-After header value
	RetryAfterMs string // retry-after-ms header value
	ShouldRetry  string // x-should-retry header value ("true"/"false")
	Body         string // raw body (JSON) for Status faults
	EmptyBody    bool

	QueueState       string // active | paused_capacity | paused_rate_limit
	QueueStateReason string

	FutureError string
	Category    types.Category // default "unknown"

	Delay        time.Duration
	Reset        bool
	DropResponse bool
	Truncate     bool
	Malformed    bool
}

type activeFault struct {
	id      int
	f       Fault
	keyFP   string
	matched int
	applied int
}

func (a *activeFault) describe() string {
	f := a.f
	var parts []string
	if f.Delay > 0 {
		parts = append(parts, "delay "+f.Delay.String())
	}
	switch {
	case f.Reset:
		parts = append(parts, "reset")
	case f.Status != 0:
		parts = append(parts, fmt.Sprintf("status %d", f.Status))
	case f.QueueState != "":
		parts = append(parts, "try_again "+f.QueueState)
	case f.FutureError != "":
		parts = append(parts, "future error")
	}
	if f.DropResponse {
		parts = append(parts, "drop response")
	}
	if f.Truncate {
		parts = append(parts, "truncate")
	}
	if f.Malformed {
		parts = append(parts, "malformed")
	}
	return fmt.Sprintf("#%d %s", a.id, strings.Join(parts, "+"))
}

type faultTable struct {
	mu     sync.Mutex
	nextID int
	faults []*activeFault
	hits   map[int]int
}

// Inject installs a fault and returns its id (see Fault and FaultHits).
func (s *Server) Inject(f Fault) int {
	t := &s.faults
	t.mu.Lock()
	defer t.mu.Unlock()
	t.nextID++
	a := &activeFault{id: t.nextID, f: f}
	if f.Key != "" {
		a.keyFP = types.KeyFingerprint(f.Key)
	}
	if t.hits == nil {
		t.hits = map[int]int{}
	}
	t.faults = append(t.faults, a)
	return a.id
}

// ClearFaults removes every fault (hit counts are kept).
func (s *Server) ClearFaults() {
	s.faults.mu.Lock()
	s.faults.faults = nil
	s.faults.mu.Unlock()
}

// RemoveFault removes one fault by id.
func (s *Server) RemoveFault(id int) {
	t := &s.faults
	t.mu.Lock()
	defer t.mu.Unlock()
	for i, a := range t.faults {
		if a.id == id {
			t.faults = append(t.faults[:i], t.faults[i+1:]...)
			return
		}
	}
}

// FaultHits is how many requests fault id has been applied to.
func (s *Server) FaultHits(id int) int {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	return s.faults.hits[id]
}

func (t *faultTable) match(owner, endpoint string) *activeFault {
	t.mu.Lock()
	defer t.mu.Unlock()
	for i, a := range t.faults {
		if a.keyFP != "" && a.keyFP != owner || a.f.Endpoint != "" && a.f.Endpoint != endpoint {
			continue
		}
		a.matched++
		n := a.matched - a.f.Skip
		if n <= 0 || a.f.Every > 0 && n%a.f.Every != 0 {
			continue
		}
		a.applied++
		t.hits[a.id]++
		if a.f.Times > 0 && a.applied >= a.f.Times {
			t.faults = append(t.faults[:i:i], t.faults[i+1:]...)
		}
		cp := *a
		return &cp
	}
	return nil
}

// applyBefore applies the parts of a fault that replace handling; done
// reports that rep is the answer.
func (s *Server) applyBefore(c *call, a *activeFault) (rep reply, done bool) {
	f := a.f
	switch {
	case f.Reset:
		return reply{}, true
	case f.Status != 0:
		rep = detailReply(f.Status, "injected fault: %s", http.StatusText(f.Status))
		if f.QueueState != "" {
			rep = jsonReply(f.Status, queueStateBody(f))
		}
		if f.Body != "" {
			rep.body, rep.ctype = []byte(f.Body), "application/json"
		}
		if f.EmptyBody {
			rep.body, rep.ctype = nil, ""
		}
		rep.header = http.Header{}
		if f.RetryAfter != "" {
			rep.header.Set("Retry-After", f.RetryAfter)
		}
		if f.RetryAfterMs != "" {
			rep.header.Set("retry-after-ms", f.RetryAfterMs)
		}
		if f.ShouldRetry != "" {
			rep.header.Set("x-should-retry", f.ShouldRetry)
		}
		return rep, true
	case f.QueueState != "" && c.endpoint == EndpointRetrieveFuture:
		id, r, ok := c.pollRequestID()
		if !ok {
			return r, true
		}
		body := queueStateBody(f)
		body["type"], body["request_id"] = "try_again", id
		return okJSON(body), true
	}
	return reply{}, false
}

func queueStateBody(f Fault) map[string]any {
	m := map[string]any{"queue_state": f.QueueState}
	if f.QueueStateReason != "" {
		m["queue_state_reason"] = f.QueueStateReason
	}
	return m
}

func futureErrorBody(msg string, cat types.Category) []byte {
	if cat == "" {
		cat = types.CategoryUnknown
	}
	b, _ := json.Marshal(map[string]string{"error": msg, "category": string(cat)})
	return b
}

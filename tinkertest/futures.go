package tinkertest

import (
	"encoding/json"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/tinkex-go/tinkex/types"
)

// Futures. A submit answers {"request_id": id} (HTTP 200). retrieve_future
// long-polls: it holds the request until the future is done or the hold
// (WithLongPollHold) passes, then answers
//   - {"type":"try_again","request_id","queue_state":"active"} while running;
//   - {"error","category"} (HTTP 200) when the work failed;
//   - {"status":"complete_metadata","response_payload_size"} once, with
//     WithCompleteMetadata, when the poll says allow_metadata_only=true;
//   - the result: protobuf (application/x-protobuf) when the poll's Accept
//     names application/x-protobuf and the result is a sample or
//     forward/backward output; JSON otherwise (the ≤0.24 encoding for those).
//
// A finished future is kept for WithFutureTTL (retrieved: 30 s after its
// result was delivered, so a re-poll after a lost response still gets it;
// completed: 10 min) and then forgotten; polling it answers 410 (promise
// expired). An id the server never issued, or one issued to another key,
// answers 404.

type future struct {
	id, owner, requestType string
	modelID, samplerID     string // what the future is for, for the log
	seq                    int64
	done                   chan struct{}
	finished               bool
	value                  any
	errMsg                 string
	category               types.Category
	completedAt            time.Time
	retrievedAt            time.Time
}

type futureStore struct {
	m         map[string]*future
	tomb      map[string]struct{}
	tombQ     []string
	lastSweep time.Time
}

// tombLimit is how many expired future ids are remembered (to answer 410
// rather than 404); between tombLimit and twice that are kept.
const tombLimit = 200_000

func (fs *futureStore) init() {
	fs.m = map[string]*future{}
	fs.tomb = map[string]struct{}{}
}

// newFuture registers a future; if id exists it returns the existing one
// and false. Under mu.
func (s *Server) newFuture(id, owner, requestType string) (*future, bool) {
	s.sweep()
	if f := s.store.m[id]; f != nil {
		return f, false
	}
	delete(s.store.tomb, id)
	f := &future{id: id, owner: owner, requestType: requestType, done: make(chan struct{})}
	s.store.m[id] = f
	return f, true
}

func (s *Server) complete(f *future, v any, err error) {
	if f.finished {
		return
	}
	f.finished = true
	f.completedAt = s.now()
	if err != nil {
		f.errMsg, f.category = err.Error(), errCategory(err)
	} else {
		f.value = v
	}
	close(f.done)
}

// fail makes f a failed future, replacing a result it may already have.
func (s *Server) fail(f *future, err error) {
	if !f.finished {
		s.complete(f, nil, err)
		return
	}
	f.value, f.errMsg, f.category = nil, err.Error(), errCategory(err)
}

// sweep forgets expired futures, at most once a second. Under mu.
func (s *Server) sweep() {
	now := s.now()
	fs := &s.store
	if now.Sub(fs.lastSweep) < time.Second && now.After(fs.lastSweep) {
		return
	}
	fs.lastSweep = now
	for id, f := range fs.m {
		if !f.finished {
			continue
		}
		if !f.retrievedAt.IsZero() && now.Sub(f.retrievedAt) >= s.cfg.retrievedTTL ||
			now.Sub(f.completedAt) >= s.cfg.completedTTL {
			s.expire(id)
		}
	}
}

func (s *Server) expire(id string) {
	fs := &s.store
	delete(fs.m, id)
	fs.tomb[id] = struct{}{}
	fs.tombQ = append(fs.tombQ, id)
	// Trim in batches (when twice the limit is reached, back to the limit),
	// so each expiry costs amortized O(1) rather than a copy of the queue.
	if len(fs.tombQ) > 2*tombLimit {
		n := len(fs.tombQ) - tombLimit
		for _, old := range fs.tombQ[:n] {
			delete(fs.tomb, old)
		}
		fs.tombQ = append([]string(nil), fs.tombQ[n:]...)
	}
}

// ExpireFuture forgets a future now, as if its TTL had passed: polls then
// answer 410.
func (s *Server) ExpireFuture(requestID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.store.m[requestID]; ok {
		s.expire(requestID)
	}
}

// Futures is how many futures the server currently holds (pending or
// finished but not yet expired).
func (s *Server) Futures() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.store.m)
}

func (c *call) pollRequestID() (string, reply, bool) {
	o, rep, ok := c.parse()
	if !ok {
		return "", rep, false
	}
	id := o.str("request_id", true)
	o.boolean("allow_metadata_only", true)
	if err := o.finish(); err != nil {
		return "", detailReply(http.StatusBadRequest, "%v", err), false
	}
	c.note(func(e *Entry) { e.RequestID = id })
	return id, reply{}, true
}

func (c *call) retrieveFuture() reply {
	o, rep, ok := c.parse()
	if !ok {
		return rep
	}
	id := o.str("request_id", true)
	metaOnly := o.boolean("allow_metadata_only", true)
	if err := o.finish(); err != nil {
		return detailReply(http.StatusBadRequest, "%v", err)
	}
	c.note(func(e *Entry) { e.RequestID = id })
	s := c.s
	s.mu.Lock()
	f := s.store.m[id]
	_, expired := s.store.tomb[id]
	hold := s.cfg.hold
	if f != nil && c.fault != nil && c.fault.f.FutureError != "" {
		s.fail(f, &opError{msg: c.fault.f.FutureError, category: c.fault.f.Category})
	}
	s.mu.Unlock()
	switch {
	case f == nil && expired:
		return detailReply(http.StatusGone, "Promise expired: request %s is no longer available", id)
	case f == nil || f.owner != c.owner:
		return detailReply(http.StatusNotFound, "Future %s not found", id)
	}
	c.note(func(e *Entry) {
		e.RequestType, e.ModelID, e.SamplerID = f.requestType, f.modelID, f.samplerID
		if f.modelID != "" || f.samplerID != "" {
			e.SeqID, e.HasSeqID = f.seq, true
		}
	})
	if !c.awaitFuture(f, hold) {
		return okJSON(map[string]string{"type": "try_again", "request_id": id, "queue_state": "active"})
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, gone := s.store.m[id]; !gone {
		return detailReply(http.StatusGone, "Promise expired: request %s is no longer available", id)
	}
	if f.errMsg != "" {
		f.retrievedAt = s.now()
		return reply{status: http.StatusOK, ctype: "application/json", body: futureErrorBody(f.errMsg, f.category)}
	}
	res := encodeResult(f.value, c.r.Header.Get("Accept"))
	if metaOnly && s.cfg.completeMetadata {
		return okJSON(map[string]any{"status": "complete_metadata", "response_payload_size": len(res.body)})
	}
	f.retrievedAt = s.now()
	return res
}

// awaitFuture waits up to hold for f; it reports whether f is done.
func (c *call) awaitFuture(f *future, hold time.Duration) bool {
	select {
	case <-f.done:
		return true
	default:
	}
	if hold <= 0 {
		return false
	}
	t := time.NewTimer(hold)
	defer t.Stop()
	select {
	case <-f.done:
		return true
	case <-t.C:
	case <-c.r.Context().Done():
	case <-c.s.closed:
	}
	return false
}

// encodeResult renders a finished future's value for a poll's Accept.
func encodeResult(v any, accept string) reply {
	proto := strings.Contains(strings.ToLower(accept), "application/x-protobuf")
	switch r := v.(type) {
	case *SampleResult:
		if proto {
			return reply{status: http.StatusOK, ctype: "application/x-protobuf", body: encodeSampleResponse(r)}
		}
		return okJSON(sampleJSON(r))
	case *FwdBwdResult:
		if proto {
			return reply{status: http.StatusOK, ctype: "application/x-protobuf", body: encodeFwdBwdOutput(r)}
		}
		return okJSON(fwdbwdJSON(r))
	}
	return okJSON(v)
}

// jsonFloat is a float that renders NaN as null.
type jsonFloat float64

func (f jsonFloat) MarshalJSON() ([]byte, error) {
	if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
		return []byte("null"), nil
	}
	return json.Marshal(float64(f))
}

func sampleJSON(r *SampleResult) map[string]any {
	seqs := make([]map[string]any, len(r.Sequences))
	for i, s := range r.Sequences {
		seqs[i] = map[string]any{"stop_reason": s.StopReason, "tokens": s.Tokens, "logprobs": s.Logprobs}
	}
	out := map[string]any{"sequences": seqs, "type": "sample", "prompt_cache_hit_tokens": r.PromptCacheHitTokens}
	if r.PromptLogprobs != nil {
		lps := make([]*jsonFloat, len(r.PromptLogprobs))
		for i, p := range r.PromptLogprobs {
			if p != nil {
				v := jsonFloat(*p)
				lps[i] = &v
			}
		}
		out["prompt_logprobs"] = lps
	}
	if r.TopkPromptLogprobs != nil {
		rows := make([]any, len(r.TopkPromptLogprobs))
		for i, row := range r.TopkPromptLogprobs {
			if row == nil {
				continue
			}
			cells := make([][2]any, len(row))
			for j, e := range row {
				cells[j] = [2]any{e.Token, e.Logprob}
			}
			rows[i] = cells
		}
		out["topk_prompt_logprobs"] = rows
	}
	return out
}

func tensorJSON(t Tensor) map[string]any {
	m := map[string]any{"dtype": t.Dtype, "shape": t.Shape}
	if t.Dtype == "int64" {
		m["data"] = t.Ints
	} else {
		m["data"] = t.Floats
	}
	return m
}

func fwdbwdJSON(r *FwdBwdResult) map[string]any {
	outs := make([]map[string]any, len(r.LossFnOutputs))
	for i, d := range r.LossFnOutputs {
		outs[i] = map[string]any{}
		for k, t := range d {
			outs[i][k] = tensorJSON(t)
		}
	}
	return map[string]any{"loss_fn_output_type": r.LossFnOutputType, "loss_fn_outputs": outs, "metrics": r.Metrics}
}

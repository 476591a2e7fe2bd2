package chaos

import (
	"fmt"
	"math"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/tinkex-go/tinkex/tinkertest"
	"github.com/tinkex-go/tinkex/types"
)

// verdict is what the request log says about the run.
type verdict struct {
	mismatches      []string // requests that did not end as their faults call for
	userErrors      int      // requests answered with a user-class 4xx
	userRetried     []string // user errors that were sent again
	seqGaps         []string // models whose training seq_ids are not 1..n
	faulted         int      // submit and poll requests a fault was applied to
	considered      int      // submit and poll requests
	faultsByKind    map[string]int
	resubmits       int // sampling resubmissions (after 429 or 410)
	submitRetries   int // training submit attempts beyond the first
	pendingAtServer int // training ops the server still waits on
}

var submitEndpoints = map[string]bool{
	tinkertest.EndpointAsample: true, tinkertest.EndpointForwardBackward: true, tinkertest.EndpointOptimStep: true,
}

// isUserStatus reports whether a status is a user error (4xx other than
// 408, 409, 410 and 429).
func isUserStatus(s int) bool {
	return s >= 400 && s < 500 && s != 408 && s != 409 && s != 410 && s != 429
}

// analyze derives each request's expected end from the faults the server
// applied to its submits and polls, and compares it with how it ended.
func (h *harness) analyze(ops []*op) verdict {
	v := verdict{faultsByKind: map[string]int{}}
	entries := h.srv.Requests(tinkertest.Match{})
	if d := h.srv.DroppedRequests(); d > 0 {
		v.mismatches = append(v.mismatches, fmt.Sprintf("the request log dropped %d entries", d))
	}
	fault := func(e tinkertest.Entry) faultKind {
		if e.FaultID == 0 {
			return fkNone
		}
		return h.faults[e.FaultID]
	}

	subs := map[int][]tinkertest.Entry{}      // op index → its submits
	polls := map[string][]tinkertest.Entry{}  // request id → its polls
	seqs := map[string]map[int64]bool{}       // model → seq_ids received
	byIdem := map[string][]tinkertest.Entry{} // idempotency key → attempts
	lrs := map[float64]int{}
	for _, o := range ops {
		if o.kind == opOptimStep {
			lrs[o.lr] = o.idx
		}
	}
	for _, e := range entries {
		if submitEndpoints[e.Endpoint] || e.Endpoint == tinkertest.EndpointRetrieveFuture {
			v.considered++
			if e.FaultID != 0 {
				v.faulted++
				v.faultsByKind[fault(e).String()]++
			}
		}
		if k := e.Header.Get("X-Idempotency-Key"); k != "" && e.Method == http.MethodPost {
			byIdem[k] = append(byIdem[k], e)
		}
		switch e.Endpoint {
		case tinkertest.EndpointRetrieveFuture:
			polls[e.RequestID] = append(polls[e.RequestID], e)
		case tinkertest.EndpointAsample:
			if idx, ok := promptIndex(e.Body); ok {
				subs[idx] = append(subs[idx], e)
			}
		case tinkertest.EndpointForwardBackward, tinkertest.EndpointOptimStep:
			idx, ok := trainingIndex(e, lrs)
			if !ok {
				continue
			}
			subs[idx] = append(subs[idx], e)
			if e.HasSeqID && e.ModelID != "" {
				if seqs[e.ModelID] == nil {
					seqs[e.ModelID] = map[int64]bool{}
				}
				seqs[e.ModelID][e.SeqID] = true
			}
		}
	}

	// No user error is sent again under the same idempotency key.
	for _, attempts := range byIdem {
		for i, e := range attempts {
			if isUserStatus(e.Status) {
				v.userErrors++
				if i != len(attempts)-1 {
					v.userRetried = append(v.userRetried, fmt.Sprintf("%s seq %d: status %d then %d more attempts",
						e.Endpoint, e.SeqID, e.Status, len(attempts)-1-i))
				}
			}
		}
	}

	// Training seq_ids are 1..n per model, across restarts.
	for model, set := range seqs {
		var max int64
		for s := range set {
			if s > max {
				max = s
			}
		}
		if int64(len(set)) != max || set[0] {
			missing := []int64{}
			for s := int64(1); s <= max; s++ {
				if !set[s] {
					missing = append(missing, s)
				}
			}
			v.seqGaps = append(v.seqGaps, fmt.Sprintf("%s: %d seq_ids up to %d, missing %v", model, len(set), max, missing))
		}
		v.pendingAtServer += h.srv.PendingOps(model)
	}

	crashes := h.crashesSent()
	for _, o := range ops {
		s := subs[o.idx]
		var want types.Kind
		var why string
		if o.kind == opSample {
			want, why = h.expectSample(s, polls, fault)
			if len(s) > 1 {
				v.resubmits += len(s) - 1
			}
		} else {
			want, why = h.expectTraining(s, polls, fault)
			if len(s) > 1 {
				v.submitRetries += len(s) - 1
			}
			if len(s) == 0 && crashes["training:"+h.trainers[o.client].ModelID()] > 0 {
				want, why = types.KindClientRestarted, "never submitted; its training actor was crashed"
			}
		}
		got := types.KindUnknown
		if o.err != nil {
			got = types.KindOf(o.err)
		}
		if o.err != nil && got == types.KindUnknown || got != want || o.hung {
			v.mismatches = append(v.mismatches, fmt.Sprintf("%s #%d (%d submits): got %s, want %s (%s) after %s; err=%v; log: %s",
				o.kind, o.idx, len(s), kindName(o.err), kindLabel(want), why, o.duration.Round(time.Millisecond),
				shorten(fmt.Sprint(o.err)), describeEntries(o.start, s, polls)))
		}
	}
	sort.Strings(v.mismatches)
	return v
}

// describeEntries summarizes an op's submits and their polls for a
// mismatch report: endpoint, status, fault and time since the op started.
func describeEntries(start time.Time, subs []tinkertest.Entry, polls map[string][]tinkertest.Entry) string {
	var parts []string
	for i, s := range subs {
		parts = append(parts, fmt.Sprintf("%s %d %q +%s", s.Endpoint, s.Status, s.Fault, s.Time.Sub(start).Round(time.Millisecond)))
		for _, p := range pollsOf(polls, subs, i) {
			parts = append(parts, fmt.Sprintf("poll %d %q +%s", p.Status, p.Fault, p.Time.Sub(start).Round(time.Millisecond)))
		}
	}
	return strings.Join(parts, "; ")
}

func kindLabel(k types.Kind) string {
	if k == types.KindUnknown {
		return "ok"
	}
	return k.String()
}

// expectSample walks a Sample call's submits: 429 resubmits, 5xx, resets,
// stalls, truncated and malformed answers end the call (sampling does not
// auto-retry), and an accepted submit's polls decide the rest (410 once
// resubmits; a malformed result fails validation).
func (h *harness) expectSample(subs []tinkertest.Entry, polls map[string][]tinkertest.Entry, fault func(tinkertest.Entry) faultKind) (types.Kind, string) {
	if len(subs) == 0 {
		return types.KindUnknown, "no submit in the log"
	}
	expired := 0
	for i, s := range subs {
		last := i == len(subs)-1
		f := fault(s)
		if f == fk429RetryAfter || f == fk429Bare {
			if last {
				return types.KindRateLimited, "last submit was rate limited"
			}
			continue
		}
		if f == fkReset && !last && s.Header.Get("X-Idempotency-Key") == subs[i+1].Header.Get("X-Idempotency-Key") {
			// net/http replays a request with an X-Idempotency-Key on a
			// fresh connection when a reused one was reset before any byte
			// of the answer; the replay decides.
			continue
		}
		if k, ok := terminalSubmitKind(f); ok {
			if !last {
				return types.KindUnknown, fmt.Sprintf("submit %d hit %s and was followed by another submit", i+1, f)
			}
			return k, "submit hit " + f.String()
		}
		k, why, again := pollOutcome(pollsOf(polls, subs, i), fault, &expired, 1)
		if again && !last {
			continue
		}
		if !last {
			return types.KindUnknown, fmt.Sprintf("submit %d ended with %s but was followed by another submit", i+1, why)
		}
		return k, why
	}
	return types.KindUnknown, "unreachable"
}

// expectTraining: a training submit is retried with the same seq_id after
// 429, 5xx, resets, stalls and truncated answers; a malformed answer or a
// user error ends it (the server spends the seq_id either way); an accepted submit's polls decide the rest (410 ends it: training
// does not resubmit).
func (h *harness) expectTraining(subs []tinkertest.Entry, polls map[string][]tinkertest.Entry, fault func(tinkertest.Entry) faultKind) (types.Kind, string) {
	if len(subs) == 0 {
		return types.KindUnknown, "never submitted"
	}
	for _, s := range subs[1:] {
		if s.SeqID != subs[0].SeqID || s.ModelID != subs[0].ModelID {
			return types.KindUnknown, fmt.Sprintf("retried with seq_id %d after %d", s.SeqID, subs[0].SeqID)
		}
	}
	for i, s := range subs {
		last := i == len(subs)-1
		f := fault(s)
		if f.retriedByClient() {
			if last {
				k, _ := terminalSubmitKind(f)
				return k, "retries exhausted on " + f.String()
			}
			continue
		}
		if k, ok := terminalSubmitKind(f); ok {
			if !last {
				return types.KindUnknown, fmt.Sprintf("submit hit %s and was sent again", f)
			}
			return k, "submit hit " + f.String()
		}
		if !last {
			return types.KindUnknown, fmt.Sprintf("accepted submit %d was followed by another", i+1)
		}
		expired := 0
		k, why, _ := pollOutcome(pollsOf(polls, subs, i), fault, &expired, 0)
		return k, why
	}
	return types.KindUnknown, "unreachable"
}

// pollsOf returns the polls that belong to subs[i]: those of its request
// id that arrived after it and before the next submit (by the log's
// arrival numbers). A resubmission keeps its
// seq_id, and the fake names a sample's future "<sampler>:<seq_id>", so
// after a 410 the resubmission's future has the same request id and its
// polls must not be read as the first submit's.
func pollsOf(polls map[string][]tinkertest.Entry, subs []tinkertest.Entry, i int) []tinkertest.Entry {
	var out []tinkertest.Entry
	for _, p := range polls[subs[i].RequestID] {
		if p.Index < subs[i].Index || i+1 < len(subs) && p.Index > subs[i+1].Index {
			continue
		}
		out = append(out, p)
	}
	return out
}

// pollOutcome reads the last poll of a future: 410 expires it (again
// reports whether the caller resubmits: sampling does so once), a
// malformed 200 fails validation, anything else is the result.
func pollOutcome(ps []tinkertest.Entry, fault func(tinkertest.Entry) faultKind, expired *int, resubmits int) (types.Kind, string, bool) {
	if len(ps) == 0 {
		return types.KindUnknown, "accepted, never polled", false
	}
	lp := ps[len(ps)-1]
	switch {
	case lp.Status == http.StatusGone:
		*expired++
		return types.KindPromiseExpired, "last poll answered 410", *expired <= resubmits
	case lp.Status == http.StatusOK && fault(lp) == fkMalformed:
		return types.KindValidation, "last poll answer malformed", false
	case fault(lp) == fkUser400:
		return types.KindUser, "last poll answered 400 (category user)", false
	case fault(lp).retriedByClient():
		return types.KindUnknown, "last poll hit " + fault(lp).String() + " and was not re-polled", false
	}
	return types.KindUnknown, "result", false
}

// promptIndex reads the op index from an asample body's first prompt token.
func promptIndex(body any) (int, bool) {
	m, _ := body.(map[string]any)
	p, _ := m["prompt"].(map[string]any)
	chunks, _ := p["chunks"].([]any)
	if len(chunks) == 0 {
		return 0, false
	}
	c, _ := chunks[0].(map[string]any)
	toks, _ := c["tokens"].([]any)
	if len(toks) == 0 {
		return 0, false
	}
	f, ok := toks[0].(float64)
	return int(f) - 1, ok
}

// trainingIndex reads the op index from a forward_backward's loss_fn_config
// or an optim_step's learning rate.
func trainingIndex(e tinkertest.Entry, lrs map[float64]int) (int, bool) {
	m, _ := e.Body.(map[string]any)
	if e.Endpoint == tinkertest.EndpointForwardBackward {
		switch cfg := m["loss_fn_config"].(type) {
		case map[string]float64:
			v, ok := cfg["chaos_op"]
			return int(math.Round(v)), ok
		case map[string]any:
			v, ok := cfg["chaos_op"].(float64)
			return int(math.Round(v)), ok
		}
		return 0, false
	}
	ap, _ := m["adam_params"].(map[string]any)
	lr, ok := ap["learning_rate"].(float64)
	if !ok {
		return 0, false
	}
	idx, ok := lrs[lr]
	return idx, ok
}

// A sample resubmitted after a 410 keeps its seq_id, so the fake gives its
// future the same request id: each submit's polls are the ones between it
// and the next submit. (Reading all of them as the first submit's made a
// correct client look wrong, once in some hundred runs.)
func TestPollsOfSplitsByResubmission(t *testing.T) {
	sub := func(i uint64) tinkertest.Entry { return tinkertest.Entry{Index: i, RequestID: "s:sample:0:7"} }
	poll := func(i uint64, status int) tinkertest.Entry {
		return tinkertest.Entry{Index: i, RequestID: "s:sample:0:7", Status: status}
	}
	subs := []tinkertest.Entry{sub(1), sub(4)}
	polls := map[string][]tinkertest.Entry{"s:sample:0:7": {poll(2, 200), poll(3, 410), poll(5, 400), poll(6, 400)}}
	first, second := pollsOf(polls, subs, 0), pollsOf(polls, subs, 1)
	if len(first) != 2 || first[1].Status != 410 {
		t.Fatalf("first submit's polls = %+v, want the two before the resubmission", first)
	}
	if len(second) != 2 || second[0].Index != 5 {
		t.Fatalf("second submit's polls = %+v, want the two after it", second)
	}
}

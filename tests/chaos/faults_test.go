package chaos

import (
	"time"

	"github.com/tinkex-go/tinkex/tinkertest"
	"github.com/tinkex-go/tinkex/types"
)

// faultKind is what a scripted fault does to the request it hits; the
// expected end of each request is derived from the kinds applied to it.
type faultKind int

const (
	fkNone          faultKind = iota
	fk429RetryAfter           // 429 with Retry-After / retry-after-ms
	fk429Bare                 // 429 without any hint
	fk500
	fk502
	fk503
	fkReset     // connection reset before the request is handled
	fkStall     // the server stalls past the client's per-request timeout
	fkTruncate  // handled, then half the body and the connection closed
	fkMalformed // handled, then a body that does not parse (JSON or protobuf)
	fk410       // promise expired on a poll
	fkTryAgain  // try_again (queue state) polls: singles and storms
	fkUser400   // 400 with category user
)

var faultNames = [...]string{
	fkNone: "none", fk429RetryAfter: "429 with Retry-After", fk429Bare: "429 without Retry-After",
	fk500: "500", fk502: "502", fk503: "503", fkReset: "connection reset", fkStall: "stall past timeout",
	fkTruncate: "truncated body", fkMalformed: "malformed body", fk410: "410 on poll",
	fkTryAgain: "try_again", fkUser400: "400 user error",
}

func (k faultKind) String() string { return faultNames[k] }

// retriedByClient reports whether the HTTP layer retries a training submit
// or the poller re-polls after this fault.
func (k faultKind) retriedByClient() bool {
	switch k {
	case fk429RetryAfter, fk429Bare, fk500, fk502, fk503, fkReset, fkStall, fkTruncate, fkTryAgain:
		return true
	}
	return false
}

// Timing of the per-request timeout and of the stalls that exceed it. The
// timeout leaves a wide margin over a normal request on a loaded CI
// machine, so only an injected stall ever reaches it.
const (
	requestTimeout = 5 * time.Second
	stallFor       = requestTimeout + time.Second
)

// plannedFault is one fault of the plan and its kind.
type plannedFault struct {
	kind  faultKind
	fault tinkertest.Fault
}

func every(endpoint string, n int, kind faultKind, f tinkertest.Fault) plannedFault {
	f.Endpoint, f.Every = endpoint, n
	return plannedFault{kind: kind, fault: f}
}

// faultPlan is the chaos mix's faults, in installation order (the first
// fault that applies to a request wins). The Every periods are chosen so
// that about 20 % of the submit and poll requests are hit; the run
// measures and reports the actual share.
func faultPlan(requests int) []plannedFault {
	const (
		asample  = tinkertest.EndpointAsample
		poll     = tinkertest.EndpointRetrieveFuture
		fwdbwd   = tinkertest.EndpointForwardBackward
		optim    = tinkertest.EndpointOptimStep
		userBody = `{"detail":"injected user error","category":"user"}`
	)
	var plan []plannedFault
	// try_again storms: bursts of consecutive try_again answers to every
	// poll in flight, spread over the run (a run makes a little more than
	// one poll per request).
	polls := requests
	for skip := polls / 5; skip < polls; skip += polls / 5 {
		plan = append(plan, plannedFault{kind: fkTryAgain, fault: tinkertest.Fault{
			Endpoint: poll, QueueState: "paused_capacity", Skip: skip, Times: 25}})
	}
	plan = append(plan,
		// Sampling submits: nothing but 429 is retried, by design.
		every(asample, 101, fk429RetryAfter, tinkertest.Fault{Status: 429, RetryAfterMs: "1"}),
		every(asample, 149, fk429Bare, tinkertest.Fault{Status: 429}),
		every(asample, 41, fk500, tinkertest.Fault{Status: 500}),
		every(asample, 43, fk502, tinkertest.Fault{Status: 502}),
		every(asample, 47, fk503, tinkertest.Fault{Status: 503}),
		every(asample, 53, fkReset, tinkertest.Fault{Reset: true}),
		every(asample, 157, fkStall, tinkertest.Fault{Delay: stallFor}),
		every(asample, 59, fkTruncate, tinkertest.Fault{Truncate: true}),
		every(asample, 61, fkMalformed, tinkertest.Fault{Malformed: true}),
		every(asample, 67, fkUser400, tinkertest.Fault{Status: 400, Body: userBody}),

		// Polls of every future.
		every(poll, 31, fk429RetryAfter, tinkertest.Fault{Status: 429, RetryAfterMs: "2"}),
		every(poll, 37, fk429Bare, tinkertest.Fault{Status: 429}),
		every(poll, 29, fk500, tinkertest.Fault{Status: 500}),
		every(poll, 41, fk502, tinkertest.Fault{Status: 502}),
		every(poll, 43, fk503, tinkertest.Fault{Status: 503}),
		every(poll, 47, fkReset, tinkertest.Fault{Reset: true}),
		every(poll, 211, fkStall, tinkertest.Fault{Delay: stallFor}),
		every(poll, 53, fkTruncate, tinkertest.Fault{Truncate: true}),
		every(poll, 139, fkMalformed, tinkertest.Fault{Malformed: true}),
		every(poll, 113, fk410, tinkertest.Fault{Status: 410}),
		every(poll, 31, fkTryAgain, tinkertest.Fault{QueueState: "paused_rate_limit"}),
		every(poll, 307, fkUser400, tinkertest.Fault{Status: 400, Body: userBody}),

		// Training submits: retried by the HTTP layer with the same seq_id.
		every(fwdbwd, 23, fk429RetryAfter, tinkertest.Fault{Status: 429, RetryAfterMs: "2"}),
		every(fwdbwd, 97, fk429Bare, tinkertest.Fault{Status: 429}),
		every(fwdbwd, 29, fk500, tinkertest.Fault{Status: 500, RetryAfterMs: "1"}),
		every(fwdbwd, 31, fk502, tinkertest.Fault{Status: 502, RetryAfterMs: "1"}),
		every(fwdbwd, 37, fk503, tinkertest.Fault{Status: 503, RetryAfterMs: "1"}),
		every(fwdbwd, 89, fkReset, tinkertest.Fault{Reset: true}),
		every(fwdbwd, 307, fkStall, tinkertest.Fault{Delay: stallFor}),
		every(fwdbwd, 83, fkTruncate, tinkertest.Fault{Truncate: true}),
		every(fwdbwd, 79, fkMalformed, tinkertest.Fault{Malformed: true}),
		every(fwdbwd, 71, fkUser400, tinkertest.Fault{Status: 400, Body: userBody}),

		every(optim, 23, fk429RetryAfter, tinkertest.Fault{Status: 429, RetryAfter: "0", RetryAfterMs: "2"}),
		every(optim, 101, fk429Bare, tinkertest.Fault{Status: 429}),
		every(optim, 29, fk500, tinkertest.Fault{Status: 500, RetryAfterMs: "1"}),
		every(optim, 31, fk502, tinkertest.Fault{Status: 502, RetryAfterMs: "1"}),
		every(optim, 37, fk503, tinkertest.Fault{Status: 503, RetryAfterMs: "1"}),
		every(optim, 97, fkReset, tinkertest.Fault{Reset: true}),
		every(optim, 311, fkStall, tinkertest.Fault{Delay: stallFor}),
		every(optim, 89, fkTruncate, tinkertest.Fault{Truncate: true}),
		every(optim, 73, fkMalformed, tinkertest.Fault{Malformed: true}),
		every(optim, 67, fkUser400, tinkertest.Fault{Status: 400, Body: userBody}),
	)
	return plan
}

// expectedKindFor is the error a request ends with when fault is the last
// thing that happened to its sampling submit (NoAutoRetry) or the last
// attempt of a training submit.
func terminalSubmitKind(k faultKind) (types.Kind, bool) {
	switch k {
	case fk500, fk502, fk503:
		return types.KindServer, true
	case fkUser400:
		return types.KindUser, true
	case fkReset, fkTruncate:
		return types.KindConnection, true
	case fkStall:
		return types.KindTimeout, true
	case fkMalformed:
		return types.KindValidation, true
	}
	return types.KindUnknown, false
}

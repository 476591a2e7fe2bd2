package httpclient

import (
	"net/http"

	"github.com/tinkex-go/tinkex/types"
)

// PollAction is what the future poller does after a retrieve_future that
// did not return a future body: the polling column of the retry truth
// table (spec BEHAVIOR.md), decided by PollPolicy.
type PollAction uint8

// The poll actions.
const (
	// PollFail ends the poll with the request's error.
	PollFail PollAction = iota
	// PollBackoff waits the poll backoff (see PollBackoff) and polls again:
	// a transport failure or attempt timeout, a 429, a 5xx, or a status the
	// server marked x-should-retry: true.
	PollBackoff
	// PollNow polls again at once: a 408 (the server held the request
	// until its own timeout) or one of the first MaxBareBadRequests
	// empty-bodied 400s (a proxy's rejection).
	PollNow
	// PollExpired ends the poll with KindPromiseExpired: the server no
	// longer has the future (410).
	PollExpired
)

// MaxBareBadRequests is how many empty-bodied 400s in a row are re-polled
// before the poll fails.
const MaxBareBadRequests = 3

// PollPolicy decides what a failed poll leads to from its Outcome alone:
// x-should-retry first (false fails, true polls again), then Outcome.Kind,
// the one classifier the HTTP layer and the sampler use too. bare counts
// the empty-bodied 400s already re-polled in a row. A body of category
// "user" makes any status but 429 a user error, which fails the poll, as
// in every other column of the truth table.
func PollPolicy(o Outcome, bare int) PollAction {
	if v, ok := o.ShouldRetryHeader(); ok {
		switch {
		case !v:
			return PollFail
		case o.StatusCode == http.StatusRequestTimeout:
			return PollNow
		}
		return PollBackoff
	}
	if o.StatusCode == http.StatusGone && o.Category() != types.CategoryUser {
		// The poller's own reading of a 410 (elsewhere a user error).
		return PollExpired
	}
	switch o.Kind() {
	case types.KindConnection, types.KindTimeout:
		if o.StatusCode == http.StatusRequestTimeout {
			return PollNow
		}
		return PollBackoff
	case types.KindRateLimited, types.KindServer:
		return PollBackoff
	case types.KindUser:
		if bareBadRequest(o) && bare < MaxBareBadRequests {
			return PollNow
		}
	}
	return PollFail
}

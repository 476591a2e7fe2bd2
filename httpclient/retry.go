package httpclient

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"strings"

	"github.com/tinkex-go/tinkex/types"
)

// Outcome is what one attempt produced: a response (StatusCode != 0) or a
// transport error (Err != nil).
type Outcome struct {
	// Attempt is the 1-based number of this attempt.
	Attempt int
	// StatusCode is the HTTP status, 0 when no response arrived.
	StatusCode int
	// Header holds the response headers (nil without a response).
	Header http.Header
	// Body is the (capped) response body.
	Body []byte
	// Err is the transport error, when no usable response arrived.
	Err error
	// Timeout is true when Err is this attempt's own timeout.
	Timeout bool
}

// ShouldRetryHeader returns the server's x-should-retry verdict, if it sent one.
func (o Outcome) ShouldRetryHeader() (retry, ok bool) {
	switch strings.ToLower(strings.TrimSpace(o.Header.Get("x-should-retry"))) {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	return false, false
}

// Category returns the failure category named by a JSON error body
// ({"category": "user"|"server"|"unknown", ...}), or "" when there is none.
func (o Outcome) Category() types.Category {
	d := parseErrorBody(o.Body)
	if d.Category == "" {
		return ""
	}
	return types.ParseCategory(d.Category)
}

// Kind classifies the outcome. This is the one classifier: the HTTP layer,
// the sampling path and the future poller all ask it.
func (o Outcome) Kind() types.Kind {
	if o.Err != nil || o.StatusCode == 0 {
		if permanentFailure(o.Err) != "" {
			return types.KindValidation
		}
		if o.Timeout {
			return types.KindTimeout
		}
		return types.KindConnection
	}
	if o.StatusCode >= 200 && o.StatusCode < 300 {
		return types.KindUnknown
	}
	if k := types.KindForStatus(o.StatusCode); k == types.KindAuth || k == types.KindPermission || k == types.KindNotFound {
		return k
	}
	if o.StatusCode != 429 && o.Category() == types.CategoryUser {
		return types.KindUser
	}
	return types.KindForStatus(o.StatusCode)
}

// RetryPolicy decides whether a failed attempt is retried (within the
// call's MaxRetries). Swap it per call through Policy.Retry.
type RetryPolicy func(o Outcome) bool

// DefaultRetryPolicy is the HTTP-layer column of the truth table:
// x-should-retry overrides everything; otherwise transport failures and
// 408, 409, 429 and 5xx are retried, unless the body says category "user".
// Transport failures that recur on every attempt (an untrusted certificate,
// an unparsable URL, a header net/http refuses; see permanentFailure) are
// not retried: they are KindValidation errors.
var DefaultRetryPolicy RetryPolicy = func(o Outcome) bool {
	if v, ok := o.ShouldRetryHeader(); ok {
		return v
	}
	if o.Err != nil {
		return permanentFailure(o.Err) == ""
	}
	if o.Category() == types.CategoryUser {
		return false
	}
	s := o.StatusCode
	return s == 408 || s == 409 || s == 429 || s >= 500
}

// NoAutoRetryPolicy retries only when the server explicitly says
// x-should-retry: true. Sampling submits use it: a 429 goes back to the
// sampler (which owns the shared backoff) and a 5xx is returned at once.
var NoAutoRetryPolicy RetryPolicy = func(o Outcome) bool {
	v, ok := o.ShouldRetryHeader()
	return ok && v
}

type errorBody struct {
	Detail   any    `json:"detail"`
	Error    any    `json:"error"`
	Message  any    `json:"message"`
	Category string `json:"category"`
}

func parseErrorBody(body []byte) errorBody {
	var d errorBody
	b := strings.TrimSpace(string(body))
	if len(b) == 0 || b[0] != '{' || len(b) > 1<<20 {
		return d
	}
	_ = json.Unmarshal([]byte(b), &d)
	return d
}

// errorMessage extracts a human message from an error body, scrubbed of
// the secrets (types.Redact) and then truncated: scrubbing first, so a key
// that straddles the cut cannot leave a prefix behind.
func errorMessage(body []byte, secrets ...string) string {
	const max = 512
	d := parseErrorBody(body)
	var msg string
	for _, v := range []any{d.Detail, d.Error, d.Message} {
		if v == nil {
			continue
		}
		if s, ok := v.(string); ok {
			msg = s
		} else if b, err := json.Marshal(v); err == nil {
			msg = string(b)
		}
		if msg != "" {
			break
		}
	}
	if msg == "" {
		msg = strings.TrimSpace(string(body))
	}
	return scrubCut(msg, max, secrets)
}

// isTimeout reports whether a transport error is a timeout.
func isTimeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

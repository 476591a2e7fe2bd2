package types

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Kind classifies a tinkex error. Every Kind is itself an error, so the kinds
// double as sentinels: errors.Is(err, types.ErrRateLimited) is true for any
// *Error of that kind, however deeply wrapped.
type Kind uint8

// The error kinds. See spec/BEHAVIOR.md for which layer retries which kind.
const (
	KindUnknown         Kind = iota // not classified
	KindRateLimited                 // HTTP 429
	KindServer                      // HTTP 5xx, or a future failed with category server
	KindUser                        // HTTP 4xx other than 401/403/404/408/409/429 (a 410 too, except on retrieve_future), or a 3xx redirect (never followed): the request or the base URL is wrong
	KindConnection                  // transport failure: refused, reset, DNS, truncated body; or a proxy's bare 400 (see httpclient.ErrProxyRejected)
	KindTimeout                     // HTTP 408, or one attempt exceeded its timeout
	KindPromiseExpired              // HTTP 410 on retrieve_future
	KindRequestFailed               // a future completed with {"error","category"}
	KindValidation                  // bad input, an undecodable response, or a transport failure that recurs on every attempt (untrusted certificate, a header net/http refuses); nothing (more) was sent
	KindCanceled                    // the caller's context ended
	KindClientStopped               // the client was stopped; queued work was not sent
	KindClientRestarted             // the client actor crashed and restarted while the call was pending
	KindConflict                    // HTTP 409: a user error (e.g. a checkpoint name taken without overwrite)
	KindSeqGap                      // an earlier training submit failed for good; its seq_id is lost (see ErrSeqGap)
	KindAuth                        // HTTP 401: the credential is missing, malformed or not accepted; also a user error
	KindPermission                  // HTTP 403: the credential may not do this; also a user error
	KindNotFound                    // HTTP 404: no such model, sampler, checkpoint or route; also a user error
)

// Sentinels for errors.Is. They are the Kind values themselves.
var (
	ErrRateLimited     error = KindRateLimited
	ErrServer          error = KindServer
	ErrUser            error = KindUser
	ErrConnection      error = KindConnection
	ErrTimeout         error = KindTimeout
	ErrPromiseExpired  error = KindPromiseExpired
	ErrRequestFailed   error = KindRequestFailed
	ErrValidation      error = KindValidation
	ErrCanceled        error = KindCanceled
	ErrClientStopped   error = KindClientStopped
	ErrClientRestarted error = KindClientRestarted
	ErrConflict        error = KindConflict
	// ErrSeqGap: a training submit of this TrainingClient failed for good
	// after it took its seq_id, so the server will wait for that seq_id
	// forever. Every later operation of the client fails with it at once;
	// the error's Message names the lost seq_id and its operation. Recover
	// with a new TrainingClient from the last saved state
	// (CreateTrainingClientFromState).
	ErrSeqGap error = KindSeqGap
	// ErrAuth, ErrPermission and ErrNotFound refine ErrUser: an error of
	// one of these kinds also matches errors.Is(err, ErrUser).
	ErrAuth       error = KindAuth
	ErrPermission error = KindPermission
	ErrNotFound   error = KindNotFound
)

var kindNames = [...]string{
	KindUnknown:         "unknown",
	KindRateLimited:     "rate_limited",
	KindServer:          "server",
	KindUser:            "user",
	KindConnection:      "connection",
	KindTimeout:         "timeout",
	KindPromiseExpired:  "promise_expired",
	KindRequestFailed:   "request_failed",
	KindValidation:      "validation",
	KindCanceled:        "canceled",
	KindClientStopped:   "client_stopped",
	KindClientRestarted: "client_restarted",
	KindConflict:        "conflict",
	KindSeqGap:          "seq_gap",
	KindAuth:            "auth",
	KindPermission:      "permission",
	KindNotFound:        "not_found",
}

// String returns the kind's snake_case name, as used in telemetry and metrics.
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// ParseKind returns the Kind whose String is name (as telemetry metadata
// carries it); false for any other name.
func ParseKind(name string) (Kind, bool) {
	for k, n := range kindNames {
		if n == name {
			return Kind(k), true
		}
	}
	return KindUnknown, false
}

// Error makes a Kind usable as a sentinel error.
func (k Kind) Error() string { return "tinkex: " + strings.ReplaceAll(k.String(), "_", " ") }

// Format prints the kind's name for %s and %v (fmt would otherwise prefer
// Error), quoted for %q, and its number for %d.
func (k Kind) Format(f fmt.State, verb rune) {
	switch verb {
	case 'd':
		fmt.Fprintf(f, "%d", uint8(k))
	case 'q':
		fmt.Fprintf(f, "%q", k.String())
	default:
		_, _ = f.Write([]byte(k.String()))
	}
}

// refinesUser reports whether k is a more specific user error.
func (k Kind) refinesUser() bool {
	return k == KindAuth || k == KindPermission || k == KindNotFound
}

// Category is the failure category the server reports for a failed request.
type Category string

// Categories as they appear on the wire.
const (
	CategoryUnknown Category = "unknown"
	CategoryServer  Category = "server"
	CategoryUser    Category = "user"
)

// ParseCategory maps a wire value to a Category; anything unrecognised is
// CategoryUnknown, as in the Python SDK.
func ParseCategory(s string) Category {
	switch Category(strings.ToLower(s)) {
	case CategoryServer:
		return CategoryServer
	case CategoryUser:
		return CategoryUser
	default:
		return CategoryUnknown
	}
}

// Error is the one error type tinkex returns. Use errors.As to get it and
// errors.Is with the Err* sentinels to test its kind. Its message names the
// operation, the method and path, the status and what was tried; it never
// contains an API key.
type Error struct {
	Kind       Kind
	Op         string        // the tinkex operation, e.g. "sample", "forward_backward", "retrieve_future"
	Method     string        // HTTP method, when a request was involved
	Path       string        // URL path (no host, no query secrets), when a request was involved
	StatusCode int           // HTTP status of the last response, 0 if none
	Category   Category      // server-reported category, when known
	RequestID  string        // server request or future id, when known
	RetryAfter time.Duration // the server's Retry-After hint, when it sent one
	Attempts   int           // HTTP attempts made, 0 when nothing was sent
	Message    string        // what went wrong, in words (server detail or local reason)
	Err        error         // the underlying cause, if any
	// NoRetry records that the server answered x-should-retry: false: the
	// request must not be sent again, whatever its status (IsRetryable is
	// false, and no tinkex layer resends it).
	NoRetry bool
}

// Error renders e as one line with one "tinkex: " prefix, e.g.
// `tinkex: sample: POST /api/v1/asample: 500 server error after 1 attempt: overloaded`.
// A cause that is itself an *Error is rendered without its prefix, and
// without its operation and kind when they add nothing (same kind, no
// request details): "tinkex: forward_backward: validation error: datum 0:
// loss_fn_inputs["weights"][1] is NaN; …".
func (e *Error) Error() string { return "tinkex: " + e.body() }

// body is the message without the "tinkex: " prefix.
func (e *Error) body() string {
	var sb strings.Builder
	if e.Op != "" {
		sb.WriteString(e.Op)
		sb.WriteString(": ")
	}
	if e.Method != "" || e.Path != "" {
		sb.WriteString(strings.TrimSpace(e.Method + " " + e.Path))
		sb.WriteString(": ")
	}
	if e.StatusCode != 0 {
		fmt.Fprintf(&sb, "%d ", e.StatusCode)
	}
	sb.WriteString(strings.ReplaceAll(e.Kind.String(), "_", " "))
	sb.WriteString(" error")
	if e.Category != "" && e.Kind == KindRequestFailed {
		fmt.Fprintf(&sb, " (category %s)", e.Category)
	}
	if e.Attempts > 0 {
		fmt.Fprintf(&sb, " after %d attempt", e.Attempts)
		if e.Attempts > 1 {
			sb.WriteString("s")
		}
	}
	if e.RequestID != "" {
		fmt.Fprintf(&sb, " [request %s]", e.RequestID)
	}
	sb.WriteString(e.tail())
	return sb.String()
}

// tail is ": message" and ": cause", each when present and not repeated.
func (e *Error) tail() string {
	var sb strings.Builder
	if e.Message != "" {
		sb.WriteString(": ")
		sb.WriteString(e.Message)
	}
	if e.Err != nil {
		raw := e.Err.Error()
		if e.Message == "" || !strings.Contains(e.Message, raw) {
			sb.WriteString(": ")
			sb.WriteString(e.causeText(raw))
		}
	}
	return sb.String()
}

// causeText renders e.Err (whose text is raw) with the first nested
// *Error's text shortened: no second prefix, and only its message when it
// is of e's kind and names no request.
func (e *Error) causeText(raw string) string {
	var inner *Error
	if !errors.As(e.Err, &inner) {
		return raw
	}
	short := inner.body()
	if inner.Kind == e.Kind && inner.Method == "" && inner.Path == "" && inner.StatusCode == 0 &&
		inner.Attempts == 0 && inner.RequestID == "" && inner.Message != "" {
		short = strings.TrimPrefix(inner.tail(), ": ")
	}
	return strings.Replace(raw, inner.Error(), short, 1)
}

// Wrap returns an error of err's kind (KindValidation when err is not an
// *Error) for op, whose message is the formatted context and whose cause is
// err. Its text carries one prefix: Wrap("forward_backward", err, "datum
// %d", 0) reads "tinkex: forward_backward: validation error: datum 0: …".
func Wrap(op string, err error, format string, args ...any) *Error {
	k := KindOf(err)
	if k == KindUnknown {
		k = KindValidation
	}
	return &Error{Kind: k, Op: op, Message: fmt.Sprintf(format, args...), Err: err}
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is e's Kind. ErrUser also matches the kinds
// that refine it (KindAuth, KindPermission, KindNotFound).
func (e *Error) Is(target error) bool {
	k, ok := target.(Kind)
	return ok && (k == e.Kind || (k == KindUser && e.Kind.refinesUser()))
}

// NewError returns an *Error of kind k with a message.
func NewError(k Kind, op, format string, args ...any) *Error {
	return &Error{Kind: k, Op: op, Message: fmt.Sprintf(format, args...)}
}

// ValidationError returns a KindValidation error for op. Use it for bad input
// caught before anything is sent.
func ValidationError(op, format string, args ...any) *Error {
	return NewError(KindValidation, op, format, args...)
}

// KindOf returns the Kind of the first *Error in err's chain, KindCanceled for
// a bare context error, and KindUnknown otherwise.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	if isContextErr(err) {
		return KindCanceled
	}
	return KindUnknown
}

// IsUserError reports whether err is the caller's to fix, so retrying the
// same request cannot help: a 4xx other than 408/429 and a poll's 410 (a 409 conflict
// included; 401, 403 and 404 have their own kinds, KindAuth, KindPermission
// and KindNotFound), a refused 3xx redirect, a future that failed with
// category user, or input (or a configuration) rejected by validation.
func IsUserError(err error) bool {
	var e *Error
	return errors.As(err, &e) && IsUserKind(e.Kind, e.Category)
}

// IsUserKind is IsUserError's rule on an error's parts: its kind and, for
// a failed request, its category (ignored for the other kinds). Telemetry,
// which carries them as metadata, classifies with it.
func IsUserKind(k Kind, c Category) bool {
	switch k {
	case KindUser, KindValidation, KindConflict, KindAuth, KindPermission, KindNotFound:
		return true
	case KindRequestFailed:
		return c == CategoryUser
	}
	return false
}

// IsRetryable reports whether the same operation may succeed if tried again:
// rate limiting, server errors, transport failures and timeouts, an expired
// future, or a client restart that lost the call. User errors (conflicts
// included), validation errors, failed requests, cancellation, stopped
// clients and seq gaps are not, and neither is anything the server answered
// with x-should-retry: false (Error.NoRetry).
func IsRetryable(err error) bool {
	if e := (*Error)(nil); errors.As(err, &e) && e.NoRetry {
		return false
	}
	switch KindOf(err) {
	case KindRateLimited, KindServer, KindConnection, KindTimeout,
		KindPromiseExpired, KindClientRestarted:
		return true
	}
	return false
}

// KindForStatus maps a non-2xx HTTP status to the Kind an error with that
// final status has. A 3xx is KindUser: tinkex never follows redirects. A
// 410 is KindUser too (a checkpoint or run that is gone); only the future
// poller reads a 410 on retrieve_future as KindPromiseExpired.
func KindForStatus(status int) Kind {
	switch {
	case status == 408:
		return KindTimeout
	case status == 409:
		return KindConflict
	case status == 429:
		return KindRateLimited
	case status == 401:
		return KindAuth
	case status == 403:
		return KindPermission
	case status == 404:
		return KindNotFound
	case status >= 500:
		return KindServer
	case status >= 400:
		return KindUser
	case status >= 300 && status < 400:
		return KindUser // a redirect, never followed: the base URL is wrong
	}
	return KindUnknown
}

func isContextErr(err error) bool {
	return errors.Is(err, errContextCanceled) || errors.Is(err, errContextDeadline)
}

// MaxRetryAfter bounds a server's Retry-After hint: one in (0, MaxRetryAfter]
// is honoured exactly; a longer one is implausible, and the client's own
// backoff applies instead.
const MaxRetryAfter = 60 * time.Second

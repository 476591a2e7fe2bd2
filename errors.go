package tinkex

import (
	"errors"

	"github.com/tinkex-go/tinkex/telemetry"
	"github.com/tinkex-go/tinkex/types"
)

// Error is the one error type tinkex returns; see types.Error.
type Error = types.Error

// ErrorKind classifies an Error; each kind is also a sentinel for errors.Is.
type ErrorKind = types.Kind

// Category is the server-reported failure category of a request.
type Category = types.Category

// Sentinels for errors.Is.
var (
	ErrRateLimited     = types.ErrRateLimited
	ErrServer          = types.ErrServer
	ErrUser            = types.ErrUser
	ErrConnection      = types.ErrConnection
	ErrTimeout         = types.ErrTimeout
	ErrPromiseExpired  = types.ErrPromiseExpired
	ErrRequestFailed   = types.ErrRequestFailed
	ErrValidation      = types.ErrValidation
	ErrCanceled        = types.ErrCanceled
	ErrClientStopped   = types.ErrClientStopped
	ErrClientRestarted = types.ErrClientRestarted
	ErrConflict        = types.ErrConflict
	ErrSeqGap          = types.ErrSeqGap
	// ErrAuth (401), ErrPermission (403) and ErrNotFound (404) refine
	// ErrUser: errors.Is(err, ErrUser) is true for them too.
	ErrAuth       = types.ErrAuth
	ErrPermission = types.ErrPermission
	ErrNotFound   = types.ErrNotFound
	// ErrNoSession: a training or sampling client was asked of a
	// ServiceClient made WithoutSession (the error is also KindValidation).
	ErrNoSession = errors.New("tinkex: the ServiceClient has no session")
)

// Failure categories.
const (
	CategoryUnknown = types.CategoryUnknown
	CategoryServer  = types.CategoryServer
	CategoryUser    = types.CategoryUser
)

// IsUserError reports whether err is the caller's to fix (a 4xx, a refused
// redirect, a request failed with category user, or bad input): retrying
// cannot help.
func IsUserError(err error) bool { return types.IsUserError(err) }

// IsRetryable reports whether trying the same operation again may succeed.
func IsRetryable(err error) bool { return types.IsRetryable(err) }

// errorKindMeta records err's kind in md, an exception event's metadata,
// and for a failed request its category too: together they tell a user
// error from the others (types.IsUserError), as the server telemetry
// reports them (telemetry.ServerEvent).
func errorKindMeta(md map[string]any, err error) map[string]any {
	md[telemetry.KeyKind] = types.KindOf(err).String()
	var e *types.Error
	if errors.As(err, &e) && e.Kind == types.KindRequestFailed && e.Category != "" {
		md[telemetry.KeyCategory] = string(e.Category)
	}
	return md
}

package tokenizer

import (
	"errors"
	"fmt"
)

// Kind classifies a tokenizer error. Every Kind is itself an error, so the
// kinds double as sentinels: errors.Is(err, tokenizer.ErrNotFound) is true for
// any *Error of that kind, however deeply wrapped.
type Kind uint8

// The error kinds.
const (
	KindNotFound     Kind = iota + 1 // the repo, revision or file does not exist (HTTP 404, or absent from a directory)
	KindUnauthorized                 // the hub refused access (HTTP 401/403): a gated or private repo, or a bad HF_TOKEN
	KindNetwork                      // the hub could not be reached or answered 5xx / 429; retrying later may succeed
	KindOffline                      // HF_HUB_OFFLINE is set (or WithOffline) and the file is not in the cache
	KindMalformed                    // the file was read but is not a valid tokenizer file
	KindUnsupported                  // the file is valid but uses a feature this package does not implement
	KindCanceled                     // the caller's context ended
	KindCache                        // the cache directory could not be read or written
)

// Sentinels for errors.Is. They are the Kind values themselves.
var (
	ErrNotFound     error = KindNotFound
	ErrUnauthorized error = KindUnauthorized
	ErrNetwork      error = KindNetwork
	ErrOffline      error = KindOffline
	ErrMalformed    error = KindMalformed
	ErrUnsupported  error = KindUnsupported
	ErrCanceled     error = KindCanceled
	ErrCache        error = KindCache
)

var kindNames = [...]string{
	KindNotFound:     "not found",
	KindUnauthorized: "unauthorized",
	KindNetwork:      "network failure",
	KindOffline:      "offline and not cached",
	KindMalformed:    "malformed tokenizer file",
	KindUnsupported:  "unsupported tokenizer feature",
	KindCanceled:     "canceled",
	KindCache:        "cache failure",
}

// String names the kind.
func (k Kind) String() string {
	if int(k) < len(kindNames) && kindNames[k] != "" {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Error makes a Kind usable as a sentinel error.
func (k Kind) Error() string { return "tokenizer: " + k.String() }

// Error is the one error type of this package. It names the repo (or local
// directory) and the file it concerns, so a user can tell a missing file from
// an unreachable hub from a tokenizer this package cannot run.
type Error struct {
	Kind   Kind   // what went wrong
	Repo   string // Hugging Face repo id, or the local directory / file path
	File   string // file within the repo, e.g. "tokenizer.json"; empty when not about one file
	Status int    // HTTP status from the hub, 0 when no response was received
	Detail string // a human-readable specific, e.g. the unsupported feature
	Err    error  // the underlying cause, if any
}

// Error formats the error as "tokenizer: <kind>: repo <repo> file <file>: <detail>: <cause>".
func (e *Error) Error() string {
	msg := "tokenizer: " + e.Kind.String()
	if e.Repo != "" {
		msg += ": repo " + e.Repo
	}
	if e.File != "" {
		msg += " file " + e.File
	}
	if e.Status != 0 {
		msg += fmt.Sprintf(" (HTTP %d)", e.Status)
	}
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is this error's Kind.
func (e *Error) Is(target error) bool {
	k, ok := target.(Kind)
	return ok && k == e.Kind
}

// KindOf returns the Kind of the first *Error in err's chain, or 0.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return 0
}

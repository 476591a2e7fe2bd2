package types

import "context"

var (
	errContextCanceled = context.Canceled
	errContextDeadline = context.DeadlineExceeded
)

// CanceledError wraps a context error (ctx.Err() or context.Cause) as a
// KindCanceled *Error for op. errors.Is(err, context.Canceled) and
// errors.Is(err, context.DeadlineExceeded) still work through it.
func CanceledError(op string, cause error) *Error {
	return &Error{Kind: KindCanceled, Op: op, Err: cause}
}

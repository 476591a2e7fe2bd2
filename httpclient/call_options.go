package httpclient

import (
	"context"
	"net/http"
	"time"

	"github.com/tinkex-go/tinkex/types"
)

// CallOptions override the client's defaults for every request made on
// behalf of one call. They travel in the call's context (WithCallOptions),
// so a call that makes several requests (a submit and its polls, a chunked
// forward_backward) applies them to each without a new parameter.
//
// Timeout and MaxRetries replace the client's defaults only for requests
// that use them (Policy.Timeout 0, Policy.MaxRetries nil): submits, reads
// and create_* calls; the future poller's long polls keep their own.
// Header is added to every request of the call; it cannot replace
// X-API-Key or a header tinkex sets for the request itself.
type CallOptions struct {
	// Timeout bounds each HTTP attempt; 0 keeps the default.
	Timeout time.Duration
	// MaxRetries replaces the default retry count; nil keeps it.
	MaxRetries *int
	// Header holds extra request headers.
	Header http.Header
}

type callOptionsKey struct{}

// WithCallOptions returns ctx carrying o merged over the options ctx
// already carries: a set Timeout or MaxRetries replaces the earlier one,
// headers accumulate.
func WithCallOptions(ctx context.Context, o CallOptions) context.Context {
	cur := CallOptionsFrom(ctx)
	if o.Timeout != 0 {
		cur.Timeout = o.Timeout
	}
	if o.MaxRetries != nil {
		n := *o.MaxRetries
		cur.MaxRetries = &n
	}
	if len(o.Header) > 0 {
		h := cur.Header.Clone()
		if h == nil {
			h = http.Header{}
		}
		for k, vs := range o.Header {
			for _, v := range vs {
				h.Add(k, v)
			}
		}
		cur.Header = h
	}
	return context.WithValue(ctx, callOptionsKey{}, cur)
}

// CallOptionsFrom returns the options ctx carries (the zero value if none).
func CallOptionsFrom(ctx context.Context) CallOptions {
	o, _ := ctx.Value(callOptionsKey{}).(CallOptions)
	return o
}

// validate returns a KindValidation error for a negative timeout or retry
// count.
func (o CallOptions) validate(op string) error {
	if o.Timeout < 0 {
		return types.ValidationError(op, "request timeout must not be negative, got %v", o.Timeout)
	}
	if o.MaxRetries != nil && *o.MaxRetries < 0 {
		return types.ValidationError(op, "request max retries must be >= 0, got %d", *o.MaxRetries)
	}
	return nil
}

package tinkex

import (
	"context"
	"net/http"
	"time"

	"github.com/tinkex-go/tinkex/httpclient"
)

// RequestOption adjusts the HTTP requests of one call. Apply options with
// WithRequestOptions: they ride on the context, so every call takes them
// (Sample, ForwardBackward, SaveState, GetInfo, REST reads, create_*),
// including each request a call makes (a chunked forward_backward's
// submits, a future's polls).
type RequestOption func(*httpclient.CallOptions)

// WithRequestOptions returns ctx carrying opts for the calls made with it;
// options already on ctx stay unless replaced (headers accumulate).
//
//	ctx := tinkex.WithRequestOptions(ctx, tinkex.WithRequestTimeout(10*time.Second),
//		tinkex.WithRequestMaxRetries(2), tinkex.WithHeader("X-Trace-Id", id))
//	out, err := tc.ForwardBackward(ctx, data, tinkex.LossCrossEntropy).Result(ctx)
func WithRequestOptions(ctx context.Context, opts ...RequestOption) context.Context {
	var o httpclient.CallOptions
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	return httpclient.WithCallOptions(ctx, o)
}

// WithRequestTimeout bounds each HTTP attempt of the call (default 60 s).
// The future poller's long polls keep their own timeout; bound a whole
// call, polls included, with the context's deadline. Negative fails the
// call with a KindValidation error, sending nothing.
func WithRequestTimeout(d time.Duration) RequestOption {
	return func(o *httpclient.CallOptions) { o.Timeout = d }
}

// WithRequestMaxRetries sets how often the HTTP layer retries the call's
// requests (default: the ServiceClient's WithMaxRetries, 10). It does not
// change which failures are retried, the second retry layer (whole
// re-sends under WithCallRetryBudget), nor the future poller's own loop.
// Negative fails the call with a KindValidation error, sending nothing.
func WithRequestMaxRetries(n int) RequestOption {
	return func(o *httpclient.CallOptions) { o.MaxRetries = &n }
}

// WithHeader adds a header to every request of the call. It cannot
// replace X-API-Key or the headers tinkex sets for a request; an invalid
// name or value fails the call with a KindValidation error.
func WithHeader(key, value string) RequestOption {
	return func(o *httpclient.CallOptions) {
		if o.Header == nil {
			o.Header = http.Header{}
		}
		o.Header.Add(key, value)
	}
}

package tinkex

import (
	"context"
	"time"

	"github.com/tinkex-go/tinkex/actors"
)

// RequestOption adjusts the HTTP requests of one call; apply it with
// WithRequestOptions.
type RequestOption = actors.RequestOption

// WithRequestOptions returns ctx carrying per-call options: every call made
// with ctx (and every request it makes, polls included) applies them.
func WithRequestOptions(ctx context.Context, opts ...RequestOption) context.Context {
	return actors.WithRequestOptions(ctx, opts...)
}

// WithRequestTimeout bounds each HTTP attempt of the call (default 60 s).
func WithRequestTimeout(d time.Duration) RequestOption { return actors.WithRequestTimeout(d) }

// WithRequestMaxRetries sets the call's HTTP retry count (default 10).
func WithRequestMaxRetries(n int) RequestOption { return actors.WithRequestMaxRetries(n) }

// WithHeader adds a header to every request of the call.
func WithHeader(key, value string) RequestOption { return actors.WithHeader(key, value) }

// WithDefaultHeaders adds headers to every request of a ServiceClient (over
// the CLOUDFLARE_ACCESS_CLIENT_ID/_SECRET headers from the environment).
func WithDefaultHeaders(h map[string]string) ServiceOption { return actors.WithDefaultHeaders(h) }

package tinkex

import (
	"context"
	"sync"
)

var defaultRuntime struct {
	once sync.Once
	rt   *Runtime
	err  error
}

// DefaultRuntime returns the process-wide runtime that NewServiceClient
// uses, starting it on first use with default options (logging per
// TINKER_LOG). It lives until the process ends; services created on it are
// stopped with their Close. Programs that want to choose options, attach
// metrics or stop everything at once call Start instead.
func DefaultRuntime() (*Runtime, error) {
	defaultRuntime.once.Do(func() {
		defaultRuntime.rt, defaultRuntime.err = Start(context.Background())
	})
	return defaultRuntime.rt, defaultRuntime.err
}

// NewServiceClient creates a ServiceClient on the default runtime: the
// session is created on the server before it returns. Options override the
// environment (TINKER_API_KEY, TINKER_BASE_URL, TINKER_PROJECT_ID,
// TINKER_TAGS, TINKER_TELEMETRY). Close the client when done.
func NewServiceClient(ctx context.Context, opts ...ServiceOption) (*ServiceClient, error) {
	rt, err := DefaultRuntime()
	if err != nil {
		return nil, err
	}
	return rt.NewServiceClient(ctx, opts...)
}

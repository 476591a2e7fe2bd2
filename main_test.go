package tinkex

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tinkex-go/tinkex/tinkertest"
)

const (
	keyA = "tml-actors-test-key-A-0123456789"
	keyB = "tml-actors-test-key-B-9876543210"
)

// env is a fake server and a runtime wired for fast, deterministic tests.
type env struct {
	srv *tinkertest.Server
	rt  *Runtime
}

func noEnv(string) string { return "" }

func newEnv(t *testing.T, srvOpts []tinkertest.Option, rtOpts ...RuntimeOption) *env {
	t.Helper()
	srv := tinkertest.NewServer(append([]tinkertest.Option{tinkertest.WithLongPollHold(20 * time.Millisecond)}, srvOpts...)...)
	opts := append([]RuntimeOption{
		withGetenv(noEnv),
		WithPollBackoff(PollBackoff{Initial: time.Millisecond, Max: 5 * time.Millisecond,
			TryAgainInitial: time.Millisecond, TryAgainMax: 5 * time.Millisecond}),
	}, rtOpts...)
	rt, err := Start(context.Background(), opts...)
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		require.NoError(t, rt.Stop(ctx))
		srv.Close()
	})
	return &env{srv: srv, rt: rt}
}

func (e *env) service(t *testing.T, opts ...ServiceOption) *ServiceClient {
	t.Helper()
	all := append([]ServiceOption{WithAPIKey(keyA), WithBaseURL(e.srv.URL())}, opts...)
	svc, err := e.rt.NewServiceClient(context.Background(), all...)
	require.NoError(t, err)
	return svc
}

func ctxT(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// captureLogs returns a text logger at level and a function that reads what
// it has written so far (safe while actors log).
func captureLogs(level slog.Level) (*slog.Logger, func() string) {
	var mu sync.Mutex
	var sb strings.Builder
	logger := slog.New(slog.NewTextHandler(writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return sb.Write(p)
	}), &slog.HandlerOptions{Level: level}))
	return logger, func() string {
		mu.Lock()
		defer mu.Unlock()
		return sb.String()
	}
}

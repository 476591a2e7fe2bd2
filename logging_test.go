package tinkex

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tinkex-go/tinkex/types"
)

// lockedBuffer is a writer safe to share with the runtime's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	sb strings.Builder
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.sb.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.sb.String()
}

// trainOnce runs a forward_backward (a span that stops: INFO) and an
// optim_step whose caller already gave up (a canceled exception: WARN).
func trainOnce(t *testing.T, e *env) {
	t.Helper()
	ctx := ctxT(t)
	tc := trainer(t, e.service(t))
	_, err := tc.ForwardBackward(ctx, []types.Datum{datum(t, 1, 2)}, types.LossCrossEntropy).Result(ctx)
	require.NoError(t, err)
	gone, cancel := context.WithCancel(ctx)
	cancel()
	_, err = tc.OptimStep(gone, types.DefaultAdamParams()).Result(ctx)
	require.ErrorIs(t, err, types.ErrCanceled)
}

// waitForLogs polls logs until it holds every want (spans end just after
// their futures complete, so a line may land a moment after Result).
func waitForLogs(t *testing.T, logs func() string, wants ...string) string {
	t.Helper()
	require.Eventually(t, func() bool {
		out := logs()
		for _, w := range wants {
			if !strings.Contains(out, w) {
				return false
			}
		}
		return true
	}, 10*time.Second, 2*time.Millisecond, "want %q in:\n%s", wants, logs())
	return logs()
}

// TestWithLoggerLogsEvents: WithLogger alone logs tinkex's events at their
// levels, filtered by the logger's level.
func TestWithLoggerLogsEvents(t *testing.T) {
	logger, logs := captureLogs(slog.LevelInfo)
	e := newEnv(t, nil, WithLogger(logger))
	trainOnce(t, e)
	out := waitForLogs(t, logs, "level=INFO msg=tinkex.training.forward_backward.stop",
		"level=WARN msg=tinkex.training.optim_step.exception", "kind=canceled")
	assert.NotContains(t, out, "tinkex.http.request.stop", "per-request events are DEBUG")
	assert.NotContains(t, out, keyA)
}

// TestTinkerLogLevels: TINKER_LOG=debug|info|warning logs the same events
// to stderr at that level; unset is silent.
func TestTinkerLogLevels(t *testing.T) {
	cases := map[string]struct{ want, not []string }{
		"debug":   {want: []string{"msg=tinkex.http.request.stop", "msg=tinkex.training.forward_backward.stop", "msg=tinkex.training.optim_step.exception"}},
		"INFO":    {want: []string{"msg=tinkex.training.forward_backward.stop", "msg=tinkex.training.optim_step.exception"}, not: []string{"msg=tinkex.http.request.stop"}},
		"warning": {want: []string{"msg=tinkex.training.optim_step.exception"}, not: []string{"msg=tinkex.training.forward_backward.stop", "msg=tinkex.http.request.stop"}},
		"":        {not: []string{"tinkex."}},
	}
	for level, c := range cases {
		t.Run(level, func(t *testing.T) {
			var out lockedBuffer
			e := newEnv(t, nil, withGetenv(func(k string) string {
				if k == EnvLog {
					return level
				}
				return ""
			}), withLogOutput(&out))
			trainOnce(t, e)
			got := waitForLogs(t, out.String, c.want...)
			for _, n := range c.not {
				assert.NotContains(t, got, n)
			}
			assert.NotContains(t, got, keyA)
		})
	}
}

// TestWithEventLogsOff keeps only the runtime's own log lines.
func TestWithEventLogsOff(t *testing.T) {
	logger, logs := captureLogs(slog.LevelDebug)
	e := newEnv(t, nil, WithLogger(logger), WithEventLogs(false))
	trainOnce(t, e)
	assert.NotContains(t, logs(), "msg=tinkex.")
}

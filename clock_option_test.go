package tinkex_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tinkex-go/tinkex"
	"github.com/tinkex-go/tinkex/clock"
	"github.com/tinkex-go/tinkex/telemetry"
)

// TestWithClockIsTheRuntimesTimeSource: a runtime started with a user's
// clock stamps its events with that clock's time, so the option reaches
// the runtime from the root package with a public clock type.
func TestWithClockIsTheRuntimesTimeSource(t *testing.T) {
	start := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	ctx := context.Background()
	rt, svc, stop := connect(ctx, tinkex.WithClock(clock.NewFake(start)))
	defer stop()

	var mu sync.Mutex
	var times []time.Time
	require.NoError(t, rt.Telemetry().Attach("clock-test", []string{"tinkex.http.request.stop"}, func(e telemetry.Event) {
		mu.Lock()
		times = append(times, e.Time)
		mu.Unlock()
	}))
	tc, err := svc.CreateLoRATrainingClient(ctx, "meta-llama/Llama-3.2-1B")
	require.NoError(t, err)
	_, err = tc.GetInfo(ctx)
	require.NoError(t, err)

	mu.Lock()
	defer mu.Unlock()
	require.NotEmpty(t, times)
	for _, got := range times {
		require.True(t, got.Equal(start), "event at %v, the fake clock says %v", got, start)
	}
}

package tinkex

import (
	"context"
	"log/slog"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tinkex-go/tinkex/clock"
	"github.com/tinkex-go/tinkex/tinkertest"
)

// rootGoroutines counts the goroutines running code of this package, other
// than the tests'.
func rootGoroutines() int {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	n := 0
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "github.com/tinkex-go/tinkex.") && !strings.Contains(g, "github.com/tinkex-go/tinkex.Test") {
			n++
		}
	}
	return n
}

// Heartbeats run on the runtime's clock, one every interval, with no
// goroutine between them; failures are counted and warned about once they
// have lasted 120 s, and the recovery is logged; after Close none is sent
// and no timer is left.
func TestHeartbeatsRunOnTheClockAndWarnAfterTwoMinutesOfFailures(t *testing.T) {
	fc := clock.NewFake(time.Unix(1_700_000_000, 0))
	var logs lockedBuffer
	e := newEnv(t, nil, WithClock(fc), WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	svc := e.service(t, WithTelemetry(false))
	const failures = 13 // at 10 s … 130 s: the 13th is 120 s after the first
	e.srv.Inject(tinkertest.Fault{Endpoint: tinkertest.EndpointHeartbeat, Status: 503, Times: failures})

	beat := func(wantOK, wantFailed int64) {
		t.Helper()
		<-fc.BlockUntil(1) // the next heartbeat is armed (the only timer)
		fc.Advance(DefaultHeartbeatInterval)
		require.Eventually(t, func() bool {
			ok, failed := svc.HeartbeatStats()
			return ok == wantOK && failed == wantFailed
		}, 10*time.Second, time.Millisecond)
	}
	for i := int64(1); i < failures; i++ {
		beat(0, i)
		require.Eventually(t, func() bool { return rootGoroutines() == 0 }, 10*time.Second, time.Millisecond,
			"no goroutine waits between heartbeats")
		assert.NotContains(t, logs.String(), "heartbeats have failed", "after %d failures (%d s)", i, 10*(i-1))
	}
	beat(0, failures)
	require.Eventually(t, func() bool { return strings.Contains(logs.String(), "session heartbeats have failed for 2m0s") },
		10*time.Second, time.Millisecond)
	beat(1, failures)
	require.Eventually(t, func() bool { return strings.Contains(logs.String(), "heartbeats recovered") },
		10*time.Second, time.Millisecond)
	assert.Equal(t, 1, strings.Count(logs.String(), "heartbeats have failed"), "warned once")
	assert.Equal(t, failures+1, e.srv.CountEndpoint(tinkertest.EndpointHeartbeat))

	<-fc.BlockUntil(1)
	require.NoError(t, svc.Close(context.Background()))
	assert.Zero(t, fc.Pending(), "Close stops the armed heartbeat")
	fc.Advance(time.Hour)
	assert.Equal(t, failures+1, e.srv.CountEndpoint(tinkertest.EndpointHeartbeat), "none after Close")
}

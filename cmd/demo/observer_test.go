package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tinkex-go/tinkex/telemetry"
)

// The observer turns bus events into the summary's counters: retries and
// 429s per client row, backoff windows per config, restarts per client
// (including a restart through its subtree) and per service subtree.
func TestObserverCounts(t *testing.T) {
	start := time.Now()
	o := newObserver(start, map[string]string{"fpA": "A", "fpB": "B"})
	at := func(ms int) time.Time { return start.Add(time.Duration(ms) * time.Millisecond) }
	ev := func(ms int, name string, meta map[string]any, m map[string]float64) {
		o.handle(telemetry.Event{Name: name, Time: at(ms), Metadata: meta, Measurements: m})
	}
	asample := map[string]any{telemetry.KeyConfig: "fpA", telemetry.KeyPath: "/api/v1/asample", telemetry.KeyOp: "sample",
		telemetry.KeyStatus: 429, telemetry.KeyKind: "rate_limited"}
	ev(100, telemetry.HTTPRequestError, asample, nil)
	ev(101, telemetry.HTTPRequestError, asample, nil)
	ev(102, telemetry.LimiterBackoffSet, map[string]any{telemetry.KeyConfig: "fpA"}, map[string]float64{telemetry.MeasureBackoffLeft: 1})
	ev(1100, telemetry.LimiterBackoffCleared, map[string]any{telemetry.KeyConfig: "fpA"}, map[string]float64{telemetry.MeasureDelay: 1})
	ev(1200, telemetry.HTTPRetry, map[string]any{telemetry.KeyConfig: "fpA", telemetry.KeyPath: "/api/v1/forward_backward",
		telemetry.KeyOp: "forward_backward", telemetry.KeyStatus: 503, telemetry.KeyKind: "server"},
		map[string]float64{telemetry.MeasureDelay: 0.2, telemetry.MeasureAttempt: 1})
	ev(1300, telemetry.FutureAPIError, map[string]any{telemetry.KeyConfig: "fpB", telemetry.KeySamplerID: "s-b",
		telemetry.KeyOp: "sample", telemetry.KeyStatus: 503}, nil)
	ev(1400, telemetry.HTTPRequestError, map[string]any{telemetry.KeyConfig: "fpB", telemetry.KeyPath: "/api/v1/optim_step",
		telemetry.KeyOp: "optim_step", telemetry.KeyStatus: 400, telemetry.KeyKind: "user"}, nil)

	started := func(ms int, sup, child string) {
		ev(ms, telemetry.SupervisorChildStarted, map[string]any{telemetry.KeySupervisor: sup, telemetry.KeyChild: child}, nil)
	}
	started(0, "service:A", "training:m-a")
	started(0, "service:A", "sampling:s-a")
	ev(2000, telemetry.SupervisorChildRestarted, map[string]any{telemetry.KeySupervisor: "service:A", telemetry.KeyChild: "sampling:s-a"}, nil)
	started(3000, "service:A", "training:m-a") // the subtree restarted: both clients start again
	started(3000, "service:A", "sampling:s-a")
	ev(3000, telemetry.SupervisorChildRestarted, map[string]any{telemetry.KeySupervisor: "clients", telemetry.KeyChild: "service:A"}, nil)

	c := o.counts()
	assert.Equal(t, map[string]int{"A/sampling": 2, "A/training": 1, "B/sampling": 1}, c.Retries)
	assert.Equal(t, map[string]int{"A/sampling": 2}, c.RateLimited)
	assert.Equal(t, map[string]int{"A/sampling": 2, "A/training": 1}, c.Restarts)
	assert.Equal(t, map[string]int{"A": 1}, c.ServiceRestarts)
	require.Len(t, c.Backoffs["A"], 1)
	assert.Equal(t, window{From: 102 * time.Millisecond, To: 1100 * time.Millisecond}, c.Backoffs["A"][0])
	assert.Empty(t, c.Backoffs["B"])

	n, ok := o.find(0, func(n note) bool { return n.Name == telemetry.HTTPRetry })
	require.True(t, ok)
	assert.Equal(t, "A/training", n.Client)
	assert.Equal(t, "A/training: forward_backward got 503 server, retrying in 200ms (attempt 1)", n.Text)
	_, ok = o.find(1500*time.Millisecond, func(n note) bool { return n.Name == telemetry.HTTPRetry })
	assert.False(t, ok, "find looks only after from")
}

func TestObserverRecentCollapsesRepeats(t *testing.T) {
	o := newObserver(time.Now(), nil)
	for _, text := range []string{"a", "b", "b", "b", "c", "d", "d"} {
		o.say(note{Text: text})
	}
	var got []string
	for _, n := range o.recent(3) {
		got = append(got, n.Text)
	}
	assert.Equal(t, []string{"b (×3)", "c", "d (×2)"}, got)
	got = nil
	for _, n := range o.recent(10) {
		got = append(got, n.Text)
	}
	assert.Equal(t, []string{"a", "b (×3)", "c", "d (×2)"}, got)
}

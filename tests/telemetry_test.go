package tests

import (
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tinkex-go/tinkex"
	"github.com/tinkex-go/tinkex/telemetry"
	"github.com/tinkex-go/tinkex/tinkertest"
)

// counts is what the test's telemetry handler counted for one config.
type counts struct {
	stops, exceptions int
	attempts          int // sum of the attempts of every logical request
	retries           int
	queueStates       map[string]int // queue_state → changes to it
}

// counter is a telemetry handler counting HTTP and queue-state events per
// config.
type counter struct {
	mu  sync.Mutex
	per map[string]*counts
}

func (c *counter) handle(e telemetry.Event) {
	fp, _ := e.Metadata[telemetry.KeyConfig].(string)
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.per[fp]
	if n == nil {
		n = &counts{queueStates: map[string]int{}}
		c.per[fp] = n
	}
	switch e.Name {
	case telemetry.HTTPRequestStop:
		n.stops++
		n.attempts += int(e.Measurements["attempts"])
	case telemetry.HTTPRequestError:
		n.exceptions++
		n.attempts += int(e.Measurements["attempts"])
	case telemetry.HTTPRetry:
		n.retries++
	case telemetry.QueueStateChange:
		n.queueStates[fmt.Sprint(e.Metadata[telemetry.KeyQueueState])]++
	}
}

func (c *counter) of(fp string) counts {
	c.mu.Lock()
	defer c.mu.Unlock()
	if n := c.per[fp]; n != nil {
		return *n
	}
	return counts{queueStates: map[string]int{}}
}

// Scenario 7. A handler attached for the test counts, per config: HTTP
// request stops (one per request the server answered with success, and
// with the exceptions, accounting for every request the server logged),
// retries (exactly the injected retryable faults) and queue-state changes
// (exactly the injected states). The logger handler prints every event
// without the API key.
func TestTelemetryCounts(t *testing.T) {
	w := newWorld(t)
	cnt := &counter{per: map[string]*counts{}}
	require.NoError(t, w.rt.Telemetry().Attach("acceptance-counter", []string{"tinkex.http.*", telemetry.QueueStateChange}, cnt.handle))
	logged := &syncBuffer{}
	detach, err := telemetry.AttachLogger(w.rt.Telemetry(), slog.New(slog.NewTextHandler(logged, &slog.HandlerOptions{Level: slog.LevelDebug})),
		telemetry.LoggerOptions{MinLevel: slog.LevelDebug})
	require.NoError(t, err)
	defer detach()

	a := w.party(t, "a", w.srvA, keyA, 1)
	b := w.party(t, "b", w.srvB, keyB, 2)
	fpA, fpB := a.svc.Fingerprint(), b.svc.Fingerprint()
	ctx := ctxT(t)

	// Retryable faults on A's training submits, and a sampling 500 the
	// server marks x-should-retry: false (retried by neither layer: an
	// exception, no retry).
	retryable := []int{
		w.srvA.Inject(tinkertest.Fault{Key: keyA, Endpoint: tinkertest.EndpointForwardBackward, Status: 500, RetryAfterMs: "1", Times: 1}),
		w.srvA.Inject(tinkertest.Fault{Key: keyA, Endpoint: tinkertest.EndpointOptimStep, Status: 503, RetryAfterMs: "1", Times: 1}),
	}
	sample500 := w.srvA.Inject(tinkertest.Fault{Key: keyA, Endpoint: tinkertest.EndpointAsample, Status: 500, ShouldRetry: "false", Skip: 5, Times: 1})

	var wg sync.WaitGroup
	for _, p := range []*party{a, b} {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for i, s := range p.train(ctx, t, 2, nil) {
				assert.NoError(t, s.fbErr, "%s step %d", p.name, i)
				assert.NoError(t, s.optErr, "%s step %d", p.name, i)
			}
		}()
		go func() {
			defer wg.Done()
			failed := 0
			for _, s := range p.sample(ctx, 20, nil) {
				if s.err != nil {
					assert.ErrorIs(t, s.err, tinkex.ErrServer)
					failed++
				}
			}
			if p == a {
				assert.Equal(t, 1, failed, "A's one sampling 500")
			} else {
				assert.Zero(t, failed)
			}
		}()
	}
	wg.Wait()

	// Two injected queue states on the polls of one operation.
	w.srvA.Inject(tinkertest.Fault{Key: keyA, Endpoint: tinkertest.EndpointRetrieveFuture, QueueState: "paused_capacity", Times: 1})
	w.srvA.Inject(tinkertest.Fault{Key: keyA, Endpoint: tinkertest.EndpointRetrieveFuture, QueueState: "paused_rate_limit", Times: 1})
	f := a.tc.OptimStep(ctx, tinkex.DefaultAdamParams())
	_, err = f.Result(ctx)
	require.NoError(t, err)
	assert.Equal(t, tinkex.QueueStatePausedRateLimit, f.QueueState())

	// Stop the runtime so no request is in flight when counting.
	w.stop(t)

	for _, c := range []struct {
		name string
		fp   string
		srv  *tinkertest.Server
	}{{"A", fpA, w.srvA}, {"B", fpB, w.srvB}} {
		got := cnt.of(c.fp)
		logged := c.srv.Count(tinkertest.Match{})
		succeeded := 0
		for _, r := range c.srv.Requests(tinkertest.Match{}) {
			if r.Status >= 200 && r.Status < 300 {
				succeeded++
			}
		}
		assert.Positive(t, got.stops, c.name)
		assert.Equal(t, succeeded, got.stops, "%s: one http stop per request the server answered with success", c.name)
		assert.GreaterOrEqual(t, got.stops+got.exceptions, logged-got.retries,
			"%s: every logged request that was not retried ended a logical request", c.name)
		assert.Equal(t, logged, got.attempts, "%s: the attempts of all logical requests are the requests the server logged", c.name)
	}
	gotA, gotB := cnt.of(fpA), cnt.of(fpB)
	hits := 0
	for _, id := range retryable {
		hits += w.srvA.FaultHits(id)
	}
	assert.Equal(t, 2, hits)
	assert.Equal(t, hits, gotA.retries, "A: one retry event per injected retryable fault")
	assert.Zero(t, gotB.retries, "B: no faults, no retries")
	assert.Equal(t, 1, w.srvA.FaultHits(sample500))
	assert.Equal(t, 1, gotA.exceptions, "A: the sampling 500 is the one failed request")
	assert.Zero(t, gotB.exceptions)
	assert.Equal(t, 1, gotA.queueStates["paused_capacity"], "A: each injected queue state is one change")
	assert.Equal(t, 1, gotA.queueStates["paused_rate_limit"])
	assert.Zero(t, gotB.queueStates["paused_capacity"]+gotB.queueStates["paused_rate_limit"])

	// The logger printed the events, naming configs by fingerprint and
	// never printing a key; nor did the runtime's own logger, nor any
	// event's metadata.
	out := logged.String()
	require.NotEmpty(t, out)
	assert.Contains(t, out, telemetry.HTTPRequestStop)
	assert.Contains(t, out, telemetry.HTTPRetry)
	assert.Contains(t, out, telemetry.QueueStateChange)
	assert.Contains(t, out, fpA)
	assert.Contains(t, out, fpB)
	for _, text := range []string{out, w.logs.String()} {
		for _, key := range []string{keyA, keyB, strings.TrimPrefix(keyA, "tml-"), strings.TrimPrefix(keyB, "tml-")} {
			assert.NotContains(t, text, key)
		}
	}
	for _, e := range w.rec.find(func(telemetry.Event) bool { return true }) {
		s := e.String()
		assert.NotContains(t, s, keyA)
		assert.NotContains(t, s, keyB)
	}
}

package telemetry

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tinkex-go/tinkex/types"
)

func newCollector(t *testing.T) (*PrometheusCollector, *prometheus.Registry, *Bus) {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	c, err := NewPrometheusCollector(reg)
	require.NoError(t, err)
	bus := NewBus()
	detach, err := c.Attach(bus)
	require.NoError(t, err)
	t.Cleanup(detach)
	return c, reg, bus
}

// compare checks the named metrics against the expected exposition text. It
// first asserts that every name is present in the registry, because
// GatherAndCompare filters both sides by name and would pass vacuously on a
// misspelt one.
func compare(t *testing.T, reg *prometheus.Registry, expected string, names ...string) {
	t.Helper()
	for _, n := range names {
		count, err := testutil.GatherAndCount(reg, n)
		require.NoError(t, err)
		require.Positive(t, count, "metric %s has no series", n)
		require.Contains(t, expected, "# TYPE "+n+" ", "expected text must describe %s", n)
	}
	assert.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(expected), names...))
}

func TestPrometheusHTTPMetrics(t *testing.T) {
	_, reg, bus := newCollector(t)
	md := map[string]any{KeyConfig: "cfgA", KeyPool: "sampling", KeyStatus: 200, KeyRequestID: "r-1", KeyModelID: "m-1"}
	bus.Execute(HTTPRequestStop, map[string]float64{MeasureDuration: 0.02, MeasureRetryCount: 1}, md)
	bus.Execute(HTTPRequestStop, map[string]float64{MeasureDuration: 0.2}, md)
	bus.Execute(HTTPRequestError, map[string]float64{MeasureDuration: 3},
		map[string]any{KeyConfig: "cfgA", KeyPool: "training", KeyStatus: 503})
	bus.Execute(HTTPRequestError, map[string]float64{MeasureDuration: 40},
		map[string]any{KeyConfig: "cfgB", KeyPool: "training"})
	bus.Execute(HTTPRetry, map[string]float64{MeasureAttempt: 1, MeasureDelay: 0.5},
		map[string]any{KeyConfig: "cfgA", KeyStatus: 429})
	bus.Execute(HTTPRetry, nil, map[string]any{KeyConfig: "cfgA", KeyStatus: 0})

	compare(t, reg, `
# HELP tinkex_http_requests_total Logical HTTP requests (all attempts of one call) that ended, by config fingerprint, pool and status class of the last response (none when there was no response).
# TYPE tinkex_http_requests_total counter
tinkex_http_requests_total{config="cfgA",pool="sampling",status_class="2xx"} 2
tinkex_http_requests_total{config="cfgA",pool="training",status_class="5xx"} 1
tinkex_http_requests_total{config="cfgB",pool="training",status_class="none"} 1
# HELP tinkex_http_retries_total HTTP attempts that failed and were retried, by config fingerprint and status (none for transport errors).
# TYPE tinkex_http_retries_total counter
tinkex_http_retries_total{config="cfgA",status="429"} 1
tinkex_http_retries_total{config="cfgA",status="none"} 1
`, "tinkex_http_requests_total", "tinkex_http_retries_total")

	count, err := testutil.GatherAndCount(reg, "tinkex_http_request_duration_seconds")
	require.NoError(t, err)
	assert.Equal(t, 3, count, "one histogram per label set")
	h := histogramOf(t, reg, "tinkex_http_request_duration_seconds", map[string]string{"config": "cfgA", "pool": "sampling", "status_class": "2xx"})
	assert.Equal(t, uint64(2), h.GetSampleCount())
	assert.InDelta(t, 0.22, h.GetSampleSum(), 1e-9)
	h = histogramOf(t, reg, "tinkex_http_request_duration_seconds", map[string]string{"config": "cfgB", "pool": "training", "status_class": "none"})
	assert.Equal(t, uint64(1), h.GetSampleCount())
	cumulative := map[float64]uint64{}
	for _, b := range h.GetBucket() {
		cumulative[b.GetUpperBound()] = b.GetCumulativeCount()
	}
	assert.Equal(t, uint64(0), cumulative[30])
	assert.Equal(t, uint64(1), cumulative[60], "40 s lands in the 60 s bucket")
}

// histogramOf returns the histogram series of name with exactly these labels.
func histogramOf(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) *dto.Histogram {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	series:
		for _, m := range mf.GetMetric() {
			if len(m.GetLabel()) != len(labels) {
				continue
			}
			for _, lp := range m.GetLabel() {
				if labels[lp.GetName()] != lp.GetValue() {
					continue series
				}
			}
			require.NotNil(t, m.GetHistogram())
			return m.GetHistogram()
		}
	}
	require.FailNow(t, "no such series", "%s%v", name, labels)
	return nil
}

func TestPrometheusLimiterQueueFutureMetrics(t *testing.T) {
	_, reg, bus := newCollector(t)
	bus.Execute(LimiterBackoffSet, map[string]float64{MeasureDelay: 2}, map[string]any{KeyConfig: "cfgA"})
	bus.Execute(LimiterBackoffSet, map[string]float64{MeasureDelay: 3}, map[string]any{KeyConfig: "cfgA"})
	bus.Execute(LimiterBackoffSet, nil, map[string]any{KeyConfig: "cfgB"})
	bus.Execute(LimiterBackoffCleared, nil, map[string]any{KeyConfig: "cfgB"})
	bus.Execute(QueueStateChange, nil, map[string]any{KeyQueueState: "paused_rate_limit"})
	bus.Execute(QueueStateChange, nil, map[string]any{KeyQueueState: "active"})
	bus.Execute(QueueStateChange, nil, map[string]any{KeyQueueState: "something_new"})
	bus.Execute(FutureAPIError, nil, nil)
	bus.Execute(FutureRequestFailed, nil, map[string]any{KeyCategory: "user"})
	bus.Execute(FutureRequestFailed, nil, nil)

	compare(t, reg, `
# HELP tinkex_limiter_backoffs_total Times a config entered a shared 429 backoff (tinkex.limiter.backoff.set events).
# TYPE tinkex_limiter_backoffs_total counter
tinkex_limiter_backoffs_total{config="cfgA"} 2
tinkex_limiter_backoffs_total{config="cfgB"} 1
# HELP tinkex_limiter_backoff_active 1 while a config's shared 429 backoff is in force, else 0.
# TYPE tinkex_limiter_backoff_active gauge
tinkex_limiter_backoff_active{config="cfgA"} 1
tinkex_limiter_backoff_active{config="cfgB"} 0
# HELP tinkex_queue_state_changes_total Queue state changes observed while polling futures, by new state.
# TYPE tinkex_queue_state_changes_total counter
tinkex_queue_state_changes_total{state="active"} 1
tinkex_queue_state_changes_total{state="paused_capacity"} 0
tinkex_queue_state_changes_total{state="paused_rate_limit"} 1
tinkex_queue_state_changes_total{state="unknown"} 1
# HELP tinkex_future_errors_total Problems seen while polling futures, by type.
# TYPE tinkex_future_errors_total counter
tinkex_future_errors_total{type="api_error"} 1
tinkex_future_errors_total{type="connection_error"} 0
tinkex_future_errors_total{type="request_failed"} 2
tinkex_future_errors_total{type="timeout"} 0
`, "tinkex_limiter_backoffs_total", "tinkex_limiter_backoff_active", "tinkex_queue_state_changes_total", "tinkex_future_errors_total")
}

func TestPrometheusTrainingSamplingSupervisorMetrics(t *testing.T) {
	_, reg, bus := newCollector(t)
	sp := bus.StartSpan(TrainingPrefix+"forward_backward", map[string]any{KeyModelID: "m-1"})
	sp.Stop(nil, nil)
	sp = bus.StartSpan(TrainingPrefix+"optim_step", nil)
	sp.Exception(errors.New("x"), nil, nil)
	bus.Execute(TrainingPrefix+"Weird-Op123.stop", nil, nil)
	bus.Execute(TrainingPrefix+"forward.start", nil, nil) // starts are not counted
	sp = bus.StartSpan(SamplingSample, map[string]any{KeyConfig: "cfgA", KeySamplerID: "s-1"})
	sp.Stop(nil, nil)
	bus.Execute(SamplingSample+".exception", map[string]float64{MeasureDuration: 1}, map[string]any{KeyConfig: "cfgA"})

	bus.Execute(SupervisorChildStarted, nil, map[string]any{KeyChild: "training:m-1", KeyPID: "$12"})
	bus.Execute(SupervisorChildStarted, nil, map[string]any{KeyChild: "training:m-2"})
	bus.Execute(SupervisorChildStarted, nil, map[string]any{KeyChild: "registry"})
	bus.Execute(SupervisorChildStarted, nil, map[string]any{KeyChild: "limiter:3f2a9c0d41e7"})
	bus.Execute(SupervisorChildStarted, nil, map[string]any{KeyChild: "Alice's client 42"})
	bus.Execute(SupervisorChildRestarted, nil, map[string]any{KeyChild: "sampling:s-1"})
	bus.Execute(SupervisorChildStopped, nil, map[string]any{KeyChild: "session"})
	bus.Execute(SupervisorIntensityExceeded, nil, map[string]any{KeySupervisor: "service:alpha"})
	bus.Execute(HandlerFailed, nil, nil)

	compare(t, reg, `
# HELP tinkex_training_operations_total Training operations that ended, by operation and outcome (ok, error, or canceled when the caller's context ended).
# TYPE tinkex_training_operations_total counter
tinkex_training_operations_total{op="forward_backward",outcome="ok"} 1
tinkex_training_operations_total{op="optim_step",outcome="error"} 1
tinkex_training_operations_total{op="other",outcome="ok"} 1
# HELP tinkex_sampling_requests_total Sample calls that ended, by config fingerprint and outcome (ok, error, or canceled when the caller's context ended).
# TYPE tinkex_sampling_requests_total counter
tinkex_sampling_requests_total{config="cfgA",outcome="error"} 1
tinkex_sampling_requests_total{config="cfgA",outcome="ok"} 1
# HELP tinkex_supervisor_child_starts_total Supervised children started, by child kind (the child id's prefix).
# TYPE tinkex_supervisor_child_starts_total counter
tinkex_supervisor_child_starts_total{child="limiter"} 1
tinkex_supervisor_child_starts_total{child="other"} 1
tinkex_supervisor_child_starts_total{child="registry"} 1
tinkex_supervisor_child_starts_total{child="training"} 2
# HELP tinkex_supervisor_child_restarts_total Supervised children restarted after a failure, by child kind.
# TYPE tinkex_supervisor_child_restarts_total counter
tinkex_supervisor_child_restarts_total{child="sampling"} 1
# HELP tinkex_supervisor_child_stops_total Supervised children that stopped, by child kind.
# TYPE tinkex_supervisor_child_stops_total counter
tinkex_supervisor_child_stops_total{child="session"} 1
# HELP tinkex_supervisor_intensity_exceeded_total Times a supervisor exceeded its restart intensity and gave up, by supervisor kind.
# TYPE tinkex_supervisor_intensity_exceeded_total counter
tinkex_supervisor_intensity_exceeded_total{supervisor="service"} 1
# HELP tinkex_telemetry_handler_failures_total Telemetry handlers that panicked and were detached.
# TYPE tinkex_telemetry_handler_failures_total counter
tinkex_telemetry_handler_failures_total 1
`, "tinkex_training_operations_total", "tinkex_sampling_requests_total", "tinkex_supervisor_child_starts_total",
		"tinkex_supervisor_child_restarts_total", "tinkex_supervisor_child_stops_total",
		"tinkex_supervisor_intensity_exceeded_total", "tinkex_telemetry_handler_failures_total")

	n, err := testutil.GatherAndCount(reg, "tinkex_training_operation_duration_seconds", "tinkex_sampling_request_duration_seconds")
	require.NoError(t, err)
	assert.Equal(t, 4, n, "two training and two sampling series; the Weird-Op stop had no duration")
}

func TestPrometheusLabelsNeverCarryIDsOrKeys(t *testing.T) {
	_, reg, bus := newCollector(t)
	const key = "tml-secretkey123"
	md := map[string]any{KeyConfig: "cfgA", KeyPool: "sampling", KeyStatus: 200, "api_key": key,
		KeyModelID: "model-xyz", KeySamplerID: "sampler-xyz", KeySessionID: "session-xyz", KeyRequestID: "req-xyz", KeyPID: "pid-xyz"}
	for _, name := range []string{HTTPRequestStop, HTTPRetry, LimiterBackoffSet, QueueStateChange, FutureTimeout,
		SamplingSample + ".stop", TrainingPrefix + "forward.stop", SupervisorChildStarted} {
		bus.Execute(name, map[string]float64{MeasureDuration: 1}, md)
	}
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				assert.NotContains(t, lp.GetValue(), "xyz", "%s{%s}", mf.GetName(), lp.GetName())
				assert.NotContains(t, lp.GetValue(), "tml-", "%s{%s}", mf.GetName(), lp.GetName())
			}
		}
	}
}

func TestPrometheusLintClean(t *testing.T) {
	_, reg, bus := newCollector(t)
	bus.Execute(HTTPRequestStop, map[string]float64{MeasureDuration: 1}, map[string]any{KeyStatus: 200})
	bus.Execute(HTTPRetry, nil, nil)
	bus.Execute(LimiterBackoffSet, nil, nil)
	bus.Execute(TrainingPrefix+"forward.stop", map[string]float64{MeasureDuration: 1}, nil)
	bus.Execute(SamplingSample+".stop", map[string]float64{MeasureDuration: 1}, nil)
	bus.Execute(SupervisorChildStarted, nil, nil)
	bus.Execute(SupervisorChildRestarted, nil, nil)
	bus.Execute(SupervisorChildStopped, nil, nil)
	bus.Execute(SupervisorIntensityExceeded, nil, nil)
	problems, err := testutil.GatherAndLint(reg)
	require.NoError(t, err)
	assert.Empty(t, problems)
	n, err := testutil.GatherAndCount(reg)
	require.NoError(t, err)
	assert.Greater(t, n, 15, "every metric family was exercised")
}

func TestPrometheusAlreadyRegistered(t *testing.T) {
	reg := prometheus.NewRegistry()
	first, err := NewPrometheusCollector(reg)
	require.NoError(t, err)
	var second *PrometheusCollector
	assert.NotPanics(t, func() { second, err = NewPrometheusCollector(reg) })
	require.Error(t, err)
	assert.Nil(t, second)
	assert.ErrorIs(t, err, types.ErrValidation)
	var are prometheus.AlreadyRegisteredError
	require.ErrorAs(t, err, &are)
	assert.Same(t, first, are.ExistingCollector)

	other, err := NewPrometheusCollector(reg, WithNamespace("other"))
	require.NoError(t, err, "a different namespace does not collide")
	assert.NotNil(t, other)
}

func TestPrometheusNilRegistererAndCollectAndCompare(t *testing.T) {
	c, err := NewPrometheusCollector(nil)
	require.NoError(t, err)
	c.Handle(Event{Name: HandlerFailed})
	assert.NoError(t, testutil.CollectAndCompare(c, strings.NewReader(`
# HELP tinkex_telemetry_handler_failures_total Telemetry handlers that panicked and were detached.
# TYPE tinkex_telemetry_handler_failures_total counter
tinkex_telemetry_handler_failures_total 1
`), "tinkex_telemetry_handler_failures_total"))
}

func TestPrometheusAttachDetach(t *testing.T) {
	c, err := NewPrometheusCollector(nil)
	require.NoError(t, err)
	_, err = c.Attach(nil)
	assert.Error(t, err)

	b1, b2 := NewBus(), NewBus()
	d1, err := c.Attach(b1)
	require.NoError(t, err)
	assert.False(t, b1.Enabled(HTTPRequestStart), "starts are not subscribed")
	assert.False(t, b1.Enabled(SamplingSample+".start"))
	assert.True(t, b1.Enabled(HTTPRequestStop))
	_, err = c.Attach(b1)
	assert.ErrorIs(t, err, ErrDuplicateHandler)
	d2, err := c.Attach(b2)
	require.NoError(t, err)

	b1.Execute(HandlerFailed, nil, nil)
	b2.Execute(HandlerFailed, nil, nil)
	assert.Equal(t, 2.0, testutil.ToFloat64(c.handlerFailures), "one collector, two buses")

	d1()
	d1()
	assert.Empty(t, b1.Handlers())
	b1.Execute(HandlerFailed, nil, nil)
	assert.Equal(t, 2.0, testutil.ToFloat64(c.handlerFailures))
	d2()
	_, err = c.Attach(b1)
	assert.NoError(t, err, "re-attach after detach")
}

func TestPrometheusCustomBuckets(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	c, err := NewPrometheusCollector(reg, WithHTTPBuckets([]float64{1}), WithTrainingBuckets([]float64{2}), WithSamplingBuckets([]float64{3}))
	require.NoError(t, err)
	c.Handle(Event{Name: HTTPRequestStop, Measurements: map[string]float64{MeasureDuration: 0.5}})
	c.Handle(Event{Name: TrainingPrefix + "forward.stop", Measurements: map[string]float64{MeasureDuration: 0.5}})
	c.Handle(Event{Name: SamplingSample + ".stop", Measurements: map[string]float64{MeasureDuration: 0.5}})
	mfs, err := reg.Gather()
	require.NoError(t, err)
	bounds := map[string]float64{}
	for _, mf := range mfs {
		if h := mf.GetMetric()[0].GetHistogram(); h != nil {
			require.Len(t, h.GetBucket(), 1, mf.GetName())
			bounds[mf.GetName()] = h.GetBucket()[0].GetUpperBound()
		}
	}
	assert.Equal(t, map[string]float64{
		"tinkex_http_request_duration_seconds":       1,
		"tinkex_training_operation_duration_seconds": 2,
		"tinkex_sampling_request_duration_seconds":   3,
	}, bounds)
}

func TestPrometheusOptionValidation(t *testing.T) {
	for name, opt := range map[string]PrometheusOption{
		"bad namespace":   WithNamespace("tinkex-go"),
		"unsorted http":   WithHTTPBuckets([]float64{1, 0.5}),
		"duplicate train": WithTrainingBuckets([]float64{1, 1}),
		"NaN sampling":    WithSamplingBuckets([]float64{math.NaN()}),
	} {
		var c *PrometheusCollector
		var err error
		require.NotPanics(t, func() { c, err = NewPrometheusCollector(prometheus.NewRegistry(), opt) }, name)
		assert.ErrorIs(t, err, types.ErrValidation, name)
		assert.Nil(t, c, name)
	}
	c, err := NewPrometheusCollector(nil, WithNamespace(""), WithHTTPBuckets(nil))
	require.NoError(t, err)
	c.Handle(Event{Name: HTTPRequestStop, Measurements: map[string]float64{MeasureDuration: 1}})
	n := testutil.CollectAndCount(c, "http_request_duration_seconds")
	assert.Equal(t, 1, n, "empty namespace: unprefixed names; nil buckets: the defaults")
}

// TestPrometheusCanceledIsNotAnError: an operation whose caller gave up is
// counted under outcome "canceled", not "error".
func TestPrometheusCanceledIsNotAnError(t *testing.T) {
	_, reg, bus := newCollector(t)
	canceled := types.CanceledError("forward_backward", context.Canceled)
	sp := bus.StartSpan(TrainingPrefix+"forward_backward", nil)
	sp.Exception(canceled, nil, map[string]any{KeyKind: types.KindOf(canceled).String()})
	sp = bus.StartSpan(TrainingPrefix+"forward_backward", nil)
	sp.Exception(errors.New("boom"), nil, map[string]any{KeyKind: types.KindServer.String()})
	bus.Execute(SamplingSample+".exception", nil, map[string]any{KeyConfig: "cfgA", KeyKind: "canceled"})

	compare(t, reg, `
# HELP tinkex_training_operations_total Training operations that ended, by operation and outcome (ok, error, or canceled when the caller's context ended).
# TYPE tinkex_training_operations_total counter
tinkex_training_operations_total{op="forward_backward",outcome="canceled"} 1
tinkex_training_operations_total{op="forward_backward",outcome="error"} 1
# HELP tinkex_sampling_requests_total Sample calls that ended, by config fingerprint and outcome (ok, error, or canceled when the caller's context ended).
# TYPE tinkex_sampling_requests_total counter
tinkex_sampling_requests_total{config="cfgA",outcome="canceled"} 1
`, "tinkex_training_operations_total", "tinkex_sampling_requests_total")
}

package telemetry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tinkex-go/tinkex/clock"
	"github.com/tinkex-go/tinkex/types"
)

var t0 = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

// fakeSink records every send attempt; fail decides the result of attempt n
// (1-based, across batches).
type fakeSink struct {
	reqs  chan *types.TelemetrySendRequest
	calls atomic.Int64
	fail  func(ctx context.Context, n int64) error
}

func newSink() *fakeSink { return &fakeSink{reqs: make(chan *types.TelemetrySendRequest, 1000)} }

func (f *fakeSink) send(ctx context.Context, req *types.TelemetrySendRequest) error {
	n := f.calls.Add(1)
	f.reqs <- req
	if f.fail != nil {
		return f.fail(ctx, n)
	}
	return nil
}

// next waits for the next send attempt; the bound only stops a broken test
// from hanging, it asserts no timing.
func (f *fakeSink) next(t *testing.T) *types.TelemetrySendRequest {
	t.Helper()
	select {
	case r := <-f.reqs:
		return r
	case <-time.After(10 * time.Second):
		require.FailNow(t, "no telemetry send")
		return nil
	}
}

func (f *fakeSink) none(t *testing.T) {
	t.Helper()
	select {
	case r := <-f.reqs:
		assert.Failf(t, "unexpected send", "%d events", len(r.Events))
	default:
	}
}

func newTestBatcher(t *testing.T, sink *fakeSink, opts ...BatcherOption) (*Batcher, *clock.Fake) {
	t.Helper()
	fc := clock.NewFake(t0)
	b, err := NewBatcher("sess-1", sink.send, append([]BatcherOption{WithBatcherClock(fc)}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Close(context.Background()) })
	return b, fc
}

func TestBatcherFlushesEveryIntervalInBatchesOf100(t *testing.T) {
	sink := newSink()
	b, fc := newTestBatcher(t, sink)
	assert.Zero(t, fc.Pending(), "an idle batcher arms no timer")
	for i := 0; i < 250; i++ {
		require.True(t, b.Log("e", types.SeverityInfo, map[string]any{"i": i}))
	}
	assert.Equal(t, 1, fc.Pending(), "the first event armed the flush timer, and only one")
	fc.Advance(DefaultFlushInterval - time.Millisecond)
	assert.Equal(t, 1, fc.Pending(), "the flush timer has not fired before 10 s")
	fc.Advance(time.Millisecond)

	var sizes []int
	var idx []int64
	for len(sizes) < 3 {
		r := sink.next(t)
		sizes = append(sizes, len(r.Events))
		for _, e := range r.Events {
			idx = append(idx, e.EventSessionIndex)
		}
	}
	assert.Equal(t, []int{100, 100, 50}, sizes)
	for i, v := range idx {
		require.Equal(t, int64(i), v, "session indexes count from 0 in order")
	}
	require.NoError(t, b.Flush(context.Background())) // the flusher is done
	assert.Zero(t, fc.Pending(), "nothing waits: no timer is re-armed")
	assert.Equal(t, int64(250), b.Stats().Sent)
	sink.none(t)

	// A later event waits one interval from when it was queued.
	fc.Advance(time.Hour)
	require.True(t, b.Log("late", types.SeverityInfo, nil))
	assert.Equal(t, 1, fc.Pending())
	fc.Advance(DefaultFlushInterval - time.Millisecond)
	sink.none(t)
	fc.Advance(time.Millisecond)
	assert.Equal(t, "late", sink.next(t).Events[0].EventName)
}

func TestBatcherSendsUrgentEventsAtOnce(t *testing.T) {
	for name, emit := range map[string]func(b *Batcher){
		"exception":   func(b *Batcher) { b.LogException(errors.New("boom")) },
		"user error":  func(b *Batcher) { b.LogException(types.NewError(types.KindUser, "sample", "bad")) },
		"session end": func(b *Batcher) { b.SessionEnd() },
	} {
		t.Run(name, func(t *testing.T) {
			sink := newSink()
			b, _ := newTestBatcher(t, sink)
			b.Log("queued-before", types.SeverityInfo, nil)
			emit(b)
			r := sink.next(t) // no clock advance: sent because of the urgent event
			require.Len(t, r.Events, 2)
			assert.Equal(t, "queued-before", r.Events[0].EventName)
		})
	}
}

func TestBatcherEventAndRequestFields(t *testing.T) {
	sink := newSink()
	b, fc := newTestBatcher(t, sink, WithSDKVersion("9.9.9"), WithPlatform("Plan9"), WithProcessUUID("proc-1"))
	assert.Equal(t, "sess-1", b.SessionID())
	require.True(t, b.SessionStart())
	fc.Advance(5*time.Minute + 12*time.Second + 345678*time.Microsecond)
	require.True(t, b.Log("custom", types.SeverityDebug, map[string]any{"n": 1}))
	require.True(t, b.LogException(errors.New("boom")))
	require.True(t, b.LogException(&types.Error{Kind: types.KindUser, StatusCode: 422, Message: "bad input"}))
	require.True(t, b.SessionEnd())
	require.False(t, b.LogException(nil))

	var events []types.TelemetryEvent // the urgent events may split them over several batches
	for len(events) < 5 {
		r := sink.next(t)
		require.NoError(t, r.Validate())
		assert.Equal(t, "sess-1", r.SessionID)
		assert.Equal(t, "9.9.9", r.SDKVersion)
		assert.Equal(t, "Plan9", r.Platform)
		assert.Equal(t, "proc-1", r.ProcessUUID)
		events = append(events, r.Events...)
	}
	require.Len(t, events, 5)

	start, custom, exc, user, end := events[0], events[1], events[2], events[3], events[4]
	assert.Equal(t, types.TelemetrySessionStart, start.Event)
	assert.Equal(t, t0, start.Timestamp, "session start is stamped with the start time")
	assert.Equal(t, types.SeverityDebug, custom.Severity)
	assert.Equal(t, map[string]any{"n": 1}, custom.EventData)
	assert.Equal(t, time.UTC, custom.Timestamp.Location())
	assert.Equal(t, t0.Add(5*time.Minute+12*time.Second+345678*time.Microsecond), custom.Timestamp)
	assert.Equal(t, types.TelemetryUnhandledException, exc.Event)
	assert.Equal(t, types.SeverityError, exc.Severity)
	assert.Equal(t, "*errors.errorString", exc.ErrorType)
	assert.Equal(t, "boom", exc.ErrorMessage)
	assert.Equal(t, types.TelemetryGenericEvent, user.Event)
	assert.Equal(t, UserErrorEvent, user.EventName)
	assert.Equal(t, types.SeverityWarning, user.Severity)
	assert.Equal(t, "tinkex.user", user.EventData["error_type"])
	assert.Equal(t, 422, user.EventData["status_code"])
	assert.Equal(t, types.TelemetrySessionEnd, end.Event)
	assert.Equal(t, "0:05:12.345678", end.Duration)

	ids := map[string]bool{}
	for i, e := range events {
		assert.Regexp(t, `^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`, e.EventID)
		assert.False(t, ids[e.EventID])
		ids[e.EventID] = true
		assert.Equal(t, int64(i), e.EventSessionIndex)
	}
}

func TestBatcherScrubsSecretsAndHeaders(t *testing.T) {
	const key = "tml-VerySecretKey0123456789"
	sink := newSink()
	b, _ := newTestBatcher(t, sink)
	b.Log("oops "+key, types.SeverityError, map[string]any{
		"request_headers": map[string]any{"X-API-Key": key, "User-Agent": "tinkex"},
		"api_key":         key,
		"detail":          "invalid key " + key,
	})
	b.Enqueue(types.TelemetryEvent{Event: types.TelemetryUnhandledException, Severity: types.SeverityError,
		ErrorType: "x", ErrorMessage: "auth failed for " + key, Traceback: "at " + key})
	require.NoError(t, b.Flush(context.Background()))
	r := sink.next(t)
	body, err := json.Marshal(r)
	require.NoError(t, err)
	assert.NotContains(t, string(body), "VerySecretKey")
	assert.NotContains(t, string(body), "User-Agent", "headers never leave")
	assert.Contains(t, string(body), `"request_headers":"[REDACTED]"`)
	assert.Contains(t, string(body), types.KeyFingerprint(key))
}

func TestBatcherDropsBeyondQueueCapWithoutBlocking(t *testing.T) {
	sink := newSink()
	var logBuf safeBuffer
	b, _ := newTestBatcher(t, sink, WithMaxQueue(3), WithBatcherLogger(slog.New(slog.NewTextHandler(&logBuf, nil))))
	var accepted int
	for i := 0; i < 5; i++ {
		if b.Log("e", types.SeverityInfo, nil) {
			accepted++
		}
	}
	assert.Equal(t, 3, accepted)
	st := b.Stats()
	assert.Equal(t, int64(3), st.Queued)
	assert.Equal(t, int64(2), st.Dropped)
	assert.Equal(t, 3, st.Pending)
	assert.Equal(t, 1, countLines(logBuf.String()), "one warning per flush period, not one per event")

	require.NoError(t, b.Close(context.Background()))
	assert.Len(t, sink.next(t).Events, 3, "Close sends what was queued")
	assert.False(t, b.Log("late", types.SeverityInfo, nil), "closed batchers refuse events")
	assert.Equal(t, int64(3), b.Stats().Dropped)
}

func TestBatcherEmittersNeverBlockOnASlowServer(t *testing.T) {
	sink := newSink()
	release := make(chan struct{})
	sink.fail = func(ctx context.Context, n int64) error {
		if n == 1 {
			<-release
		}
		return nil
	}
	b, _ := newTestBatcher(t, sink, WithMaxQueue(10))
	b.LogException(errors.New("first")) // urgent: the goroutine starts sending and blocks
	sink.next(t)
	for i := 0; i < 50; i++ {
		b.Log("e", types.SeverityInfo, nil) // returns at once even with the sender stuck and the queue full
	}
	assert.Equal(t, int64(40), b.Stats().Dropped)
	close(release)
	require.NoError(t, b.Flush(context.Background()))
	assert.Len(t, sink.next(t).Events, 10)
}

func TestBatcherRetriesWithBackoffThenSucceeds(t *testing.T) {
	sink := newSink()
	sink.fail = func(ctx context.Context, n int64) error {
		if n <= 2 {
			return types.NewError(types.KindServer, "telemetry", "503")
		}
		return nil
	}
	b, fc := newTestBatcher(t, sink)
	b.LogException(errors.New("boom"))
	first := sink.next(t)
	<-fc.BlockUntil(1) // the 1 s retry timer (nothing else waits)
	fc.Advance(time.Second)
	second := sink.next(t)
	<-fc.BlockUntil(1) // the 2 s retry timer
	fc.Advance(2 * time.Second)
	third := sink.next(t)
	assert.Equal(t, first, second, "the same batch is retried")
	assert.Equal(t, first, third)
	require.NoError(t, b.Flush(context.Background()))
	st := b.Stats()
	assert.Equal(t, int64(1), st.Sent)
	assert.Equal(t, int64(0), st.FailedBatches)
	assert.Equal(t, int64(3), sink.calls.Load())
}

func TestBatcherGivesUpAfterBoundedAttempts(t *testing.T) {
	sink := newSink()
	sink.fail = func(context.Context, int64) error { return types.NewError(types.KindServer, "telemetry", "down") }
	b, fc := newTestBatcher(t, sink)
	b.LogException(errors.New("boom"))
	sink.next(t)
	for _, d := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second} {
		<-fc.BlockUntil(1) // the retry timer
		fc.Advance(d)
		sink.next(t)
	}
	require.NoError(t, b.Flush(context.Background()))
	assert.Equal(t, int64(DefaultMaxSendAttempts), sink.calls.Load())
	assert.Equal(t, int64(1), b.Stats().FailedBatches)
	assert.Zero(t, fc.Pending(), "no timer remains: no more retries, nothing waits for a flush")

	// The batcher keeps working for later batches.
	sink.fail = nil
	b.LogException(errors.New("again"))
	require.NoError(t, b.Flush(context.Background()))
	assert.Equal(t, "again", sink.next(t).Events[0].ErrorMessage)
}

func TestBatcherDoesNotRetryUserErrors(t *testing.T) {
	sink := newSink()
	sink.fail = func(context.Context, int64) error {
		return &types.Error{Kind: types.KindUser, StatusCode: 422, Message: "bad batch"}
	}
	b, _ := newTestBatcher(t, sink)
	b.LogException(errors.New("boom"))
	require.NoError(t, b.Flush(context.Background()))
	assert.Equal(t, int64(1), sink.calls.Load())
	assert.Equal(t, int64(1), b.Stats().FailedBatches)
}

func TestBatcherCloseRetriesWithoutSleeping(t *testing.T) {
	sink := newSink()
	sink.fail = func(ctx context.Context, n int64) error {
		if n == 1 {
			return types.NewError(types.KindServer, "telemetry", "503")
		}
		return nil
	}
	b, fc := newTestBatcher(t, sink)
	b.LogException(errors.New("boom"))
	sink.next(t)
	<-fc.BlockUntil(1) // sleeping before the retry
	require.NoError(t, b.Close(context.Background()))
	sink.next(t)
	assert.Equal(t, int64(1), b.Stats().Sent)
	assert.Equal(t, 0, fc.Pending(), "timers released")
}

func TestBatcherCloseHonoursItsContext(t *testing.T) {
	sink := newSink()
	sink.fail = func(ctx context.Context, n int64) error {
		<-ctx.Done() // a server that never answers
		return ctx.Err()
	}
	b, _ := newTestBatcher(t, sink, WithSendTimeout(time.Hour))
	for i := 0; i < 150; i++ {
		b.Log("e", types.SeverityInfo, nil)
	}
	ctx, cancel := context.WithCancel(context.Background())
	closed := make(chan error, 1)
	go func() { closed <- b.Close(ctx) }()
	sink.next(t) // the first batch is in flight
	cancel()
	err := <-closed
	assert.ErrorIs(t, err, types.ErrCanceled)
	assert.ErrorIs(t, err, context.Canceled)
	st := b.Stats()
	assert.Equal(t, int64(0), st.Sent)
	assert.Equal(t, int64(1), st.FailedBatches)
	assert.Equal(t, int64(50), st.Dropped, "the unsent second batch is counted")
	assert.NoError(t, b.Close(context.Background()), "Close is idempotent")
	assert.Error(t, b.Flush(context.Background()), "flush after close")
}

func TestBatcherFlushHonoursContext(t *testing.T) {
	sink := newSink()
	release := make(chan struct{})
	sink.fail = func(context.Context, int64) error { <-release; return nil }
	b, _ := newTestBatcher(t, sink)
	b.LogException(errors.New("boom"))
	sink.next(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	assert.ErrorIs(t, b.Flush(ctx), types.ErrCanceled)
	close(release)
}

func TestBatcherDisabledAndNil(t *testing.T) {
	sink := newSink()
	b, err := NewBatcher("", nil, WithEnabled(false))
	require.NoError(t, err, "a disabled batcher needs no session or sender")
	var nilB *Batcher
	for _, x := range []*Batcher{b, nilB} {
		assert.False(t, x.Log("e", types.SeverityInfo, nil))
		assert.False(t, x.SessionStart())
		assert.False(t, x.SessionEnd())
		assert.False(t, x.LogException(errors.New("x")))
		assert.NoError(t, x.Flush(context.Background()))
		assert.NoError(t, x.Close(context.Background()))
		assert.Equal(t, BatcherStats{}, x.Stats())
	}
	assert.Equal(t, "", nilB.SessionID())
	assert.Zero(t, sink.calls.Load())
}

func TestNewBatcherValidation(t *testing.T) {
	sink := newSink()
	tests := map[string]struct {
		session string
		send    Sender
		opts    []BatcherOption
	}{
		"no session":     {"", sink.send, nil},
		"no sender":      {"s", nil, nil},
		"zero interval":  {"s", sink.send, []BatcherOption{WithFlushInterval(0)}},
		"zero batch":     {"s", sink.send, []BatcherOption{WithMaxBatch(0)}},
		"zero queue":     {"s", sink.send, []BatcherOption{WithMaxQueue(0)}},
		"zero timeout":   {"s", sink.send, []BatcherOption{WithSendTimeout(0)}},
		"zero attempts":  {"s", sink.send, []BatcherOption{WithSendRetry(0, time.Second)}},
		"negative delay": {"s", sink.send, []BatcherOption{WithSendRetry(2, -time.Second)}},
	}
	for name, tc := range tests {
		b, err := NewBatcher(tc.session, tc.send, tc.opts...)
		assert.ErrorIs(t, err, types.ErrValidation, name)
		assert.Nil(t, b, name)
	}
}

func TestBatcherConcurrentEmitters(t *testing.T) {
	sink := newSink()
	b, _ := newTestBatcher(t, sink)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 100; i++ {
				b.Log("e", types.SeverityInfo, map[string]any{"i": i})
			}
		}()
	}
	wg.Wait()
	require.NoError(t, b.Close(context.Background()))
	seen := map[int64]bool{}
	for len(seen) < 800 {
		for _, e := range sink.next(t).Events {
			require.False(t, seen[e.EventSessionIndex])
			seen[e.EventSessionIndex] = true
		}
	}
	assert.Equal(t, int64(800), b.Stats().Sent)
}

func TestPlatformName(t *testing.T) {
	assert.Equal(t, "Linux", platformName("linux"))
	assert.Equal(t, "Darwin", platformName("darwin"))
	assert.Equal(t, "Windows", platformName("windows"))
	assert.Equal(t, "plan9", platformName("plan9"))
}

func TestErrorType(t *testing.T) {
	assert.Equal(t, "tinkex.rate_limited", ErrorType(fmt.Errorf("wrapped: %w", types.NewError(types.KindRateLimited, "x", "y"))))
	assert.Equal(t, "*errors.errorString", ErrorType(errors.New("x")))
}

type safeBuffer struct {
	mu  sync.Mutex
	buf []byte
}

func (s *safeBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.buf = append(s.buf, p...)
	return len(p), nil
}

func (s *safeBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return string(s.buf)
}

func countLines(s string) int {
	n := 0
	for _, c := range s {
		if c == '\n' {
			n++
		}
	}
	return n
}

// batcherGoroutines counts the goroutines running a Batcher's code.
func batcherGoroutines() int {
	buf := make([]byte, 1<<20)
	return strings.Count(string(buf[:runtime.Stack(buf, true)]), "telemetry.(*Batcher)")
}

func TestBatcherHoldsNoGoroutineWhileEventsWait(t *testing.T) {
	sink := newSink()
	// Earlier tests' flushers may still be returning.
	require.Eventually(t, func() bool { return batcherGoroutines() == 0 }, 10*time.Second, time.Millisecond)
	b, fc := newTestBatcher(t, sink)
	assert.Zero(t, batcherGoroutines(), "idle")
	require.True(t, b.SessionStart())
	assert.Zero(t, batcherGoroutines(), "an event waiting for the interval")
	fc.Advance(DefaultFlushInterval)
	assert.Equal(t, types.TelemetrySessionStart, sink.next(t).Events[0].Event)
	require.Eventually(t, func() bool { return batcherGoroutines() == 0 }, 10*time.Second, time.Millisecond,
		"the flusher ends once the queue is sent")
}

// The queue bound counts every event not yet sent but the batch in flight:
// a flush takes one batch at a time, as the SDK drains its queue, so while
// a batch of 100 is being sent the 150 events after it still count, and
// at most MaxQueue events wait whatever the server's speed.
func TestBatcherQueueBoundHoldsWhileABatchIsInFlight(t *testing.T) {
	release, entered := make(chan struct{}), make(chan struct{}, 1)
	var releaseOnce sync.Once
	b, err := NewBatcher("s", func(ctx context.Context, _ *types.TelemetrySendRequest) error {
		select {
		case entered <- struct{}{}:
		default:
		}
		select {
		case <-release:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}, WithSendTimeout(time.Hour), WithMaxQueue(250), WithMaxBatch(100))
	require.NoError(t, err)
	t.Cleanup(func() {
		releaseOnce.Do(func() { close(release) })
		_ = b.Close(context.Background())
	})
	for i := 0; i < 250; i++ {
		require.True(t, b.Log("e", types.SeverityInfo, nil))
	}
	flushed := make(chan error, 1)
	go func() { flushed <- b.Flush(context.Background()) }()
	<-entered // the first batch of 100 is being sent; 150 still wait
	for i := 0; i < 100; i++ {
		require.True(t, b.Log("more", types.SeverityInfo, nil), "room for the batch in flight")
	}
	assert.False(t, b.Log("late", types.SeverityInfo, nil), "250 wait: the bound")
	assert.Equal(t, int64(1), b.Stats().Dropped)
	releaseOnce.Do(func() { close(release) })
	require.NoError(t, <-flushed)
	assert.GreaterOrEqual(t, b.Stats().Sent, int64(250), "the flush sent what was queued before it")
}

// Timestamps go out in UTC to the microsecond, as the SDK's datetimes do.
func TestBatcherTimestampsAreUTCMicroseconds(t *testing.T) {
	sink := newSink()
	b, fc := newTestBatcher(t, sink)
	at := time.Date(2026, 12, 3, 13, 4, 5, 123456789, time.FixedZone("x", 3600))
	b.Enqueue(types.TelemetryEvent{Event: types.TelemetryGenericEvent, EventName: "e", Severity: types.SeverityInfo, Timestamp: at})
	fc.Advance(time.Nanosecond * 789) // a clock stamp with nanoseconds
	b.Log("f", types.SeverityInfo, nil)
	require.NoError(t, b.Flush(context.Background()))
	got := sink.next(t).Events
	require.Len(t, got, 2)
	assert.Equal(t, time.Date(2026, 12, 3, 12, 4, 5, 123456000, time.UTC), got[0].Timestamp)
	assert.Equal(t, time.UTC, got[1].Timestamp.Location())
	assert.Zero(t, got[1].Timestamp.Nanosecond()%1000, "no digits below the microsecond")
}

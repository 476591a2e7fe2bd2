package telemetry

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/tinkex-go/tinkex/clock"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type recorder struct {
	mu     sync.Mutex
	events []Event
}

func (r *recorder) handle(e Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

func (r *recorder) names() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, len(r.events))
	for i, e := range r.events {
		out[i] = e.Name
	}
	return out
}

func TestAttachMatchesExactPrefixAndAll(t *testing.T) {
	b := NewBus()
	var exact, prefix, all recorder
	require.NoError(t, b.Attach("exact", []string{HTTPRetry}, exact.handle))
	require.NoError(t, b.Attach("prefix", []string{"tinkex.http.*"}, prefix.handle))
	require.NoError(t, b.Attach("all", []string{"*"}, all.handle))

	b.Execute(HTTPRetry, nil, nil)
	b.Execute(HTTPRequestStop, nil, nil)
	b.Execute(LimiterBackoffSet, nil, nil)
	b.Execute("tinkex.httpx", nil, nil) // not under "tinkex.http."

	assert.Equal(t, []string{HTTPRetry}, exact.names())
	assert.Equal(t, []string{HTTPRetry, HTTPRequestStop}, prefix.names())
	assert.Equal(t, []string{HTTPRetry, HTTPRequestStop, LimiterBackoffSet, "tinkex.httpx"}, all.names())
	assert.Equal(t, []string{"exact", "prefix", "all"}, b.Handlers())
}

func TestAttachErrors(t *testing.T) {
	b := NewBus()
	require.NoError(t, b.Attach("a", []string{"x"}, func(Event) {}))
	err := b.Attach("a", []string{"y"}, func(Event) {})
	assert.ErrorIs(t, err, ErrDuplicateHandler)
	assert.Error(t, b.Attach("b", nil, func(Event) {}))
	assert.Error(t, b.Attach("c", []string{""}, func(Event) {}))
	assert.Error(t, b.Attach("d", []string{"x"}, nil))
	var nilBus *Bus
	assert.Error(t, nilBus.Attach("e", []string{"x"}, func(Event) {}))
}

func TestDetach(t *testing.T) {
	b := NewBus()
	var r recorder
	require.NoError(t, b.Attach("r", []string{"x"}, r.handle))
	assert.True(t, b.Enabled("x"))
	assert.True(t, b.Detach("r"))
	assert.False(t, b.Detach("r"))
	assert.False(t, b.Enabled("x"))
	b.Execute("x", nil, nil)
	assert.Empty(t, r.names())
}

func TestPanickingHandlerIsDetachedAndReported(t *testing.T) {
	b := NewBus()
	var failures, after recorder
	require.NoError(t, b.Attach("bad", []string{"x"}, func(Event) { panic("boom") }))
	require.NoError(t, b.Attach("good", []string{"x"}, after.handle))
	require.NoError(t, b.Attach("watch", []string{HandlerFailed}, failures.handle))

	assert.NotPanics(t, func() { b.Execute("x", nil, nil) })
	assert.NotPanics(t, func() { b.Execute("x", nil, nil) })

	assert.Equal(t, []string{"good", "watch"}, b.Handlers())
	require.Len(t, failures.events, 1)
	md := failures.events[0].Metadata
	assert.Equal(t, "bad", md["handler_id"])
	assert.Equal(t, "x", md["event"])
	assert.Equal(t, "boom", md["reason"])
	assert.Len(t, after.names(), 2, "later handlers still run")
}

func TestPanickingFailureHandlerDoesNotLoop(t *testing.T) {
	b := NewBus()
	require.NoError(t, b.Attach("bad", []string{"*"}, func(Event) { panic("always") }))
	assert.NotPanics(t, func() { b.Execute("x", nil, nil) })
	assert.Empty(t, b.Handlers())
}

func TestNilBusIsNoop(t *testing.T) {
	var b *Bus
	assert.NotPanics(t, func() {
		b.Execute("x", nil, nil)
		sp := b.StartSpan("p", nil)
		sp.Stop(nil, nil)
	})
	assert.False(t, b.Enabled("x"))
	assert.False(t, b.Detach("x"))
	assert.Nil(t, b.Handlers())
}

func TestSpanStopAndException(t *testing.T) {
	fc := clock.NewFake(time.Unix(100, 0))
	b := NewBus(WithClock(fc))
	var r recorder
	require.NoError(t, b.Attach("r", []string{"op.*"}, r.handle))

	sp := b.StartSpan("op.a", map[string]any{"config": "fp1"})
	fc.Advance(1500 * time.Millisecond)
	sp.Stop(map[string]float64{"retry_count": 2}, map[string]any{"status": 200})
	sp.Stop(nil, nil) // ignored

	sp2 := b.StartSpan("op.b", nil)
	fc.Advance(time.Second)
	sp2.Exception(errors.New("bad"), nil, nil)

	require.Equal(t, []string{"op.a.start", "op.a.stop", "op.b.start", "op.b.exception"}, r.names())
	start := r.events[0]
	assert.Equal(t, 100.0, start.Measurements["system_time"])
	stop := r.events[1]
	assert.Equal(t, 1.5, stop.Measurements["duration"])
	assert.Equal(t, 2.0, stop.Measurements["retry_count"])
	assert.Equal(t, "fp1", stop.Metadata["config"])
	assert.Equal(t, 200, stop.Metadata["status"])
	exc := r.events[3]
	assert.Equal(t, 1.0, exc.Measurements["duration"])
	assert.Equal(t, "bad", exc.Metadata["error"])
	assert.Equal(t, "error", exc.Metadata["kind"])
	assert.Equal(t, time.Unix(102, 500_000_000), exc.Time)
}

func TestConcurrentAttachExecute(t *testing.T) {
	b := NewBus()
	var wg sync.WaitGroup
	var r recorder
	for i := 0; i < 8; i++ {
		wg.Add(2)
		go func(i int) {
			defer wg.Done()
			id := string(rune('a' + i))
			_ = b.Attach(id, []string{"x"}, r.handle)
			b.Detach(id)
		}(i)
		go func() {
			defer wg.Done()
			for j := 0; j < 100; j++ {
				b.Execute("x", nil, nil)
			}
		}()
	}
	wg.Wait()
	assert.Empty(t, b.Handlers())
}

func TestEventString(t *testing.T) {
	e := Event{Name: "n", Measurements: map[string]float64{"b": 2, "a": 1}, Metadata: map[string]any{"z": "q", "c": 3}}
	assert.Equal(t, "n a=1 b=2 c=3 z=q", e.String())
}

func TestStartSpanLazy(t *testing.T) {
	b := NewBus()
	built := 0
	meta := func() map[string]any { built++; return map[string]any{"k": "v"} }
	assert.Nil(t, b.StartSpanLazy("op", meta), "nobody listens: no span")
	assert.Equal(t, 0, built)

	var r recorder
	require.NoError(t, b.Attach("exc", []string{"op.exception"}, r.handle))
	sp := b.StartSpanLazy("op", meta)
	require.NotNil(t, sp)
	sp.Stop(nil, nil)
	assert.Equal(t, 0, built, "a success with only an exception listener builds nothing")
	sp2 := b.StartSpanLazy("op", meta)
	sp2.Exception(errors.New("bad"), nil, nil)
	assert.Equal(t, 1, built)
	require.Len(t, r.events, 1)
	assert.Equal(t, "v", r.events[0].Metadata["k"])
	assert.Equal(t, "bad", r.events[0].Metadata["error"])

	require.NoError(t, b.Attach("start", []string{"op.start"}, r.handle))
	b.StartSpanLazy("op", meta).Stop(nil, nil)
	assert.Equal(t, 2, built, "a start listener builds the metadata once, up front")
}

// Emits tells a caller whether the end it is about to report would be
// emitted, so it can skip building that end's metadata.
func TestSpanEmits(t *testing.T) {
	b := NewBus()
	var nilSpan *Span
	assert.False(t, nilSpan.Emits(false))
	var r recorder
	require.NoError(t, b.Attach("exc", []string{"op.exception"}, r.handle))
	sp := b.StartSpanLazy("op", func() map[string]any { return nil })
	require.NotNil(t, sp)
	assert.False(t, sp.Emits(false), "nobody listens to op.stop")
	assert.True(t, sp.Emits(true))
	sp.Exception(errors.New("bad"), nil, nil)
	assert.False(t, sp.Emits(true), "an ended span emits nothing more")
	require.NoError(t, b.Attach("stop", []string{"op.stop"}, r.handle))
	assert.True(t, b.StartSpanLazy("op", func() map[string]any { return nil }).Emits(false))
}

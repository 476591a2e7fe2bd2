package telemetry

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tinkex-go/tinkex/types"
)

// drained flushes b and returns the event names its sink received.
func drained(t *testing.T, b *Batcher, sink *fakeSink) []string {
	t.Helper()
	require.NoError(t, b.Flush(context.Background()))
	var names []string
	for {
		select {
		case r := <-sink.reqs:
			for _, e := range r.Events {
				names = append(names, e.EventData["note"].(string))
			}
		default:
			return names
		}
	}
}

func TestRouterForwardsBySessionElseByConfig(t *testing.T) {
	bus := NewBus()
	r := NewRouter(bus)
	sa, sb, sc := newSink(), newSink(), newSink()
	a, _ := newTestBatcher(t, sa)
	b, _ := newTestBatcher(t, sb)
	c, _ := newTestBatcher(t, sc)
	assert.False(t, bus.Enabled(HTTPRequestError), "not attached before the first Add")
	removeA, err := r.Add("cfg-1", "sess-a", a)
	require.NoError(t, err)
	removeB, err := r.Add("cfg-1", "sess-b", b)
	require.NoError(t, err)
	removeC, err := r.Add("cfg-2", "sess-c", c)
	require.NoError(t, err)
	assert.True(t, bus.Enabled(HTTPRequestError))

	emit := func(note string, md map[string]any) {
		md[KeyKind] = "server"
		md["note"] = note
		bus.Execute(HTTPRequestError, nil, md)
	}
	emit("config 1", map[string]any{KeyConfig: "cfg-1"})
	emit("session c", map[string]any{KeySessionID: "sess-c"})
	emit("config 1, session a", map[string]any{KeyConfig: "cfg-1", KeySessionID: "sess-a"})
	emit("config 2, session b", map[string]any{KeyConfig: "cfg-2", KeySessionID: "sess-b"})
	emit("nobody's", map[string]any{KeyConfig: "cfg-3", KeySessionID: "sess-x"})
	emit("telemetry pool", map[string]any{KeyConfig: "cfg-1", KeyPool: "telemetry"})
	bus.Execute(HTTPRequestError, nil, map[string]any{KeyConfig: "cfg-1", KeyKind: types.KindCanceled.String(), "note": "canceled"})

	// An event naming a session is that session's alone, whatever its
	// config; one naming only a config goes to every session of it.
	assert.Equal(t, []string{"config 1", "config 1, session a"}, drained(t, a, sa))
	assert.Equal(t, []string{"config 1", "config 2, session b"}, drained(t, b, sb))
	assert.Equal(t, []string{"session c"}, drained(t, c, sc))

	removeB()
	removeB() // idempotent
	emit("after b left", map[string]any{KeyConfig: "cfg-1", KeySessionID: "sess-b"})
	emit("config 1 after b left", map[string]any{KeyConfig: "cfg-1"})
	assert.Equal(t, []string{"config 1 after b left"}, drained(t, a, sa), "b's event is not a's")
	assert.Empty(t, drained(t, b, sb))
	removeA()
	removeC()
	assert.False(t, bus.Enabled(HTTPRequestError), "detached after the last batcher")

	removeA2, err := r.Add("cfg-1", "", a)
	require.NoError(t, err, "attaches again")
	emit("again", map[string]any{KeyConfig: "cfg-1"})
	assert.Equal(t, []string{"again"}, drained(t, a, sa))
	removeA2()
}

func TestRouterRefusesWhatItCannotServe(t *testing.T) {
	sink := newSink()
	b, _ := newTestBatcher(t, sink)
	var nilRouter *Router
	_, err := nilRouter.Add("c", "s", b)
	assert.Error(t, err)
	_, err = NewRouter(nil).Add("c", "s", b)
	assert.Error(t, err)
	_, err = NewRouter(NewBus()).Add("c", "s", nil)
	assert.Error(t, err)
}

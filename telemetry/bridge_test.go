package telemetry

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tinkex-go/tinkex/supervisor"
	"github.com/tinkex-go/tinkex/types"
)

func TestServerEventMapping(t *testing.T) {
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name      string
		md        map[string]any
		forwarded bool
		eventName string
		severity  types.TelemetrySeverity
	}{
		{FutureRequestFailed, map[string]any{KeyCategory: "user", KeyError: "bad tokens", KeyRequestID: "r1"}, true, UserErrorEvent, types.SeverityWarning},
		{FutureRequestFailed, map[string]any{KeyCategory: "server"}, true, FutureRequestFailed, types.SeverityError},
		{FutureAPIError, map[string]any{KeyStatus: 500}, true, FutureAPIError, types.SeverityWarning},
		{FutureConnectionError, nil, true, FutureConnectionError, types.SeverityWarning},
		{FutureTimeout, nil, true, FutureTimeout, types.SeverityError},
		{SupervisorChildRestarted, map[string]any{KeyChild: "training:m"}, true, SupervisorChildRestarted, types.SeverityWarning},
		{SupervisorIntensityExceeded, nil, true, SupervisorIntensityExceeded, types.SeverityError},
		{HTTPRequestError, map[string]any{KeyKind: "user", KeyStatus: 400, KeyError: "bad"}, true, UserErrorEvent, types.SeverityWarning},
		{HTTPRequestError, map[string]any{KeyKind: "server", KeyStatus: 500}, true, HTTPRequestError, types.SeverityError},
		{TrainingPrefix + "optim_step.exception", map[string]any{KeyKind: "validation"}, true, UserErrorEvent, types.SeverityWarning},
		{SamplingSample + ".exception", map[string]any{KeyKind: "rate_limited"}, true, SamplingSample + ".exception", types.SeverityError},
		// every kind types.IsUserError calls a user error is a user_error
		{HTTPRequestError, map[string]any{KeyKind: "not_found", KeyStatus: 404}, true, UserErrorEvent, types.SeverityWarning},
		{HTTPRequestError, map[string]any{KeyKind: "conflict", KeyStatus: 409}, true, UserErrorEvent, types.SeverityWarning},
		{HTTPRequestError, map[string]any{KeyKind: "auth", KeyStatus: 401}, true, UserErrorEvent, types.SeverityWarning},
		{HTTPRequestError, map[string]any{KeyKind: "permission", KeyStatus: 403}, true, UserErrorEvent, types.SeverityWarning},
		{TrainingPrefix + "optim_step.exception", map[string]any{KeyKind: "request_failed", KeyCategory: "user"}, true, UserErrorEvent, types.SeverityWarning},
		{TrainingPrefix + "optim_step.exception", map[string]any{KeyKind: "request_failed", KeyCategory: "server"}, true, TrainingPrefix + "optim_step.exception", types.SeverityError},
		{SamplingSample + ".exception", map[string]any{KeyKind: "canceled"}, false, "", ""},
		{HTTPRequestStop, nil, false, "", ""},
		{TrainingPrefix + "forward.stop", nil, false, "", ""},
		{HTTPRetry, nil, false, "", ""},
		{QueueStateChange, nil, false, "", ""},
	}
	for _, tc := range tests {
		ev, ok := ServerEvent(Event{Name: tc.name, Time: at, Metadata: tc.md, Measurements: map[string]float64{MeasureDuration: 2}})
		require.Equal(t, tc.forwarded, ok, "%s %v", tc.name, tc.md)
		if !ok {
			continue
		}
		assert.Equal(t, types.TelemetryGenericEvent, ev.Event, tc.name)
		assert.Equal(t, tc.eventName, ev.EventName, tc.name)
		assert.Equal(t, tc.severity, ev.Severity, tc.name)
		assert.Equal(t, at, ev.Timestamp, tc.name)
	}

	user, _ := ServerEvent(Event{Name: HTTPRequestError, Metadata: map[string]any{KeyKind: "user", KeyStatus: 422, KeyError: "bad", KeyPID: "$1"}})
	assert.Equal(t, map[string]any{"error_type": "tinkex.user", "message": "bad", "status_code": 422, "source_event": HTTPRequestError}, user.EventData)
	generic, _ := ServerEvent(Event{Name: FutureAPIError, Metadata: map[string]any{KeyStatus: 500, KeyPID: "$1"}, Measurements: map[string]float64{"elapsed_time": 3}})
	assert.Equal(t, map[string]any{KeyStatus: 500, "elapsed_time": 3.0}, generic.EventData, "measurements join the data; pids do not")
}

func TestBridgeForwardsFilteredEvents(t *testing.T) {
	sink := newSink()
	b, _ := newTestBatcher(t, sink)
	bus := NewBus()
	detach, err := b.Bridge(bus, BridgeOptions{SessionID: "sess-1"})
	require.NoError(t, err)

	assert.False(t, bus.Enabled(HTTPRequestStart), "the bridge does not make hot start events enabled")
	assert.False(t, bus.Enabled(HTTPRequestStop))

	bus.Execute(FutureTimeout, nil, map[string]any{KeySessionID: "sess-1", KeyRequestID: "r1"})
	bus.Execute(FutureTimeout, nil, map[string]any{KeySessionID: "sess-2"})                          // other session
	bus.Execute(FutureTimeout, nil, nil)                                                             // no session
	bus.Execute(HTTPRequestError, nil, map[string]any{KeySessionID: "sess-1", KeyPool: "telemetry"}) // no feedback loop
	bus.Execute(TrainingPrefix+"forward.stop", nil, map[string]any{KeySessionID: "sess-1"})          // not a problem
	bus.Execute(FutureRequestFailed, nil, map[string]any{KeySessionID: "sess-1", KeyCategory: "user", "api_key": "tml-leak"})

	require.NoError(t, b.Flush(context.Background()))
	var got []types.TelemetryEvent
	for len(got) < 2 {
		got = append(got, sink.next(t).Events...)
	}
	require.Len(t, got, 2)
	assert.Equal(t, FutureTimeout, got[0].EventName)
	assert.Equal(t, "r1", got[0].EventData[KeyRequestID])
	assert.Equal(t, UserErrorEvent, got[1].EventName)
	sink.none(t)

	detach()
	detach()
	assert.Empty(t, bus.Handlers())
}

func TestBridgeAllSessionsCustomMapAndErrors(t *testing.T) {
	sink := newSink()
	b, _ := newTestBatcher(t, sink)
	bus := NewBus()
	_, err := b.Bridge(bus, BridgeOptions{ID: "br", Map: func(ev Event) (types.TelemetryEvent, bool) {
		return types.TelemetryEvent{Event: types.TelemetryGenericEvent, Severity: types.SeverityInfo, EventName: "custom:" + ev.Name}, true
	}})
	require.NoError(t, err)
	bus.Execute(SupervisorChildRestarted, nil, nil)
	require.NoError(t, b.Flush(context.Background()))
	assert.Equal(t, "custom:"+SupervisorChildRestarted, sink.next(t).Events[0].EventName)

	_, err = b.Bridge(bus, BridgeOptions{ID: "br"})
	assert.ErrorIs(t, err, ErrDuplicateHandler)
	_, err = b.Bridge(nil, BridgeOptions{})
	assert.Error(t, err)
	var nilB *Batcher
	_, err = nilB.Bridge(bus, BridgeOptions{})
	assert.Error(t, err)
}

func TestSupervisorHookEmitsTheBusEvents(t *testing.T) {
	bus := NewBus()
	var got []Event
	require.NoError(t, bus.Attach("test", []string{"tinkex.supervisor.*"}, func(e Event) { got = append(got, e) }))
	hook := SupervisorHook(bus)
	hook(supervisor.Event{Type: supervisor.EventChildRestarted, Supervisor: "service:a", Strategy: supervisor.RestForOne,
		Child: "sampling:1", Restart: supervisor.Transient, PID: "tinkex/clients/service:a/sampling:1",
		Reason: errors.New("panic: boom"), Restarts: 2})
	hook(supervisor.Event{Type: supervisor.EventChildStarted, Supervisor: "tinkex", Child: "clients", ChildKind: supervisor.KindSupervisor})
	require.Len(t, got, 2)
	assert.Equal(t, SupervisorChildRestarted, got[0].Name)
	assert.Equal(t, map[string]any{
		KeySupervisor: "service:a", KeyStrategy: "rest_for_one", KeyChild: "sampling:1", KeyChildKind: "worker",
		KeyRestartType: "transient", KeyPID: "tinkex/clients/service:a/sampling:1", KeyReason: "panic: boom",
	}, got[0].Metadata)
	assert.Equal(t, map[string]float64{MeasureRestarts: 2}, got[0].Measurements)
	assert.Equal(t, SupervisorChildStarted, got[1].Name)
	assert.NotContains(t, got[1].Metadata, KeyPID)
	assert.NotContains(t, got[1].Metadata, KeyReason)
	assert.Equal(t, "supervisor", got[1].Metadata[KeyChildKind])

	SupervisorHook(nil)(supervisor.Event{}) // a nil bus emits nothing

	// SupervisorHookWith adds the metadata its function returns, never over
	// the event's own.
	got = nil
	SupervisorHookWith(bus, func(ev supervisor.Event) map[string]any {
		if ev.Supervisor != "service:a" {
			return nil
		}
		return map[string]any{KeyConfig: "cfg-a", KeySessionID: "sess-a", KeyChild: "not this"}
	})(supervisor.Event{Type: supervisor.EventChildRestarted, Supervisor: "service:a", Child: "sampling:1"})
	require.Len(t, got, 1)
	assert.Equal(t, "cfg-a", got[0].Metadata[KeyConfig])
	assert.Equal(t, "sess-a", got[0].Metadata[KeySessionID])
	assert.Equal(t, "sampling:1", got[0].Metadata[KeyChild])
}

package telemetry

import (
	"errors"
	"fmt"
	"strings"

	"github.com/tinkex-go/tinkex/supervisor"
	"github.com/tinkex-go/tinkex/types"
)

// BridgeOptions configures Batcher.Bridge.
type BridgeOptions struct {
	// ID is the handler id on the bus; empty picks "tinkex.server-telemetry/N".
	ID string
	// SessionID, when set, forwards only events whose session_id metadata
	// equals it, so each session's batcher reports its own events on a bus
	// shared by several sessions. Empty forwards every matching event.
	SessionID string
	// Map turns a bus event into a server event, or reports false to skip
	// it; nil means ServerEvent.
	Map func(Event) (types.TelemetryEvent, bool)
}

// bridgeEvents are the bus events ServerEvent may forward; attaching to
// these rather than "*" keeps Bus.Enabled false for the hot start/stop
// events, so emitters can skip building them.
var bridgeEvents = []string{
	HTTPRequestError,
	"tinkex.future.*",
	"tinkex.training.*",
	SamplingSample + ".exception",
	SupervisorChildRestarted,
	SupervisorIntensityExceeded,
}

// Bridge forwards bus events to the batcher as server-side events (see
// ServerEvent). Events about the telemetry pool itself (pool "telemetry")
// are never forwarded, so a failing telemetry POST cannot feed itself. The
// returned detach is idempotent. It fails on a nil bus or batcher, or an id
// already attached.
func (b *Batcher) Bridge(bus *Bus, opts BridgeOptions) (detach func(), err error) {
	if b == nil {
		return nil, errors.New("telemetry: Bridge on a nil Batcher")
	}
	mapEvent := opts.Map
	if mapEvent == nil {
		mapEvent = ServerEvent
	}
	detach, err = bus.attachOnce(opts.ID, "tinkex.server-telemetry", bridgeEvents, func(ev Event) {
		if ev.Metadata[KeyPool] == "telemetry" {
			return
		}
		if opts.SessionID != "" && ev.Metadata[KeySessionID] != opts.SessionID {
			return
		}
		if sev, ok := mapEvent(ev); ok {
			b.Enqueue(sev)
		}
	})
	if err != nil {
		return nil, fmt.Errorf("telemetry: bridge: %w", err)
	}
	return detach, nil
}

// isUserErrorEvent reports whether an exception's metadata describes a user
// error: types.IsUserError's rule (types.IsUserKind) on its kind and
// category.
func isUserErrorEvent(md map[string]any) bool {
	k, ok := types.ParseKind(fmt.Sprint(md[KeyKind]))
	return ok && types.IsUserKind(k, types.Category(fmt.Sprint(md[KeyCategory])))
}

// isUserCategory reports whether a failed request's metadata carries the
// server's category user (tinkex.future.request_failed).
func isUserCategory(md map[string]any) bool {
	return types.IsUserKind(types.KindRequestFailed, types.Category(fmt.Sprint(md[KeyCategory])))
}

// ServerEvent is the default mapping of bus events to server-side events.
// Only problems are forwarded; starts, stops and per-attempt events stay
// local (use Prometheus or the logger for those):
//
//   - a ".exception" of an HTTP request, training op or sample: GENERIC_EVENT
//     "user_error" (WARNING) when it is a user error as types.IsUserError
//     says (kind user, validation, conflict, auth, permission or not_found,
//     or request_failed with category user), else a
//     GENERIC_EVENT named after the bus event (ERROR), except kind
//     "canceled", which is the caller's choice and is not forwarded;
//   - tinkex.future.request_failed: "user_error" (WARNING) when its category
//     is user, else the bus event name (ERROR);
//   - tinkex.future.api_error and connection_error (WARNING), timeout (ERROR);
//   - tinkex.supervisor.child_restarted (WARNING) and intensity_exceeded (ERROR).
//
// The event data is the event's metadata plus its measurements; Enqueue
// scrubs it. user_error data carries error_type, message, status_code and
// source_event, as the Python SDK's does.
func ServerEvent(ev Event) (types.TelemetryEvent, bool) {
	md := ev.Metadata
	switch {
	case ev.Name == FutureRequestFailed:
		if isUserCategory(md) {
			return userError(ev, "tinkex.request_failed"), true
		}
		return genericEvent(ev, types.SeverityError), true
	case ev.Name == FutureAPIError, ev.Name == FutureConnectionError, ev.Name == SupervisorChildRestarted:
		return genericEvent(ev, types.SeverityWarning), true
	case ev.Name == FutureTimeout, ev.Name == SupervisorIntensityExceeded:
		return genericEvent(ev, types.SeverityError), true
	case strings.HasSuffix(ev.Name, ".exception"):
		kind := fmt.Sprint(md[KeyKind])
		if kind == types.KindCanceled.String() {
			return types.TelemetryEvent{}, false
		}
		if isUserErrorEvent(md) {
			return userError(ev, "tinkex."+kind), true
		}
		return genericEvent(ev, types.SeverityError), true
	}
	return types.TelemetryEvent{}, false
}

func genericEvent(ev Event, sev types.TelemetrySeverity) types.TelemetryEvent {
	data := make(map[string]any, len(ev.Metadata)+len(ev.Measurements))
	for k, v := range ev.Metadata {
		if k == KeyPID {
			continue
		}
		data[k] = v
	}
	for k, v := range ev.Measurements {
		data[k] = v
	}
	return types.TelemetryEvent{Event: types.TelemetryGenericEvent, Severity: sev, Timestamp: ev.Time,
		EventName: ev.Name, EventData: data}
}

func userError(ev Event, errType string) types.TelemetryEvent {
	data := map[string]any{"error_type": errType, "source_event": ev.Name}
	if msg, ok := ev.Metadata[KeyError]; ok {
		data["message"] = msg
	}
	if st, ok := ev.Metadata[KeyStatus]; ok && statusOf(st) != 0 {
		data["status_code"] = statusOf(st)
	}
	if id, ok := ev.Metadata[KeyRequestID]; ok {
		data["request_id"] = id
	}
	return types.TelemetryEvent{Event: types.TelemetryGenericEvent, Severity: types.SeverityWarning, Timestamp: ev.Time,
		EventName: UserErrorEvent, EventData: data}
}

// SupervisorHook returns the supervisor.EventHook that puts a supervision
// tree's events on bus as "tinkex.supervisor.<type>" (SupervisorChildStarted,
// SupervisorChildRestarted...), with the supervisor, strategy, child,
// child_kind, restart_type, pid and reason metadata and the restarts
// measurement. Pass it with supervisor.WithEventHook; a nil bus emits nothing.
func SupervisorHook(bus *Bus) supervisor.EventHook { return SupervisorHookWith(bus, nil) }

// SupervisorHookWith is SupervisorHook with the metadata extra returns for
// an event added to it (extra may be nil, or return nil): a runtime names
// the config and session a subtree's events belong to, so the server-side
// telemetry of that session reports them (Router routes by them).
func SupervisorHookWith(bus *Bus, extra func(supervisor.Event) map[string]any) supervisor.EventHook {
	return func(ev supervisor.Event) {
		name := SupervisorPrefix + ev.Type.String()
		if !bus.Enabled(name) {
			return
		}
		meta := map[string]any{
			KeySupervisor:  ev.Supervisor,
			KeyStrategy:    ev.Strategy.String(),
			KeyChild:       ev.Child,
			KeyChildKind:   ev.ChildKind.String(),
			KeyRestartType: ev.Restart.String(),
		}
		if ev.PID != "" {
			meta[KeyPID] = ev.PID
		}
		if ev.Reason != nil {
			meta[KeyReason] = ev.Reason.Error()
		}
		if extra != nil {
			for k, v := range extra(ev) {
				if _, taken := meta[k]; !taken {
					meta[k] = v
				}
			}
		}
		bus.Execute(name, map[string]float64{MeasureRestarts: float64(ev.Restarts)}, meta)
	}
}

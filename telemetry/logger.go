package telemetry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"time"

	"github.com/tinkex-go/tinkex/types"
)

// LoggerOptions configures AttachLogger. The zero value logs every event at
// its default level (EventLevel) when that level is at least INFO.
type LoggerOptions struct {
	// ID is the handler id on the bus; empty picks a fresh "tinkex.logger/N".
	ID string
	// Events are the event patterns to log (see Bus.Attach); empty means "*".
	Events []string
	// MinLevel drops records below it; nil means slog.LevelInfo. The
	// logger's own handler may filter further.
	MinLevel slog.Leveler
	// Level overrides EventLevel when set.
	Level func(Event) slog.Level
}

// AttachLogger attaches a handler that writes each matching event as one
// slog record: the message is the event name, the record time is the
// event's time, then the measurements (durations in seconds rendered as
// time.Duration, whole numbers as integers) and the metadata, each in sorted
// key order. Metadata is passed through ScrubMetadata, so a credential that
// reached an event by mistake prints as [REDACTED…], never in clear.
//
// The level of each record is EventLevel(ev) unless opts.Level is set. The
// returned detach removes the handler; calling it more than once is safe.
// It fails on a nil bus or logger, an empty pattern, or an id already
// attached (ErrDuplicateHandler).
func AttachLogger(bus *Bus, logger *slog.Logger, opts LoggerOptions) (detach func(), err error) {
	if logger == nil {
		return nil, errors.New("telemetry: AttachLogger needs a logger")
	}
	events := opts.Events
	if len(events) == 0 {
		events = []string{"*"}
	}
	var minLevel slog.Leveler = slog.LevelInfo
	if opts.MinLevel != nil {
		minLevel = opts.MinLevel
	}
	levelOf := opts.Level
	if levelOf == nil {
		levelOf = EventLevel
	}
	handler := logger.Handler()
	detach, err = bus.attachOnce(opts.ID, "tinkex.logger", events, func(ev Event) {
		level := levelOf(ev)
		if level < minLevel.Level() || !handler.Enabled(context.Background(), level) {
			return
		}
		r := slog.NewRecord(ev.Time, level, ev.Name, 0)
		r.AddAttrs(eventAttrs(ev)...)
		_ = handler.Handle(context.Background(), r) // a failing log sink must not fail the emitter
	})
	if err != nil {
		return nil, fmt.Errorf("telemetry: attach logger: %w", err)
	}
	return detach, nil
}

// durationMeasures are the measurements, in seconds, that read better as a
// time.Duration.
var durationMeasures = map[string]bool{
	MeasureDuration: true, MeasureDelay: true, MeasureBackoffLeft: true, "elapsed_time": true,
}

func eventAttrs(ev Event) []slog.Attr {
	attrs := make([]slog.Attr, 0, len(ev.Measurements)+len(ev.Metadata))
	for _, k := range sortedKeys(ev.Measurements) {
		v := ev.Measurements[k]
		switch {
		case durationMeasures[k] && !math.IsNaN(v) && !math.IsInf(v, 0):
			attrs = append(attrs, slog.Duration(k, time.Duration(v*float64(time.Second))))
		case k == MeasureSystemTime:
			sec, frac := math.Modf(v)
			attrs = append(attrs, slog.Time(k, time.Unix(int64(sec), int64(frac*1e9)).UTC()))
		case v == math.Trunc(v) && math.Abs(v) < 1<<53:
			attrs = append(attrs, slog.Int64(k, int64(v)))
		default:
			attrs = append(attrs, slog.Float64(k, v))
		}
	}
	md := ScrubMetadata(ev.Metadata)
	for _, k := range sortedKeys(md) {
		attrs = append(attrs, slog.Any(k, md[k]))
	}
	return attrs
}

// EventLevel is the default log level of an event, chosen so that INFO
// shows what an operator wants to see and DEBUG the per-request traffic:
//
//   - ERROR: handler failures, supervisor intensity exceeded, a lost
//     training seq_id (seq_gap), child terminated (OTP's error report), start and shutdown errors, span
//     exceptions (".exception") except user errors and cancellations,
//     future request_failed unless its category is "user".
//   - WARN: retries (tinkex.http.retry and tinkex.call.retry), limiter backoff set, future api_error /
//     connection_error / timeout, child restarts, exceptions that are user
//     errors by types.IsUserError's rule (kind user, validation, conflict,
//     auth, permission or not_found, or request_failed with category user;
//     the rule ServerEvent's user_error follows too), exceptions whose kind
//     is canceled or rate_limited, and request_failed with category "user".
//   - INFO: limiter backoff cleared, queue state changes, child started,
//     training operation stops, unknown events.
//   - DEBUG: span starts, the stops of HTTP requests and samples (one per
//     request, too many for INFO), and child stopped (a normal stop, which
//     OTP does not report; abnormal exits come as child_terminated).
func EventLevel(ev Event) slog.Level {
	switch ev.Name {
	case HandlerFailed, SupervisorIntensityExceeded, TrainingSeqGap, SupervisorChildTerminated, SupervisorStartError,
		SupervisorShutdownError:
		return slog.LevelError
	case HTTPRetry, CallRetry, LimiterBackoffSet, FutureAPIError, FutureConnectionError, FutureTimeout,
		SupervisorChildRestarted:
		return slog.LevelWarn
	case FutureRequestFailed:
		if isUserCategory(ev.Metadata) {
			return slog.LevelWarn
		}
		return slog.LevelError
	case LimiterBackoffCleared, QueueStateChange, SupervisorChildStarted:
		return slog.LevelInfo
	case HTTPRequestStop, SamplingSample + ".stop", SupervisorChildStopped:
		return slog.LevelDebug
	}
	switch {
	case strings.HasSuffix(ev.Name, ".exception"):
		if isUserErrorEvent(ev.Metadata) {
			return slog.LevelWarn
		}
		switch fmt.Sprint(ev.Metadata[KeyKind]) {
		case types.KindCanceled.String(), types.KindRateLimited.String():
			return slog.LevelWarn
		}
		return slog.LevelError
	case strings.HasSuffix(ev.Name, ".start"):
		return slog.LevelDebug
	}
	return slog.LevelInfo
}

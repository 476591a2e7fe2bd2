package types

import (
	"fmt"
	"time"
)

// TelemetryEventType is the "event" discriminator of a server-side telemetry
// event.
type TelemetryEventType string

// The server-side telemetry event types.
const (
	TelemetrySessionStart       TelemetryEventType = "SESSION_START"
	TelemetrySessionEnd         TelemetryEventType = "SESSION_END"
	TelemetryUnhandledException TelemetryEventType = "UNHANDLED_EXCEPTION"
	TelemetryGenericEvent       TelemetryEventType = "GENERIC_EVENT"
)

// TelemetrySeverity is the severity of a server-side telemetry event.
type TelemetrySeverity string

// Severities, as the Python SDK spells them on the wire.
const (
	SeverityDebug    TelemetrySeverity = "DEBUG"
	SeverityInfo     TelemetrySeverity = "INFO"
	SeverityWarning  TelemetrySeverity = "WARNING"
	SeverityError    TelemetrySeverity = "ERROR"
	SeverityCritical TelemetrySeverity = "CRITICAL"
)

// Rank orders severities from DEBUG (0) to CRITICAL (4); an unknown
// severity ranks -1.
func (s TelemetrySeverity) Rank() int {
	switch s {
	case SeverityDebug:
		return 0
	case SeverityInfo:
		return 1
	case SeverityWarning:
		return 2
	case SeverityError:
		return 3
	case SeverityCritical:
		return 4
	default:
		return -1
	}
}

// TelemetryEvent is one server-side telemetry event. The four variants share
// one struct, told apart by Event; fields that do not belong to the variant
// stay zero and are omitted from the JSON, as the Python SDK omits nulls.
//
//   - SESSION_START: the common fields only.
//   - SESSION_END: Duration, in Python's str(timedelta) form ("0:05:12.345678",
//     see FormatTelemetryDuration).
//   - UNHANDLED_EXCEPTION: ErrorType, ErrorMessage and optionally Traceback.
//   - GENERIC_EVENT: EventName and optionally EventData.
type TelemetryEvent struct {
	Event             TelemetryEventType `json:"event"`
	EventID           string             `json:"event_id"`            // uuid4
	EventSessionIndex int64              `json:"event_session_index"` // per-session counter from 0
	Severity          TelemetrySeverity  `json:"severity"`
	Timestamp         time.Time          `json:"timestamp"` // UTC, RFC 3339 (ISO 8601)

	Duration string `json:"duration,omitempty"` // SESSION_END

	ErrorType    string `json:"error_type,omitempty"`    // UNHANDLED_EXCEPTION
	ErrorMessage string `json:"error_message,omitempty"` // UNHANDLED_EXCEPTION
	Traceback    string `json:"traceback,omitempty"`     // UNHANDLED_EXCEPTION

	EventName string         `json:"event_name,omitempty"` // GENERIC_EVENT
	EventData map[string]any `json:"event_data,omitempty"` // GENERIC_EVENT
}

// Validate checks that e is a well-formed event of its variant: a known
// type and severity, an event id, a timestamp, a non-negative index and the
// variant's required fields. It returns a *Error of KindValidation.
func (e *TelemetryEvent) Validate() error {
	const op = "telemetry_event"
	if e.EventID == "" {
		return ValidationError(op, "event_id is empty")
	}
	if e.EventSessionIndex < 0 {
		return ValidationError(op, "event_session_index %d is negative", e.EventSessionIndex)
	}
	if e.Severity.Rank() < 0 {
		return ValidationError(op, "unknown severity %q", e.Severity)
	}
	if e.Timestamp.IsZero() {
		return ValidationError(op, "timestamp is missing")
	}
	switch e.Event {
	case TelemetrySessionStart:
	case TelemetrySessionEnd:
		if e.Duration == "" {
			return ValidationError(op, "SESSION_END needs a duration")
		}
	case TelemetryUnhandledException:
		if e.ErrorType == "" {
			return ValidationError(op, "UNHANDLED_EXCEPTION needs an error_type")
		}
	case TelemetryGenericEvent:
		if e.EventName == "" {
			return ValidationError(op, "GENERIC_EVENT needs an event_name")
		}
	default:
		return ValidationError(op, "unknown event type %q", e.Event)
	}
	return nil
}

// TelemetrySendRequest is the body of POST /api/v1/telemetry.
type TelemetrySendRequest struct {
	Events      []TelemetryEvent `json:"events"`
	Platform    string           `json:"platform"` // e.g. "Linux", "Darwin"
	SDKVersion  string           `json:"sdk_version"`
	SessionID   string           `json:"session_id"`
	ProcessUUID string           `json:"process_uuid,omitempty"` // uuid4 shared by the process
}

// Validate checks the request and every event in it; the error names the
// first bad event by index.
func (r *TelemetrySendRequest) Validate() error {
	const op = "telemetry_send"
	if r.SessionID == "" {
		return ValidationError(op, "session_id is empty")
	}
	if r.SDKVersion == "" {
		return ValidationError(op, "sdk_version is empty")
	}
	if r.Platform == "" {
		return ValidationError(op, "platform is empty")
	}
	for i := range r.Events {
		if err := r.Events[i].Validate(); err != nil {
			return Wrap(op, err, "event %d", i)
		}
	}
	return nil
}

// TelemetryAcceptedStatus is the status the server answers to a telemetry
// batch it took.
const TelemetryAcceptedStatus = "accepted"

// TelemetryResponse is the response of POST /api/v1/telemetry:
// {"status":"accepted"}.
type TelemetryResponse struct {
	Status string `json:"status"`
}

// FormatTelemetryDuration renders d the way Python's str(timedelta) does,
// which is what SESSION_END carries on the wire: "H:MM:SS" with
// ".ffffff" when there are microseconds, and "N day(s), " in front when d
// spans days. Negative durations render as zero.
func FormatTelemetryDuration(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	us := d.Microseconds()
	days := us / (24 * 3600 * 1e6)
	us -= days * 24 * 3600 * 1e6
	h := us / 3600e6
	us -= h * 3600e6
	m := us / 60e6
	us -= m * 60e6
	s := us / 1e6
	us -= s * 1e6
	out := fmt.Sprintf("%d:%02d:%02d", h, m, s)
	if us > 0 {
		out += fmt.Sprintf(".%06d", us)
	}
	switch {
	case days == 1:
		out = "1 day, " + out
	case days > 1:
		out = fmt.Sprintf("%d days, %s", days, out)
	}
	return out
}

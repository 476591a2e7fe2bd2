package types

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var telemetryTS = time.Date(2026, 11, 26, 12, 0, 1, 500_000_000, time.UTC)

func TestTelemetryEventJSONOmitsOtherVariantsFields(t *testing.T) {
	tests := []struct {
		name string
		ev   TelemetryEvent
		want string
	}{
		{
			name: "session start",
			ev:   TelemetryEvent{Event: TelemetrySessionStart, EventID: "id0", Severity: SeverityInfo, Timestamp: telemetryTS},
			want: `{"event":"SESSION_START","event_id":"id0","event_session_index":0,"severity":"INFO","timestamp":"2026-11-26T12:00:01.5Z"}`,
		},
		{
			name: "session end",
			ev:   TelemetryEvent{Event: TelemetrySessionEnd, EventID: "id1", EventSessionIndex: 7, Severity: SeverityInfo, Timestamp: telemetryTS, Duration: "0:05:12.345678"},
			want: `{"event":"SESSION_END","event_id":"id1","event_session_index":7,"severity":"INFO","timestamp":"2026-11-26T12:00:01.5Z","duration":"0:05:12.345678"}`,
		},
		{
			name: "unhandled exception",
			ev:   TelemetryEvent{Event: TelemetryUnhandledException, EventID: "id2", EventSessionIndex: 2, Severity: SeverityError, Timestamp: telemetryTS, ErrorType: "server", ErrorMessage: "boom"},
			want: `{"event":"UNHANDLED_EXCEPTION","event_id":"id2","event_session_index":2,"severity":"ERROR","timestamp":"2026-11-26T12:00:01.5Z","error_type":"server","error_message":"boom"}`,
		},
		{
			name: "generic",
			ev:   TelemetryEvent{Event: TelemetryGenericEvent, EventID: "id3", EventSessionIndex: 3, Severity: SeverityWarning, Timestamp: telemetryTS, EventName: "user_error", EventData: map[string]any{"status_code": 400}},
			want: `{"event":"GENERIC_EVENT","event_id":"id3","event_session_index":3,"severity":"WARNING","timestamp":"2026-11-26T12:00:01.5Z","event_name":"user_error","event_data":{"status_code":400}}`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.NoError(t, tc.ev.Validate())
			got, err := json.Marshal(tc.ev)
			require.NoError(t, err)
			assert.JSONEq(t, tc.want, string(got))
			assert.Equal(t, tc.want, string(got), "field order and omission")

			var back TelemetryEvent
			require.NoError(t, json.Unmarshal(got, &back))
			again, err := json.Marshal(back)
			require.NoError(t, err)
			assert.Equal(t, tc.want, string(again), "round trip")
		})
	}
}

func TestTelemetrySendRequestJSON(t *testing.T) {
	req := TelemetrySendRequest{
		Events:     []TelemetryEvent{{Event: TelemetrySessionStart, EventID: "e", Severity: SeverityInfo, Timestamp: telemetryTS}},
		Platform:   "Linux",
		SDKVersion: "0.1.0",
		SessionID:  "sess-1",
	}
	require.NoError(t, req.Validate())
	got, err := json.Marshal(req)
	require.NoError(t, err)
	assert.JSONEq(t, `{"events":[{"event":"SESSION_START","event_id":"e","event_session_index":0,"severity":"INFO","timestamp":"2026-11-26T12:00:01.5Z"}],"platform":"Linux","sdk_version":"0.1.0","session_id":"sess-1"}`, string(got))

	req.ProcessUUID = "p-uuid"
	got, err = json.Marshal(req)
	require.NoError(t, err)
	assert.Contains(t, string(got), `"process_uuid":"p-uuid"`)

	var resp TelemetryResponse
	require.NoError(t, json.Unmarshal([]byte(`{"status":"accepted"}`), &resp))
	assert.Equal(t, TelemetryAcceptedStatus, resp.Status)
}

func TestTelemetryValidate(t *testing.T) {
	ok := func() TelemetryEvent {
		return TelemetryEvent{Event: TelemetryGenericEvent, EventID: "e", Severity: SeverityInfo, Timestamp: telemetryTS, EventName: "n"}
	}
	tests := []struct {
		name   string
		mutate func(*TelemetryEvent)
	}{
		{"no id", func(e *TelemetryEvent) { e.EventID = "" }},
		{"negative index", func(e *TelemetryEvent) { e.EventSessionIndex = -1 }},
		{"bad severity", func(e *TelemetryEvent) { e.Severity = "LOUD" }},
		{"no timestamp", func(e *TelemetryEvent) { e.Timestamp = time.Time{} }},
		{"unknown type", func(e *TelemetryEvent) { e.Event = "OTHER" }},
		{"generic without name", func(e *TelemetryEvent) { e.EventName = "" }},
		{"end without duration", func(e *TelemetryEvent) { e.Event = TelemetrySessionEnd }},
		{"exception without type", func(e *TelemetryEvent) { e.Event = TelemetryUnhandledException }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := ok()
			require.NoError(t, e.Validate())
			tc.mutate(&e)
			err := e.Validate()
			assert.True(t, errors.Is(err, ErrValidation), "got %v", err)

			req := TelemetrySendRequest{Events: []TelemetryEvent{ok(), e}, Platform: "Linux", SDKVersion: "v", SessionID: "s"}
			err = req.Validate()
			assert.ErrorIs(t, err, ErrValidation)
			assert.Contains(t, err.Error(), "event 1")
		})
	}

	base := TelemetrySendRequest{Platform: "Linux", SDKVersion: "v", SessionID: "s"}
	require.NoError(t, base.Validate())
	for name, mutate := range map[string]func(*TelemetrySendRequest){
		"no session":  func(r *TelemetrySendRequest) { r.SessionID = "" },
		"no version":  func(r *TelemetrySendRequest) { r.SDKVersion = "" },
		"no platform": func(r *TelemetrySendRequest) { r.Platform = "" },
	} {
		r := base
		mutate(&r)
		assert.ErrorIs(t, r.Validate(), ErrValidation, name)
	}
}

func TestSeverityRank(t *testing.T) {
	order := []TelemetrySeverity{SeverityDebug, SeverityInfo, SeverityWarning, SeverityError, SeverityCritical}
	for i, s := range order {
		assert.Equal(t, i, s.Rank(), s)
	}
	assert.Equal(t, -1, TelemetrySeverity("x").Rank())
}

func TestFormatTelemetryDuration(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{0, "0:00:00"},
		{-time.Second, "0:00:00"},
		{5*time.Minute + 12*time.Second + 345678*time.Microsecond, "0:05:12.345678"},
		{3*time.Hour + 7*time.Second, "3:00:07"},
		{1500 * time.Nanosecond, "0:00:00.000001"},
		{24 * time.Hour, "1 day, 0:00:00"},
		{50*time.Hour + time.Millisecond, "2 days, 2:00:00.001000"},
	}
	for _, tc := range tests {
		assert.Equal(t, tc.want, FormatTelemetryDuration(tc.d), tc.d.String())
	}
}

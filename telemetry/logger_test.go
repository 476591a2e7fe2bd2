package telemetry

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tinkex-go/tinkex/clock"
	"github.com/tinkex-go/tinkex/types"
)

// textLogger returns a logger writing slog text lines without the time
// attribute, at DEBUG, into the returned buffer.
func textLogger(t *testing.T) (*slog.Logger, *bytes.Buffer) {
	t.Helper()
	var buf bytes.Buffer
	h := slog.NewTextHandler(&buf, &slog.HandlerOptions{
		Level: slog.LevelDebug,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	})
	return slog.New(h), &buf
}

func lines(buf *bytes.Buffer) []string {
	s := strings.TrimSpace(buf.String())
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

func TestAttachLoggerFormatsOneLinePerEvent(t *testing.T) {
	b := NewBus()
	logger, buf := textLogger(t)
	detach, err := AttachLogger(b, logger, LoggerOptions{MinLevel: slog.LevelDebug})
	require.NoError(t, err)
	defer detach()

	b.Execute(HTTPRequestStop,
		map[string]float64{MeasureDuration: 0.0125, MeasureRetryCount: 2},
		map[string]any{KeyConfig: "ab12cd34ef56", KeyMethod: "POST", KeyPath: "/api/v1/asample", KeyStatus: 200})
	b.Execute(HTTPRetry,
		map[string]float64{MeasureAttempt: 1, MeasureDelay: 0.5},
		map[string]any{KeyStatus: 503})
	b.Execute(QueueStateChange, nil, map[string]any{KeyQueueState: "paused_rate_limit", KeyRequestID: "r-1"})

	assert.Equal(t, []string{
		`level=DEBUG msg=tinkex.http.request.stop duration=12.5ms retry_count=2 config=ab12cd34ef56 method=POST path=/api/v1/asample status=200`,
		`level=WARN msg=tinkex.http.retry attempt=1 delay=500ms status=503`,
		`level=INFO msg=tinkex.queue.state_change queue_state=paused_rate_limit request_id=r-1`,
	}, lines(buf))
}

func TestAttachLoggerUsesEventTimeAndRendersSystemTime(t *testing.T) {
	fc := clock.NewFake(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	b := NewBus(WithClock(fc))
	var buf bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	_, err := AttachLogger(b, logger, LoggerOptions{MinLevel: slog.LevelDebug})
	require.NoError(t, err)

	sp := b.StartSpan(SamplingSample, nil)
	sp.Stop(nil, nil)
	out := lines(&buf)
	require.Len(t, out, 2)
	assert.Contains(t, out[0], `"time":"2026-01-02T03:04:05Z"`)
	assert.Contains(t, out[0], `"system_time":"2026-01-02T03:04:05Z"`)
	assert.Contains(t, out[1], `"duration":0`)
}

func TestAttachLoggerNeverPrintsSecrets(t *testing.T) {
	const apiKey = "tml-SuperSecretKey_0123456789abcdef"
	const jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1In0.c2lnbmF0dXJl"
	b := NewBus()
	logger, buf := textLogger(t)
	_, err := AttachLogger(b, logger, LoggerOptions{})
	require.NoError(t, err)

	b.Execute(HTTPRequestError, map[string]float64{MeasureDuration: 1}, map[string]any{
		"api_key":       apiKey,
		"X-API-Key":     apiKey,
		"Authorization": "Bearer " + jwt,
		"access_token":  "opaque-but-secret",
		"request_headers": map[string]string{
			"X-Api-Key": apiKey,
		},
		KeyError:  "upstream said: invalid key " + apiKey + " (jwt " + jwt + ")",
		"nested":  map[string]any{"token": "x", "note": "key=" + apiKey},
		"list":    []any{apiKey, 3},
		"cause":   errors.New("bad " + apiKey),
		KeyKind:   "server",
		KeyConfig: "ab12cd34ef56",
	})

	out := buf.String()
	require.NotEmpty(t, out)
	assert.NotContains(t, out, "SuperSecretKey")
	assert.NotContains(t, out, "c2lnbmF0dXJl")
	assert.NotContains(t, out, "opaque-but-secret")
	assert.NotContains(t, out, "eyJzdWIi")
	assert.Contains(t, out, "level=ERROR")
	assert.Contains(t, out, "api_key="+Redacted)
	assert.Contains(t, out, "[REDACTED:"+types.KeyFingerprint(apiKey)+"]", "fingerprint lets lines be correlated")
	assert.Contains(t, out, "config=ab12cd34ef56", "fingerprints are not scrubbed")
}

func TestAttachLoggerFiltersByPatternAndLevel(t *testing.T) {
	b := NewBus()
	logger, buf := textLogger(t)
	detach, err := AttachLogger(b, logger, LoggerOptions{Events: []string{"tinkex.http.*"}, MinLevel: slog.LevelWarn})
	require.NoError(t, err)

	b.Execute(HTTPRequestStop, nil, nil)                              // DEBUG: below MinLevel
	b.Execute(HTTPRetry, nil, nil)                                    // WARN: logged
	b.Execute(SupervisorIntensityExceeded, nil, nil)                  // not matched
	b.Execute(HTTPRequestError, nil, map[string]any{KeyKind: "user"}) // WARN
	assert.Equal(t, []string{
		"level=WARN msg=tinkex.http.retry",
		"level=WARN msg=tinkex.http.request.exception kind=user",
	}, lines(buf))

	detach()
	detach()
	b.Execute(HTTPRetry, nil, nil)
	assert.Len(t, lines(buf), 2, "nothing after detach")
	assert.Empty(t, b.Handlers())
}

func TestAttachLoggerRespectsHandlerLevelAndOverride(t *testing.T) {
	b := NewBus()
	var buf bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelError}))
	_, err := AttachLogger(b, logger, LoggerOptions{ID: "mine", Level: func(Event) slog.Level { return slog.LevelWarn }})
	require.NoError(t, err)
	b.Execute(SupervisorIntensityExceeded, nil, nil) // overridden to WARN, handler wants ERROR
	assert.Empty(t, buf.String())

	_, err = AttachLogger(b, logger, LoggerOptions{ID: "mine"})
	assert.ErrorIs(t, err, ErrDuplicateHandler)
}

func TestAttachLoggerErrors(t *testing.T) {
	logger, _ := textLogger(t)
	_, err := AttachLogger(nil, logger, LoggerOptions{})
	assert.Error(t, err)
	_, err = AttachLogger(NewBus(), nil, LoggerOptions{})
	assert.Error(t, err)
	_, err = AttachLogger(NewBus(), logger, LoggerOptions{Events: []string{""}})
	assert.Error(t, err)
}

func TestAttachLoggerDefaultIDsAreUnique(t *testing.T) {
	b := NewBus()
	logger, _ := textLogger(t)
	d1, err := AttachLogger(b, logger, LoggerOptions{})
	require.NoError(t, err)
	d2, err := AttachLogger(b, logger, LoggerOptions{})
	require.NoError(t, err)
	assert.Len(t, b.Handlers(), 2)
	d1()
	d2()
	assert.Empty(t, b.Handlers())
}

func TestEventLevel(t *testing.T) {
	tests := []struct {
		name string
		md   map[string]any
		want slog.Level
	}{
		{HandlerFailed, nil, slog.LevelError},
		{SupervisorIntensityExceeded, nil, slog.LevelError},
		{SupervisorChildRestarted, nil, slog.LevelWarn},
		{SupervisorChildStarted, nil, slog.LevelInfo},
		{SupervisorChildStopped, nil, slog.LevelDebug}, // OTP is silent on a normal stop
		{SupervisorChildTerminated, nil, slog.LevelError},
		{SupervisorStartError, nil, slog.LevelError},
		{SupervisorShutdownError, nil, slog.LevelError},
		{HTTPRetry, nil, slog.LevelWarn},
		{LimiterBackoffSet, nil, slog.LevelWarn},
		{LimiterBackoffCleared, nil, slog.LevelInfo},
		{QueueStateChange, nil, slog.LevelInfo},
		{FutureAPIError, nil, slog.LevelWarn},
		{FutureConnectionError, nil, slog.LevelWarn},
		{FutureTimeout, nil, slog.LevelWarn},
		{FutureRequestFailed, map[string]any{KeyCategory: "user"}, slog.LevelWarn},
		{FutureRequestFailed, map[string]any{KeyCategory: "server"}, slog.LevelError},
		{HTTPRequestStart, nil, slog.LevelDebug},
		{HTTPRequestStop, nil, slog.LevelDebug},
		{SamplingSample + ".stop", nil, slog.LevelDebug},
		{TrainingPrefix + "forward_backward.start", nil, slog.LevelDebug},
		{TrainingPrefix + "forward_backward.stop", nil, slog.LevelInfo},
		{HTTPRequestError, map[string]any{KeyKind: "server"}, slog.LevelError},
		{HTTPRequestError, map[string]any{KeyKind: "user"}, slog.LevelWarn},
		{TrainingPrefix + "optim_step.exception", map[string]any{KeyKind: "canceled"}, slog.LevelWarn},
		{SamplingSample + ".exception", nil, slog.LevelError},
		// Every user error by types.IsUserError's rule is WARN, as
		// ServerEvent forwards it as user_error (WARNING).
		{HTTPRequestError, map[string]any{KeyKind: "auth"}, slog.LevelWarn},
		{HTTPRequestError, map[string]any{KeyKind: "permission"}, slog.LevelWarn},
		{HTTPRequestError, map[string]any{KeyKind: "not_found"}, slog.LevelWarn},
		{HTTPRequestError, map[string]any{KeyKind: "validation"}, slog.LevelWarn},
		{HTTPRequestError, map[string]any{KeyKind: "conflict"}, slog.LevelWarn},
		{HTTPRequestError, map[string]any{KeyKind: "rate_limited"}, slog.LevelWarn},
		{SamplingSample + ".exception", map[string]any{KeyKind: "request_failed", KeyCategory: "user"}, slog.LevelWarn},
		{SamplingSample + ".exception", map[string]any{KeyKind: "request_failed", KeyCategory: "server"}, slog.LevelError},
		{SamplingSample + ".exception", map[string]any{KeyKind: "connection"}, slog.LevelError},
		{FutureRequestFailed, map[string]any{KeyCategory: "unknown"}, slog.LevelError},
		{"something.else", nil, slog.LevelInfo},
	}
	for _, tc := range tests {
		assert.Equal(t, tc.want, EventLevel(Event{Name: tc.name, Metadata: tc.md}), "%s %v", tc.name, tc.md)
	}
}

// TestEventLevelAgreesWithServerEvent: an exception is logged at WARN
// exactly when the server telemetry forwards it as a user error, or when it
// is the caller's cancellation or a rate limit; every other exception is
// ERROR. One rule (types.IsUserKind) decides both.
func TestEventLevelAgreesWithServerEvent(t *testing.T) {
	seen := 0
	for k := types.Kind(0); ; k++ {
		name := k.String()
		if _, ok := types.ParseKind(name); !ok {
			break
		}
		for _, cat := range []string{"", "user", "server", "unknown"} {
			md := map[string]any{KeyKind: name}
			if cat != "" {
				md[KeyCategory] = cat
			}
			ev := Event{Name: HTTPRequestError, Metadata: md}
			sev, forwarded := ServerEvent(ev)
			userErr := forwarded && sev.EventName == UserErrorEvent
			want := slog.LevelError
			if userErr || k == types.KindCanceled || k == types.KindRateLimited {
				want = slog.LevelWarn
			}
			assert.Equal(t, want, EventLevel(ev), "kind %s category %q", name, cat)
			assert.Equal(t, types.IsUserKind(k, types.Category(cat)), userErr, "kind %s category %q", name, cat)
			seen++
		}
	}
	assert.Equal(t, 4*int(types.KindNotFound+1), seen, "every kind checked")
}

package limiter

import (
	"fmt"
	"log/slog"
)

// String describes the limiter by its config (fingerprint and base URL) and
// current state, without reflecting over its concurrently updated fields.
func (l *Limiter) String() string {
	s := l.Stats()
	return fmt.Sprintf("limiter.Limiter{config=%s base_url=%s backoff=%s slots_in_use=%d}",
		l.id.Fingerprint, l.id.BaseURL, s.BackoffRemaining, s.SlotsInUse)
}

// GoString is String.
func (l *Limiter) GoString() string { return l.String() }

// LogValue is the limiter's identity for slog.
func (l *Limiter) LogValue() slog.Value {
	return slog.GroupValue(slog.String("config", l.id.Fingerprint), slog.String("base_url", l.id.BaseURL))
}

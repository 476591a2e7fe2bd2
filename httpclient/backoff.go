package httpclient

import (
	"math"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tinkex-go/tinkex/types"
)

// Backoff returns how long to wait before retry number retry+1, where retry
// counts the retries already taken (0 before the first retry). now is the
// current time, for HTTP-date Retry-After values.
type Backoff func(retry int, o Outcome, now time.Time) time.Duration

// MaxRetryAfter bounds Retry-After: a server hint in (0, MaxRetryAfter] is
// used exactly (types.MaxRetryAfter).
const MaxRetryAfter = types.MaxRetryAfter

// DefaultBackoff uses the server's Retry-After when it is in (0, 60] s and
// otherwise min(0.5 s·2^retry, 10 s) shortened by up to 25 % jitter.
var DefaultBackoff Backoff = RetryAfterOr(ExponentialBackoff(500*time.Millisecond, 10*time.Second, rand.Float64))

// ExponentialBackoff returns min(initial·2^retry, max)·(1 − 0.25·jitter()),
// where jitter returns a value in [0, 1). A nil jitter means no jitter.
func ExponentialBackoff(initial, max time.Duration, jitter func() float64) Backoff {
	return func(retry int, _ Outcome, _ time.Time) time.Duration {
		d := float64(initial) * math.Pow(2, float64(retry))
		if d > float64(max) || math.IsInf(d, 0) || math.IsNaN(d) {
			d = float64(max)
		}
		if jitter != nil {
			d *= 1 - 0.25*jitter()
		}
		return time.Duration(d)
	}
}

// RetryAfterOr returns a Backoff that uses the server's Retry-After hint when
// it is in (0, 60] s and fallback otherwise.
func RetryAfterOr(fallback Backoff) Backoff {
	return func(retry int, o Outcome, now time.Time) time.Duration {
		if d, ok := RetryAfter(o.Header, now); ok && d > 0 && d <= MaxRetryAfter {
			return d
		}
		return fallback(retry, o, now)
	}
}

// RetryAfter parses the server's hint: retry-after-ms (milliseconds, a
// float), then retry-after (seconds as a float, or an HTTP date relative to
// now). ok is false when neither header holds a parsable finite value. The
// value is returned as sent, not bounded; callers decide what to trust.
func RetryAfter(h http.Header, now time.Time) (d time.Duration, ok bool) {
	if h == nil {
		return 0, false
	}
	if v := strings.TrimSpace(h.Get("retry-after-ms")); v != "" {
		if ms, err := strconv.ParseFloat(v, 64); err == nil && finite(ms) {
			return clampDuration(ms * float64(time.Millisecond)), true
		}
	}
	v := strings.TrimSpace(h.Get("retry-after"))
	if v == "" {
		return 0, false
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil && finite(s) {
		return clampDuration(s * float64(time.Second)), true
	}
	if t, err := http.ParseTime(v); err == nil {
		return t.Sub(now), true
	}
	return 0, false
}

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

func clampDuration(ns float64) time.Duration {
	switch {
	case ns > math.MaxInt64:
		return time.Duration(math.MaxInt64)
	case ns < math.MinInt64:
		return time.Duration(math.MinInt64)
	}
	return time.Duration(ns)
}

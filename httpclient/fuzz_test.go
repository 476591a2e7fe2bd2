package httpclient

import (
	"net/http"
	"testing"
	"time"
)

// FuzzRetryAfter checks that parsing never panics and that the backoff built
// on it always stays within its documented bounds.
func FuzzRetryAfter(f *testing.F) {
	for _, s := range []string{"", "1", "0.5", "60", "61", "-1", "NaN", "Inf", "1e308", "soon",
		"Wed, 21 Oct 2015 07:28:00 GMT", "Thu, 01 Jan 2026 00:00:30 GMT", "  2 "} {
		f.Add(s, "")
		f.Add("", s)
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	b := RetryAfterOr(ExponentialBackoff(500*time.Millisecond, 10*time.Second, func() float64 { return 0.999 }))
	f.Fuzz(func(t *testing.T, ms, secs string) {
		h := http.Header{}
		if ms != "" {
			h.Set("retry-after-ms", ms)
		}
		if secs != "" {
			h.Set("retry-after", secs)
		}
		_, _ = RetryAfter(h, now)
		for retry := 0; retry < 40; retry += 13 {
			d := b(retry, Outcome{Header: h}, now)
			if d <= 0 || d > MaxRetryAfter {
				t.Fatalf("backoff %v outside (0, 60s] for ms=%q secs=%q", d, ms, secs)
			}
		}
	})
}

// FuzzOutcomeClassification checks the classifier on arbitrary bodies and
// headers: it never panics and agrees with the retry policy on user errors.
func FuzzOutcomeClassification(f *testing.F) {
	f.Add(500, `{"category":"user"}`, "")
	f.Add(400, `{"detail":{"x":[1,2]}}`, "true")
	f.Add(429, `not json`, "false")
	f.Add(200, `{}`, "")
	f.Fuzz(func(t *testing.T, status int, body, shouldRetry string) {
		if status < 100 || status > 999 {
			return
		}
		h := http.Header{}
		h.Set("x-should-retry", shouldRetry)
		o := Outcome{StatusCode: status, Header: h, Body: []byte(body)}
		k := o.Kind()
		_ = errorMessage(o.Body)
		if _, override := o.ShouldRetryHeader(); !override && status >= 400 && k.String() == "user" && DefaultRetryPolicy(o) {
			t.Fatalf("user error %d %q would be retried", status, body)
		}
	})
}

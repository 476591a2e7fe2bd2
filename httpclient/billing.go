package httpclient

import (
	"sync"
	"time"
)

// Billing pause defaults (reference §4.6): while an incident's window is
// open, a 402 is retried every BillingRetryInterval; the window lasts
// BillingPauseWindow from the incident's first 402; an incident ends after
// billingQuiet without a 402.
const (
	BillingRetryInterval = 5 * time.Second
	BillingPauseWindow   = time.Hour
	billingQuiet         = 5 * time.Minute
)

// billingPause tracks one config's billing incident. It is shared by all
// calls of a Client.
type billingPause struct {
	mu     sync.Mutex
	window time.Duration
	first  time.Time // zero when no incident is open
	last   time.Time
}

// pause records a 402 seen at now and reports whether the call should wait
// and retry (true) or fail (false, the window has closed).
func (b *billingPause) pause(now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.first.IsZero() || now.Sub(b.last) > billingQuiet {
		b.first = now
	}
	b.last = now
	return now.Sub(b.first) < b.window
}

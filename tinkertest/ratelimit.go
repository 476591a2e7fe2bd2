package tinkertest

import (
	"fmt"
	"math"
	"net/http"
	"sync"
	"time"
)

// RateLimit is a server-side token bucket per key: Rate requests per
// second with bursts of Burst, on Endpoint ("" = all authenticated
// endpoints, one shared bucket). A request finding the bucket empty gets
// 429 {"detail": ...} with Retry-After (whole seconds, at least 1) and
// retry-after-ms (exact) saying when a token will be available.
type RateLimit struct {
	Endpoint string
	Rate     float64
	Burst    int
}

type bucket struct {
	tokens float64
	last   time.Time
}

type rateLimits struct {
	mu      sync.Mutex
	limits  []RateLimit
	buckets map[string]*bucket
}

func (l *rateLimits) init(rls []RateLimit) {
	l.limits = rls
	l.buckets = map[string]*bucket{}
}

// SetRateLimits replaces the server-side rate limits (none: unlimited).
func (s *Server) SetRateLimits(rls ...RateLimit) {
	s.limits.mu.Lock()
	defer s.limits.mu.Unlock()
	s.limits.limits = rls
	s.limits.buckets = map[string]*bucket{}
}

func (l *rateLimits) take(owner, endpoint string, now time.Time) (reply, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i, rl := range l.limits {
		if rl.Endpoint != "" && rl.Endpoint != endpoint || rl.Rate <= 0 {
			continue
		}
		k := fmt.Sprintf("%d\x00%s", i, owner)
		b := l.buckets[k]
		if b == nil {
			b = &bucket{tokens: float64(max(rl.Burst, 1)), last: now}
			l.buckets[k] = b
		}
		b.tokens = math.Min(float64(max(rl.Burst, 1)), b.tokens+now.Sub(b.last).Seconds()*rl.Rate)
		b.last = now
		if b.tokens >= 1 {
			b.tokens--
			continue
		}
		wait := time.Duration((1 - b.tokens) / rl.Rate * float64(time.Second))
		rep := detailReply(http.StatusTooManyRequests, "rate limit exceeded for %s", endpoint)
		rep.header = http.Header{}
		rep.header.Set("Retry-After", fmt.Sprint(max(1, int(math.Ceil(wait.Seconds())))))
		rep.header.Set("retry-after-ms", fmt.Sprint(max(1, wait.Milliseconds())))
		return rep, true
	}
	return reply{}, false
}

package tinkertest

import (
	"sync"

	"github.com/tinkex-go/tinkex/types"
)

// inflight counts authenticated requests being handled, per key and
// endpoint, and the peak since the last reset: what a fleet of clients
// sharing one key puts on the server at once.
type inflight struct {
	mu   sync.Mutex
	now  map[string]int
	peak map[string]int
}

func inflightKey(keyFP, endpoint string) string { return keyFP + "\x00" + endpoint }

// enter counts one request of the key with fingerprint keyFP on endpoint
// until the returned func is called.
func (f *inflight) enter(keyFP, endpoint string) (leave func()) {
	k := inflightKey(keyFP, endpoint)
	f.mu.Lock()
	if f.now == nil {
		f.now, f.peak = map[string]int{}, map[string]int{}
	}
	f.now[k]++
	f.peak[k] = max(f.peak[k], f.now[k])
	f.mu.Unlock()
	return func() {
		f.mu.Lock()
		f.now[k]--
		f.mu.Unlock()
	}
}

// InFlight returns how many requests of key on endpoint (an Endpoint*
// name) are being handled now, including a fault's Delay, and the most at
// once since the server started or ResetPeak.
func (s *Server) InFlight(key, endpoint string) (now, peak int) {
	k := inflightKey(types.KeyFingerprint(key), endpoint)
	s.inflight.mu.Lock()
	defer s.inflight.mu.Unlock()
	return s.inflight.now[k], s.inflight.peak[k]
}

// ResetPeak starts a new peak measurement for key on endpoint at the
// current in-flight count.
func (s *Server) ResetPeak(key, endpoint string) {
	k := inflightKey(types.KeyFingerprint(key), endpoint)
	s.inflight.mu.Lock()
	defer s.inflight.mu.Unlock()
	if s.inflight.peak != nil {
		s.inflight.peak[k] = s.inflight.now[k]
	}
}

package tinkertest

import (
	"sync"

	"github.com/tinkex-go/tinkex/types"
)

// inflight counts authenticated requests being handled, per key and
// endpoint, and the peak since the last reset: what a fleet of clients
// sharing one key puts on the server at once.
// It allocates nothing per request once a key and endpoint were seen.
type inflight struct {
	mu   sync.Mutex
	now  map[inflightKey]int
	peak map[inflightKey]int
}

type inflightKey struct{ keyFP, endpoint string }

// enter counts one request of the key with fingerprint keyFP on endpoint
// until leave is called with the same arguments.
func (f *inflight) enter(keyFP, endpoint string) {
	k := inflightKey{keyFP, endpoint}
	f.mu.Lock()
	if f.now == nil {
		f.now, f.peak = map[inflightKey]int{}, map[inflightKey]int{}
	}
	f.now[k]++
	f.peak[k] = max(f.peak[k], f.now[k])
	f.mu.Unlock()
}

func (f *inflight) leave(keyFP, endpoint string) {
	f.mu.Lock()
	f.now[inflightKey{keyFP, endpoint}]--
	f.mu.Unlock()
}

// InFlight returns how many requests of key on endpoint (an Endpoint*
// name) are being handled now, including a fault's Delay, and the most at
// once since the server started or ResetPeak.
func (s *Server) InFlight(key, endpoint string) (now, peak int) {
	k := inflightKey{types.KeyFingerprint(key), endpoint}
	s.inflight.mu.Lock()
	defer s.inflight.mu.Unlock()
	return s.inflight.now[k], s.inflight.peak[k]
}

// ResetPeak starts a new peak measurement for key on endpoint at the
// current in-flight count.
func (s *Server) ResetPeak(key, endpoint string) {
	k := inflightKey{types.KeyFingerprint(key), endpoint}
	s.inflight.mu.Lock()
	defer s.inflight.mu.Unlock()
	if s.inflight.peak != nil {
		s.inflight.peak[k] = s.inflight.now[k]
	}
}

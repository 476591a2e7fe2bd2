package main

import (
	"slices"
	"sync"
	"time"

	"github.com/tinkex-go/tinkex/types"
)

// clientStats is what the workload of one client (A's training, B's
// sampling, ...) did. Workers record into it; the view and the summary read
// it. One mutex: the simplest honest choice for a handful of counters
// written a few hundred times a second.
type clientStats struct {
	name string // e.g. "A/sampling"

	mu        sync.Mutex
	issued    int
	ended     int
	ok        int
	errors    map[string]int // by types.Kind name
	latencies []time.Duration
	okAt      []time.Duration // completion times of successful requests, since the run's start
	lastOK    time.Duration   // latest successful completion; -1 before the first
	units     int             // training steps or samples completed
	peak      int             // most requests in flight at once
}

func newClientStats(name string) *clientStats {
	return &clientStats{name: name, errors: map[string]int{}, lastOK: -1}
}

// begin records a request being issued.
func (s *clientStats) begin() {
	s.mu.Lock()
	s.issued++
	s.peak = max(s.peak, s.issued-s.ended)
	s.mu.Unlock()
}

// end records the outcome of a request issued with begin; at is the
// completion time since the run's start.
func (s *clientStats) end(latency, at time.Duration, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ended++
	s.latencies = append(s.latencies, latency)
	if err != nil {
		s.errors[types.KindOf(err).String()]++
		return
	}
	s.ok++
	s.okAt = append(s.okAt, at)
	s.lastOK = max(s.lastOK, at)
}

// unit records one completed training step or sample.
func (s *clientStats) unit() {
	s.mu.Lock()
	s.units++
	s.mu.Unlock()
}

// clientSnapshot is a consistent copy of clientStats.
type clientSnapshot struct {
	Name      string
	Issued    int
	Ended     int
	OK        int
	Errors    map[string]int
	Units     int
	Peak      int
	P50, P99  time.Duration
	LastOK    time.Duration // -1 when nothing succeeded yet
	okAt      []time.Duration
	latencies int
}

func (s *clientStats) snapshot(withTimes bool) clientSnapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := clientSnapshot{Name: s.name, Issued: s.issued, Ended: s.ended, OK: s.ok, Units: s.units, Peak: s.peak,
		Errors: make(map[string]int, len(s.errors)), LastOK: s.lastOK, latencies: len(s.latencies)}
	for k, v := range s.errors {
		out.Errors[k] = v
	}
	if withTimes {
		out.okAt = slices.Clone(s.okAt)
		sorted := slices.Clone(s.latencies)
		slices.Sort(sorted)
		out.P50, out.P99 = percentile(sorted, 50), percentile(sorted, 99)
	}
	return out
}

// okAfter reports whether a request succeeded after t (since the start).
func (s *clientStats) okAfter(t time.Duration) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastOK > t
}

// okBetween counts the successes completed in [from, to].
func (s clientSnapshot) okBetween(from, to time.Duration) int {
	n := 0
	for _, t := range s.okAt {
		if t >= from && t <= to {
			n++
		}
	}
	return n
}

// percentile is the nearest-rank percentile of sorted; 0 for none.
func percentile(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := (p*len(sorted) + 99) / 100 // ceil(p/100 * n)
	return sorted[max(rank, 1)-1]
}

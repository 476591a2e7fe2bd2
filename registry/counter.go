package registry

import (
	"strings"
	"sync/atomic"
)

// Counter is a durable sequence that outlives the actor using it: a
// TrainingClient that crashes and restarts gets the same Counter back from
// the registry and continues its seq_ids where it stopped. Safe for
// concurrent use.
type Counter struct {
	next atomic.Int64
}

// Next returns the next value and advances the counter.
func (c *Counter) Next() int64 { return c.next.Add(1) - 1 }

// Peek returns the value Next would return, without advancing.
func (c *Counter) Peek() int64 { return c.next.Load() }

// Counter returns the counter called name, creating it at first if it does
// not exist yet; first is ignored for an existing counter. Names are chosen
// by the owner, e.g. "service:<name>/training:<model_id>/seq_id". Counters are
// not on the hot path: callers keep the *Counter.
func (r *Registry) Counter(name string, first int64) *Counter {
	r.countersMu.Lock()
	defer r.countersMu.Unlock()
	if c, ok := r.counters[name]; ok {
		return c
	}
	c := &Counter{}
	c.next.Store(first)
	r.counters[name] = c
	return c
}

// DropCounter forgets the counter called name, for a client stopped for
// good, and reports whether it existed. A holder of the old *Counter can
// still use it; the next Counter call starts afresh.
func (r *Registry) DropCounter(name string) bool {
	r.countersMu.Lock()
	defer r.countersMu.Unlock()
	_, ok := r.counters[name]
	delete(r.counters, name)
	return ok
}

// DropCounters forgets every counter whose name starts with prefix (all the
// state of one client, say) and returns how many it dropped.
func (r *Registry) DropCounters(prefix string) int {
	r.countersMu.Lock()
	defer r.countersMu.Unlock()
	n := 0
	for name := range r.counters {
		if strings.HasPrefix(name, prefix) {
			delete(r.counters, name)
			n++
		}
	}
	return n
}

// Counters returns each counter's name and next value, for tests and the
// demo.
func (r *Registry) Counters() map[string]int64 {
	r.countersMu.Lock()
	defer r.countersMu.Unlock()
	out := make(map[string]int64, len(r.counters))
	for name, c := range r.counters {
		out[name] = c.Peek()
	}
	return out
}

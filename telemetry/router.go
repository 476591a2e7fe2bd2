package telemetry

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
)

// Router forwards a bus's events to the server-side batchers of many
// sessions through one bus handler, through ServerEvent: an event that
// names a session (metadata KeySessionID) goes to the batcher added under
// that session alone, or nowhere if it has none (a session's events are
// never another session's, as the SDK's one Telemetry per session holder);
// an event that names only a config (KeyConfig: a limiter's backoff, shared
// by the config's sessions) goes to every batcher added under that config.
// Events about the telemetry pool itself (pool "telemetry") are never
// forwarded, as with Bridge. An event costs a map lookup or two however
// many sessions the Router serves, and a session costs a map entry or two
// rather than a bus handler of its own. The Router is attached to the bus
// while it has batchers and detached after the last is removed. It is safe
// for concurrent use.
type Router struct {
	bus *Bus
	id  string

	mu     sync.Mutex             // guards writes of routes, and detach
	routes atomic.Pointer[routes] // read by every event without a lock
	detach func()                 // non-nil while attached
}

// routes is one immutable snapshot of a Router's batchers.
type routes struct {
	byConfig  map[string][]*Batcher
	bySession map[string]*Batcher
}

var routerSeq atomic.Int64

// NewRouter returns a Router for bus (attached on its first Add).
func NewRouter(bus *Bus) *Router {
	r := &Router{bus: bus, id: fmt.Sprintf("tinkex.server-telemetry/router-%d", routerSeq.Add(1))}
	r.routes.Store(&routes{})
	return r
}

// Add forwards the events of config and of session (either may be empty:
// no route by it) to b until remove is called; remove is idempotent. It
// fails on a nil Router, bus or batcher, or when the Router's handler cannot
// be attached.
func (r *Router) Add(config, session string, b *Batcher) (remove func(), err error) {
	if r == nil || r.bus == nil || b == nil {
		return nil, errors.New("telemetry: Router.Add needs a router with a bus and a batcher")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.detach == nil {
		detach, err := r.bus.attachOnce(r.id, "", bridgeEvents, r.forward)
		if err != nil {
			return nil, fmt.Errorf("telemetry: router: %w", err)
		}
		r.detach = detach
	}
	cur := r.routes.Load()
	next := &routes{byConfig: cloneMap(cur.byConfig, 1), bySession: cloneMap(cur.bySession, 1)}
	if config != "" {
		next.byConfig[config] = append(slices.Clip(next.byConfig[config]), b)
	}
	if session != "" {
		next.bySession[session] = b
	}
	r.routes.Store(next)
	var once sync.Once
	return func() { once.Do(func() { r.remove(config, session, b) }) }, nil
}

func (r *Router) remove(config, session string, b *Batcher) {
	r.mu.Lock()
	defer r.mu.Unlock()
	cur := r.routes.Load()
	next := &routes{byConfig: cloneMap(cur.byConfig, 0), bySession: cloneMap(cur.bySession, 0)}
	if config != "" {
		kept := slices.DeleteFunc(slices.Clone(next.byConfig[config]), func(o *Batcher) bool { return o == b })
		if len(kept) == 0 {
			delete(next.byConfig, config)
		} else {
			next.byConfig[config] = kept
		}
	}
	if session != "" && next.bySession[session] == b {
		delete(next.bySession, session)
	}
	r.routes.Store(next)
	if len(next.byConfig) == 0 && len(next.bySession) == 0 && r.detach != nil {
		r.detach()
		r.detach = nil
	}
}

// forward is the Router's bus handler.
func (r *Router) forward(ev Event) {
	if ev.Metadata[KeyPool] == "telemetry" {
		return
	}
	cur := r.routes.Load()
	if session, _ := ev.Metadata[KeySessionID].(string); session != "" {
		if b := cur.bySession[session]; b != nil {
			if sev, ok := ServerEvent(ev); ok {
				b.Enqueue(sev)
			}
		}
		return
	}
	config, _ := ev.Metadata[KeyConfig].(string)
	// Each batcher gets an event of its own: Enqueue stamps and scrubs it.
	for _, b := range cur.byConfig[config] {
		if sev, ok := ServerEvent(ev); ok {
			b.Enqueue(sev)
		}
	}
}

// cloneMap copies m with room for extra more entries.
func cloneMap[V any](m map[string]V, extra int) map[string]V {
	c := make(map[string]V, len(m)+extra)
	maps.Copy(c, m)
	return c
}

// Package telemetry is tinkex's event bus, in the spirit of Erlang's
// :telemetry: code emits named events with measurements and metadata, and
// handlers attached by name (exact, or by prefix) observe them.
//
// Handlers run synchronously on the emitting goroutine, often on a request's
// hot path or inside an actor's Receive, so they must be cheap and must not
// block: count, format a line, or hand the event to a channel. A handler that
// panics is detached, and the bus emits HandlerFailed about it; the emitter
// never sees the panic.
//
// Event names are part of tinkex's public API; they are listed as constants
// in names.go and documented in docs/telemetry.md. Metadata never carries an
// API key: configs are identified by a fingerprint.
//
// Three consumers ship with the bus: AttachLogger writes events through
// log/slog with secrets scrubbed; NewPrometheusCollector turns them into
// metrics on a prometheus.Registerer the caller owns; and Batcher sends
// server-side telemetry (POST /api/v1/telemetry) in bounded batches, fed by
// its Bridge from the bus.
package telemetry

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tinkex-go/tinkex/clock"
)

// Event is one emitted event. Handlers must not modify or retain the maps.
type Event struct {
	// Name is the dotted event name, e.g. "tinkex.http.request.stop".
	Name string
	// Time is when the event was emitted.
	Time time.Time
	// Measurements are numbers in base units (seconds, bytes, counts).
	Measurements map[string]float64
	// Metadata describes the context: config fingerprint, ids, status...
	Metadata map[string]any
}

// String renders the event as one line: name, measurements and metadata with
// keys in sorted order.
func (e Event) String() string { return formatEvent(e) }

// Handler observes events. It runs synchronously on the emitter's goroutine.
type Handler func(Event)

// ErrDuplicateHandler is returned by Attach when the id is already attached.
var ErrDuplicateHandler = errors.New("telemetry: handler id already attached")

// Bus dispatches events to attached handlers. A nil *Bus is valid and
// discards everything, so components can be built without telemetry.
// All methods are safe for concurrent use; Execute takes no lock.
type Bus struct {
	clock clock.Clock
	mu    sync.Mutex // serialises Attach/Detach
	set   atomic.Pointer[handlerSet]
}

type attached struct {
	id      string
	exact   map[string]struct{}
	prefix  []string
	all     bool
	handler Handler
}

func (a *attached) matches(name string) bool {
	if a.all {
		return true
	}
	if _, ok := a.exact[name]; ok {
		return true
	}
	for _, p := range a.prefix {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

type handlerSet struct{ list []*attached }

// Option configures a Bus.
type Option func(*Bus)

// WithClock sets the clock used for event times and span durations.
func WithClock(c clock.Clock) Option { return func(b *Bus) { b.clock = c } }

// NewBus returns an empty bus.
func NewBus(opts ...Option) *Bus {
	b := &Bus{clock: clock.Real}
	for _, o := range opts {
		o(b)
	}
	b.clock = clock.Or(b.clock)
	b.set.Store(&handlerSet{})
	return b
}

// Attach registers h under id for the given event patterns. A pattern is an
// exact event name, a prefix ending in ".*" ("tinkex.http.*" matches every
// event under tinkex.http.), or "*" for every event. It returns
// ErrDuplicateHandler if id is taken, and an error for an empty pattern list.
func (b *Bus) Attach(id string, patterns []string, h Handler) error {
	if b == nil {
		return errors.New("telemetry: Attach on a nil Bus")
	}
	if h == nil {
		return errors.New("telemetry: nil handler")
	}
	if len(patterns) == 0 {
		return errors.New("telemetry: Attach needs at least one event pattern")
	}
	a := &attached{id: id, exact: map[string]struct{}{}, handler: h}
	for _, p := range patterns {
		switch {
		case p == "*":
			a.all = true
		case strings.HasSuffix(p, ".*"):
			a.prefix = append(a.prefix, strings.TrimSuffix(p, "*"))
		case p == "":
			return errors.New("telemetry: empty event pattern")
		default:
			a.exact[p] = struct{}{}
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	cur := b.set.Load()
	for _, o := range cur.list {
		if o.id == id {
			return fmt.Errorf("%w: %q", ErrDuplicateHandler, id)
		}
	}
	next := &handlerSet{list: append(append([]*attached(nil), cur.list...), a)}
	b.set.Store(next)
	return nil
}

var handlerSeq atomic.Uint64

// attachOnce attaches h under id, or under prefix+"/N" with a fresh N when
// id is empty, and returns a detach that is safe to call more than once.
func (b *Bus) attachOnce(id, prefix string, patterns []string, h Handler) (detach func(), err error) {
	if id == "" {
		id = fmt.Sprintf("%s/%d", prefix, handlerSeq.Add(1))
	}
	if err := b.Attach(id, patterns, h); err != nil {
		return nil, err
	}
	var once sync.Once
	return func() { once.Do(func() { b.Detach(id) }) }, nil
}

// Detach removes the handler attached under id and reports whether it was
// attached.
func (b *Bus) Detach(id string) bool {
	if b == nil {
		return false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	cur := b.set.Load()
	for i, o := range cur.list {
		if o.id == id {
			list := append(append([]*attached(nil), cur.list[:i]...), cur.list[i+1:]...)
			b.set.Store(&handlerSet{list: list})
			return true
		}
	}
	return false
}

// Handlers returns the ids of the attached handlers, in attach order.
func (b *Bus) Handlers() []string {
	if b == nil {
		return nil
	}
	cur := b.set.Load()
	ids := make([]string, len(cur.list))
	for i, a := range cur.list {
		ids[i] = a.id
	}
	return ids
}

// Enabled reports whether any handler would receive an event with this name.
// Hot paths use it to skip building measurement and metadata maps.
func (b *Bus) Enabled(name string) bool {
	if b == nil {
		return false
	}
	for _, a := range b.set.Load().list {
		if a.matches(name) {
			return true
		}
	}
	return false
}

// Now returns the bus clock's time (the real time for a nil bus).
func (b *Bus) Now() time.Time {
	if b == nil {
		return time.Now()
	}
	return b.clock.Now()
}

// Execute emits an event to every matching handler, in attach order.
func (b *Bus) Execute(name string, measurements map[string]float64, metadata map[string]any) {
	if b == nil {
		return
	}
	list := b.set.Load().list
	if len(list) == 0 {
		return
	}
	var ev Event
	built := false
	for _, a := range list {
		if !a.matches(name) {
			continue
		}
		if !built {
			ev = Event{Name: name, Time: b.clock.Now(), Measurements: measurements, Metadata: metadata}
			built = true
		}
		b.call(a, ev)
	}
}

func (b *Bus) call(a *attached, ev Event) {
	defer func() {
		if r := recover(); r != nil {
			b.Detach(a.id)
			if ev.Name == HandlerFailed {
				return // never loop on failures of failure handlers
			}
			b.Execute(HandlerFailed, nil, map[string]any{
				"handler_id": a.id,
				"event":      ev.Name,
				"reason":     fmt.Sprint(r),
			})
		}
	}()
	a.handler(ev)
}

// Span measures one operation. Start it with StartSpan and end it exactly
// once with Stop or Exception; later calls are ignored.
type Span struct {
	bus    *Bus
	prefix string
	start  time.Time
	meta   map[string]any
	metaFn func() map[string]any // builds meta on first use (StartSpanLazy)
	ended  atomic.Bool
}

// StartSpan emits prefix+".start" (measurement "system_time", Unix seconds)
// and returns a span whose Stop or Exception emits prefix+".stop" or
// prefix+".exception" with measurement "duration" in seconds. The metadata
// given here is merged under the metadata given at the end. It works on a nil
// bus (emitting nothing).
func (b *Bus) StartSpan(prefix string, metadata map[string]any) *Span {
	s := &Span{bus: b, prefix: prefix, meta: metadata, start: b.Now()}
	if b.Enabled(prefix + ".start") {
		b.Execute(prefix+".start", map[string]float64{"system_time": float64(s.start.UnixNano()) / 1e9}, metadata)
	}
	return s
}

// StartSpanLazy is StartSpan for hot paths: it returns nil (a no-op span)
// when no handler listens to any of the span's three events, and otherwise
// builds the metadata with meta only when an event is actually emitted (so
// a span whose only listener wants exceptions costs no map on success).
func (b *Bus) StartSpanLazy(prefix string, meta func() map[string]any) *Span {
	startOn := b.Enabled(prefix + ".start")
	if !startOn && !b.Enabled(prefix+".stop") && !b.Enabled(prefix+".exception") {
		return nil
	}
	s := &Span{bus: b, prefix: prefix, metaFn: meta, start: b.Now()}
	if startOn {
		s.meta, s.metaFn = meta(), nil
		b.Execute(prefix+".start", map[string]float64{"system_time": float64(s.start.UnixNano()) / 1e9}, s.meta)
	}
	return s
}

// Elapsed returns the time since the span started.
func (s *Span) Elapsed() time.Duration { return s.bus.Now().Sub(s.start) }

// Emits reports whether ending the span would emit an event: Stop when
// failed is false, Exception when it is true. A caller can skip building
// the end's metadata when it would not. False for a nil span.
func (s *Span) Emits(failed bool) bool {
	if s == nil || s.ended.Load() {
		return false
	}
	if failed {
		return s.bus.Enabled(s.prefix + ".exception")
	}
	return s.bus.Enabled(s.prefix + ".stop")
}

// Stop ends the span successfully.
func (s *Span) Stop(measurements map[string]float64, metadata map[string]any) {
	s.end(".stop", measurements, metadata)
}

// Exception ends the span with err; metadata gains "error" (err.Error()) and
// "kind" unless the caller set them.
func (s *Span) Exception(err error, measurements map[string]float64, metadata map[string]any) {
	if s == nil || !s.bus.Enabled(s.prefix+".exception") {
		s.end(".exception", nil, nil) // marks the span ended
		return
	}
	extra := map[string]any{}
	for k, v := range metadata {
		extra[k] = v
	}
	if _, ok := extra["error"]; !ok && err != nil {
		extra["error"] = err.Error()
	}
	if _, ok := extra["kind"]; !ok {
		extra["kind"] = "error"
	}
	s.end(".exception", measurements, extra)
}

func (s *Span) end(suffix string, measurements map[string]float64, metadata map[string]any) {
	if s == nil || !s.ended.CompareAndSwap(false, true) {
		return
	}
	name := s.prefix + suffix
	if !s.bus.Enabled(name) {
		return
	}
	if s.metaFn != nil {
		s.meta, s.metaFn = s.metaFn(), nil
	}
	m := make(map[string]float64, len(measurements)+1)
	for k, v := range measurements {
		m[k] = v
	}
	m["duration"] = s.Elapsed().Seconds()
	md := make(map[string]any, len(s.meta)+len(metadata))
	for k, v := range s.meta {
		md[k] = v
	}
	for k, v := range metadata {
		md[k] = v
	}
	s.bus.Execute(name, m, md)
}

package main

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tinkex-go/tinkex/telemetry"
)

// note is one notable event, from the runtime's telemetry or from the demo
// itself (a fault injected, observed, recovered).
type note struct {
	At         time.Duration // since the run's start
	Name       string        // telemetry event name, or "demo.<what>"
	Config     string        // "A", "B" or "" when not about one config
	Client     string        // summary row, e.g. "A/sampling"; "" when none
	Supervisor string
	Child      string
	Path       string
	Op         string
	Status     int
	Kind       string
	Restarts   int    // supervisor events: restarts within the supervisor's intensity window
	Text       string // one line for people
}

// window is a backoff of one config, from backoff.set to backoff.cleared
// (To is -1 while it lasts).
type window struct{ From, To time.Duration }

// observer turns the runtime's telemetry into what the demo shows and
// checks: retries, 429s and restarts per client, backoff windows per
// config, and the recent notable events. Its handler runs on emitting
// goroutines, so it only counts and appends under a mutex.
type observer struct {
	start  time.Time
	labels map[string]string // config fingerprint -> "A" / "B"; fixed before the runtime starts

	mu          sync.Mutex
	notes       []note
	retries     map[string]int
	rateLimited map[string]int
	restarts    map[string]int // by client row, counting restarts through a subtree restart too
	started     map[string]int // child_started per supervisor/child
	svcRestarts map[string]int // service subtree restarts by config label
	backoffs    map[string][]window
	changed     chan struct{} // closed and replaced on every note
}

func newObserver(start time.Time, labels map[string]string) *observer {
	return &observer{start: start, labels: labels,
		retries: map[string]int{}, rateLimited: map[string]int{}, restarts: map[string]int{},
		started: map[string]int{}, svcRestarts: map[string]int{}, backoffs: map[string][]window{},
		changed: make(chan struct{})}
}

// patterns are the events the observer needs: no per-request successes.
var observedEvents = []string{
	telemetry.HTTPRetry, telemetry.HTTPRequestError,
	"tinkex.limiter.*", "tinkex.supervisor.*", "tinkex.future.*", telemetry.QueueStateChange,
	telemetry.SamplingSample + ".exception", "tinkex.training.*",
}

// isTrainingException matches tinkex.training.<op>.exception, which the
// observer gets through the "tinkex.training.*" pattern.
func isTrainingException(name string) bool {
	return strings.HasPrefix(name, telemetry.TrainingPrefix) && strings.HasSuffix(name, ".exception")
}

func (o *observer) since(t time.Time) time.Duration { return t.Sub(o.start) }

// handle is the bus handler.
func (o *observer) handle(ev telemetry.Event) {
	if strings.HasPrefix(ev.Name, telemetry.TrainingPrefix) && !isTrainingException(ev.Name) {
		return
	}
	n := note{At: o.since(ev.Time), Name: ev.Name,
		Config:     o.labels[metaString(ev.Metadata, telemetry.KeyConfig)],
		Supervisor: metaString(ev.Metadata, telemetry.KeySupervisor),
		Child:      metaString(ev.Metadata, telemetry.KeyChild),
		Path:       metaString(ev.Metadata, telemetry.KeyPath),
		Op:         metaString(ev.Metadata, telemetry.KeyOp),
		Status:     metaInt(ev.Metadata, telemetry.KeyStatus),
		Kind:       metaString(ev.Metadata, telemetry.KeyKind),
		Restarts:   int(ev.Measurements[telemetry.MeasureRestarts]),
	}
	n.Client = o.clientOf(n, ev)
	n.Text = describe(n, ev)
	if isTrainingException(ev.Name) || ev.Name == telemetry.SamplingSample+".exception" {
		// The caller's error is shown once, by the workload (demo.error),
		// next to the HTTP or poll event that caused it.
		return
	}

	o.mu.Lock()
	defer o.mu.Unlock()
	switch {
	case ev.Name == telemetry.HTTPRetry:
		o.retries[n.Client]++
		if n.Status == 429 {
			o.rateLimited[n.Client]++
		}
	case ev.Name == telemetry.HTTPRequestError && n.Status == 429:
		o.rateLimited[n.Client]++
		if n.Path == "/api/v1/asample" {
			o.retries[n.Client]++ // sampling resubmits after every 429
		}
	case ev.Name == telemetry.FutureAPIError || ev.Name == telemetry.FutureConnectionError:
		o.retries[n.Client]++ // the poll is sent again
		if n.Status == 429 {
			o.rateLimited[n.Client]++
		}
	case ev.Name == telemetry.LimiterBackoffSet:
		o.backoffs[n.Config] = append(o.backoffs[n.Config], window{From: n.At, To: -1})
	case ev.Name == telemetry.LimiterBackoffCleared:
		if ws := o.backoffs[n.Config]; len(ws) > 0 && ws[len(ws)-1].To < 0 {
			ws[len(ws)-1].To = n.At
		}
	case ev.Name == telemetry.SupervisorChildRestarted:
		o.countRestart(n)
	case ev.Name == telemetry.SupervisorChildStarted:
		id := n.Supervisor + "/" + n.Child
		o.started[id]++
		if o.started[id] > 1 {
			o.countRestart(n) // started again by a restart of its supervisor
		}
	}
	o.addLocked(n)
}

// countRestart attributes a restart to a client row or a service subtree.
func (o *observer) countRestart(n note) {
	if label, ok := strings.CutPrefix(n.Child, "service:"); ok && n.Supervisor == "clients" {
		o.svcRestarts[label]++
		return
	}
	if n.Client != "" {
		o.restarts[n.Client]++
	}
}

// say records a note from the demo itself.
func (o *observer) say(n note) {
	n.At = o.since(time.Now())
	o.mu.Lock()
	defer o.mu.Unlock()
	o.addLocked(n)
}

func (o *observer) addLocked(n note) {
	o.notes = append(o.notes, n)
	close(o.changed)
	o.changed = make(chan struct{})
}

// wait returns a channel closed at the next note.
func (o *observer) wait() <-chan struct{} {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.changed
}

// find returns the first note after from that satisfies match.
func (o *observer) find(from time.Duration, match func(note) bool) (note, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, n := range o.notes {
		if n.At >= from && match(n) {
			return n, true
		}
	}
	return note{}, false
}

// recent returns the last k notes, runs of the same text collapsed into
// one ending in "(×n)".
func (o *observer) recent(k int) []note {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []note
	run := 0
	for i := len(o.notes) - 1; i >= 0 && len(out) <= k; i-- {
		n := o.notes[i]
		if len(out) > 0 && out[len(out)-1].Text == n.Text {
			run++
			continue
		}
		if run > 0 {
			out[len(out)-1].Text += fmt.Sprintf(" (×%d)", run+1)
		}
		run = 0
		out = append(out, n)
	}
	if run > 0 && len(out) > 0 {
		out[len(out)-1].Text += fmt.Sprintf(" (×%d)", run+1)
	}
	out = out[:min(len(out), k)]
	slices.Reverse(out)
	return out
}

// counts is a copy of the observer's counters.
type counts struct {
	Retries, RateLimited, Restarts map[string]int
	ServiceRestarts                map[string]int
	Backoffs                       map[string][]window
}

func (o *observer) counts() counts {
	o.mu.Lock()
	defer o.mu.Unlock()
	c := counts{Retries: clone(o.retries), RateLimited: clone(o.rateLimited), Restarts: clone(o.restarts),
		ServiceRestarts: clone(o.svcRestarts), Backoffs: map[string][]window{}}
	for k, v := range o.backoffs {
		c.Backoffs[k] = append([]window(nil), v...)
	}
	return c
}

func clone(m map[string]int) map[string]int {
	out := make(map[string]int, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// clientOf maps an event to a summary row: "<config>/training" or
// "<config>/sampling" for client work, "<config>/session" for the session.
func (o *observer) clientOf(n note, ev telemetry.Event) string {
	if label, ok := strings.CutPrefix(n.Supervisor, "service:"); ok {
		switch {
		case strings.HasPrefix(n.Child, "training:"):
			return label + "/training"
		case strings.HasPrefix(n.Child, "sampling:"):
			return label + "/sampling"
		}
		return ""
	}
	if n.Config == "" {
		return ""
	}
	switch {
	case strings.HasPrefix(ev.Name, telemetry.SamplingSample), metaString(ev.Metadata, telemetry.KeySamplerID) != "",
		n.Op == "sample", n.Op == "create_sampling_session", n.Path == "/api/v1/asample":
		return n.Config + "/sampling"
	case strings.HasPrefix(ev.Name, telemetry.TrainingPrefix), metaString(ev.Metadata, telemetry.KeyModelID) != "",
		n.Op == "create_model", n.Op == "forward_backward", n.Op == "forward", n.Op == "optim_step":
		return n.Config + "/training"
	case strings.HasPrefix(ev.Name, "tinkex.limiter."):
		return ""
	}
	return n.Config + "/session"
}

// describe renders a telemetry event as one short line.
func describe(n note, ev telemetry.Event) string {
	who := n.Client
	if who == "" {
		who = n.Config
	}
	reason := metaString(ev.Metadata, telemetry.KeyReason)
	m := ev.Measurements
	switch {
	case ev.Name == telemetry.HTTPRetry:
		return fmt.Sprintf("%s: %s got %s, retrying in %s (attempt %g)", who, n.Op, statusText(n), seconds(m[telemetry.MeasureDelay]), m[telemetry.MeasureAttempt])
	case ev.Name == telemetry.HTTPRequestError:
		return fmt.Sprintf("%s: %s failed: %s", who, n.Op, statusText(n))
	case ev.Name == telemetry.LimiterBackoffSet:
		return fmt.Sprintf("config %s: 429 backoff set, %s left", n.Config, seconds(m[telemetry.MeasureBackoffLeft]))
	case ev.Name == telemetry.LimiterBackoffCleared:
		return fmt.Sprintf("config %s: backoff cleared after %s", n.Config, seconds(m[telemetry.MeasureDelay]))
	case ev.Name == telemetry.SupervisorChildRestarted:
		return fmt.Sprintf("%s restarted %s (%s)", n.Supervisor, n.Child, shorten(reason))
	case ev.Name == telemetry.SupervisorIntensityExceeded:
		return fmt.Sprintf("%s gave up: %g restarts exceed its intensity (%s)", n.Supervisor, m[telemetry.MeasureRestarts], shorten(reason))
	case ev.Name == telemetry.SupervisorChildStarted:
		return fmt.Sprintf("%s started %s", n.Supervisor, n.Child)
	case ev.Name == telemetry.SupervisorChildStopped:
		return fmt.Sprintf("%s: %s stopped (%s)", n.Supervisor, n.Child, shorten(reason))
	case ev.Name == telemetry.QueueStateChange:
		return fmt.Sprintf("%s: queue %s (%s)", who, metaString(ev.Metadata, telemetry.KeyQueueState), shorten(reason))
	case strings.HasPrefix(ev.Name, "tinkex.future."):
		return fmt.Sprintf("%s: poll of %s: %s", who, n.Op, strings.TrimPrefix(ev.Name, "tinkex.future."))
	case strings.HasSuffix(ev.Name, ".exception"):
		op := n.Op
		if op == "" {
			op = "sample"
		}
		return fmt.Sprintf("%s: %s failed: %s", who, op, n.Kind)
	}
	return fmt.Sprintf("%s %s", ev.Name, who)
}

func statusText(n note) string {
	if n.Status == 0 {
		return n.Kind + " (no response)"
	}
	return fmt.Sprintf("%d %s", n.Status, n.Kind)
}

func seconds(s float64) string {
	return time.Duration(s * float64(time.Second)).Round(time.Millisecond).String()
}

func shorten(s string) string {
	const limit = 60
	if len(s) > limit {
		return s[:limit] + "…"
	}
	return s
}

func metaString(m map[string]any, k string) string {
	switch v := m[k].(type) {
	case string:
		return v
	case nil:
		return ""
	case fmt.Stringer:
		return v.String()
	default:
		return fmt.Sprint(v)
	}
}

func metaInt(m map[string]any, k string) int {
	switch v := m[k].(type) {
	case int:
		return v
	case int64:
		return int(v)
	case float64:
		return int(v)
	}
	return 0
}

package telemetry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tinkex-go/tinkex/clock"
	"github.com/tinkex-go/tinkex/internal/uuid"
	"github.com/tinkex-go/tinkex/types"
)

// Sender delivers one batch to the server (POST /api/v1/telemetry, on the
// telemetry pool). It must honour ctx. An error that types.IsUserError
// accepts (a 4xx: the batch itself is wrong) is not retried; any other error
// is, within the Batcher's bound.
type Sender func(ctx context.Context, req *types.TelemetrySendRequest) error

// Defaults of the server-side batcher, from the Python SDK (reference §5).
const (
	DefaultFlushInterval    = 10 * time.Second
	DefaultMaxBatch         = 100
	DefaultMaxQueue         = 10_000
	DefaultSendTimeout      = 5 * time.Second
	DefaultMaxSendAttempts  = 4 // one send and three retries
	DefaultSendRetryBackoff = time.Second
)

// processUUID is shared by every Batcher of the process, like the Python
// SDK's process_uuid.
var processUUID = uuid.New()

// Batcher queues server-side telemetry events of one session and sends them
// in batches to the server.
//
// Emitting never blocks: events go into a queue of at most MaxQueue events
// and events beyond it are dropped and counted (Stats().Dropped). Queued
// events are sent, up to MaxBatch per request, one flush interval after the
// first of them was queued, and at once when an urgent event is queued
// (UNHANDLED_EXCEPTION, SESSION_END or a user_error). The batcher sends from
// a goroutine of its own that runs only while there is something to send;
// while events wait a clock timer is armed (clock.AfterFunc), and an idle
// batcher holds neither. Each event's strings and data are scrubbed
// (ScrubString, ScrubMetadata) before they are queued, so no key and no
// request header leaves the process.
//
// A failed send is retried with backoff 1 s, 2 s, 4 s (by default: at most
// DefaultMaxSendAttempts attempts in all; each attempt has a 5 s timeout);
// a 4xx is not retried. After the last attempt the batch is dropped and
// counted in Stats().FailedBatches. Unlike the Python SDK, which retries an
// API error forever, a Batcher never stalls behind a server that refuses its
// telemetry.
//
// A nil *Batcher, and one built with WithEnabled(false), accept every call
// and do nothing (no goroutine is started).
type Batcher struct {
	send        Sender
	clock       clock.Clock
	logger      *slog.Logger
	sessionID   string
	names       *batchNames // shared by every batcher with the default ones
	interval    time.Duration
	maxBatch    int
	maxQueue    int
	sendTimeout time.Duration
	maxAttempts int
	retryDelay  time.Duration
	enabled     bool

	started time.Time

	// qmu guards the queue and the flush state below. The queue holds the
	// events waiting for the next flush, at most maxQueue; it grows with the
	// events actually queued (an idle session holds nothing), and the
	// flusher swaps it out.
	qmu      sync.Mutex
	queue    []types.TelemetryEvent
	timer    clock.Timer     // armed while events wait and no flusher runs
	timerGen int             // tells a fired timer from the armed one
	flushing bool            // a flusher goroutine runs
	urgent   bool            // an urgent event was queued while it ran: it goes on at once
	waiters  []chan struct{} // Flush calls, answered after the next drain
	ending   bool            // Close was called
	ended    bool            // the last flusher has exited after Close
	sends    *sendState      // made with the first flusher (or by Close)
	done     chan struct{}   // made by Close, closed once ended

	closed    atomic.Bool // Close was called; read without qmu by Enqueue
	index     atomic.Int64
	queued    atomic.Int64
	dropped   atomic.Int64
	sent      atomic.Int64
	failed    atomic.Int64
	dropNoted atomic.Bool
}

// BatcherOption configures a Batcher.
type BatcherOption func(*Batcher)

// WithEnabled turns the batcher on or off. The caller reads TINKER_TELEMETRY
// (on when unset or "1", "true", "yes" or "on" in any case; set to anything
// else, the empty string included, off) and passes the result.
func WithEnabled(on bool) BatcherOption { return func(b *Batcher) { b.enabled = on } }

// WithBatcherClock sets the clock for timestamps, the flush interval and
// retry backoff.
func WithBatcherClock(c clock.Clock) BatcherOption { return func(b *Batcher) { b.clock = c } }

// WithBatcherLogger sets where the batcher reports dropped events and failed
// batches (at WARN); the default discards.
func WithBatcherLogger(l *slog.Logger) BatcherOption { return func(b *Batcher) { b.logger = l } }

// WithFlushInterval sets how often queued events are sent (default 10 s).
func WithFlushInterval(d time.Duration) BatcherOption { return func(b *Batcher) { b.interval = d } }

// WithMaxBatch sets the most events sent in one request (default 100).
func WithMaxBatch(n int) BatcherOption { return func(b *Batcher) { b.maxBatch = n } }

// WithMaxQueue sets the most events waiting to be sent (default 10,000).
func WithMaxQueue(n int) BatcherOption { return func(b *Batcher) { b.maxQueue = n } }

// WithSendTimeout sets the timeout of one send attempt (default 5 s).
func WithSendTimeout(d time.Duration) BatcherOption { return func(b *Batcher) { b.sendTimeout = d } }

// WithSendRetry sets the attempts per batch (at least 1; default 4) and the
// first retry delay, doubled after each retry (default 1 s).
func WithSendRetry(attempts int, firstDelay time.Duration) BatcherOption {
	return func(b *Batcher) { b.maxAttempts, b.retryDelay = attempts, firstDelay }
}

// WithSDKVersion sets the sdk_version sent with each batch (default
// types.ProtocolVersion, the protocol version the server keys features on).
func WithSDKVersion(v string) BatcherOption {
	return func(b *Batcher) { b.names = b.names.with(func(n *batchNames) { n.sdkVersion = v }) }
}

// WithPlatform sets the platform sent with each batch (default the OS name
// as Python's platform.system() spells it: "Linux", "Darwin", "Windows").
func WithPlatform(p string) BatcherOption {
	return func(b *Batcher) { b.names = b.names.with(func(n *batchNames) { n.platform = p }) }
}

// WithProcessUUID sets the process_uuid sent with each batch (default one
// uuid4 per process).
func WithProcessUUID(id string) BatcherOption {
	return func(b *Batcher) { b.names = b.names.with(func(n *batchNames) { n.processUUID = id }) }
}

// batchNames are the platform, sdk_version and process_uuid each batch
// carries. Batchers with the defaults share defaultBatchNames; an option
// gives its batcher a copy of its own.
type batchNames struct {
	platform, sdkVersion, processUUID string
}

var defaultBatchNames = &batchNames{platform: platformName(runtime.GOOS), sdkVersion: types.ProtocolVersion, processUUID: processUUID}

func (n *batchNames) with(set func(*batchNames)) *batchNames {
	c := *n
	set(&c)
	return &c
}

// NewBatcher returns a started Batcher for sessionID that sends through
// send. Use "sessionless-<uuid4>" for telemetry without a session. It fails
// with a *types.Error of KindValidation on an empty session id, a nil
// sender (when enabled) or a non-positive interval, batch, queue, timeout or
// attempt count. Stop it with Close.
func NewBatcher(sessionID string, send Sender, opts ...BatcherOption) (*Batcher, error) {
	const op = "telemetry.batcher"
	b := &Batcher{
		send:        send,
		clock:       clock.Real,
		logger:      slog.New(slog.DiscardHandler),
		sessionID:   sessionID,
		names:       defaultBatchNames,
		interval:    DefaultFlushInterval,
		maxBatch:    DefaultMaxBatch,
		maxQueue:    DefaultMaxQueue,
		sendTimeout: DefaultSendTimeout,
		maxAttempts: DefaultMaxSendAttempts,
		retryDelay:  DefaultSendRetryBackoff,
		enabled:     true,
	}
	for _, o := range opts {
		o(b)
	}
	b.clock = clock.Or(b.clock)
	if b.logger == nil {
		b.logger = slog.New(slog.DiscardHandler)
	}
	switch {
	case !b.enabled:
		return b, nil
	case sessionID == "":
		return nil, types.ValidationError(op, "session id is empty")
	case send == nil:
		return nil, types.ValidationError(op, "sender is nil")
	case b.interval <= 0 || b.maxBatch <= 0 || b.maxQueue <= 0 || b.sendTimeout <= 0 || b.maxAttempts <= 0 || b.retryDelay < 0:
		return nil, types.ValidationError(op, "interval, batch size, queue size, send timeout and attempts must be positive and the retry delay not negative")
	}
	b.started = b.clock.Now()
	return b, nil
}

// sendState is what the flushers' sends share: ctx, canceled when Close
// gives up waiting, and stop, closed by Close so that retries no longer
// sleep.
type sendState struct {
	ctx    context.Context
	cancel context.CancelFunc
	stop   chan struct{}
}

// sendStateLocked returns the send state, making it on first use.
func (b *Batcher) sendStateLocked() *sendState {
	if b.sends == nil {
		ctx, cancel := context.WithCancel(context.Background())
		b.sends = &sendState{ctx: ctx, cancel: cancel, stop: make(chan struct{})}
	}
	return b.sends
}

func platformName(goos string) string {
	switch goos {
	case "linux":
		return "Linux"
	case "darwin":
		return "Darwin"
	case "windows":
		return "Windows"
	case "freebsd":
		return "FreeBSD"
	}
	return goos
}

func (b *Batcher) active() bool { return b != nil && b.enabled && !b.closed.Load() }

// SessionID returns the session the batcher reports for ("" on a nil
// batcher).
func (b *Batcher) SessionID() string {
	if b == nil {
		return ""
	}
	return b.sessionID
}

// Enqueue queues ev after filling in its event id, session index and (when
// zero) timestamp, and scrubbing its strings and data. It reports whether
// the event was queued: false when the batcher is nil, disabled or closed,
// or the queue is full (the event is then counted as dropped). It never
// blocks.
func (b *Batcher) Enqueue(ev types.TelemetryEvent) bool {
	if !b.active() {
		if b != nil && b.enabled {
			b.dropped.Add(1)
		}
		return false
	}
	ev.EventID = uuid.New()
	ev.EventSessionIndex = b.index.Add(1) - 1
	if ev.Timestamp.IsZero() {
		ev.Timestamp = b.clock.Now()
	}
	// UTC, to the microsecond, as the SDK's datetimes: a pydantic server
	// reads no finer.
	ev.Timestamp = ev.Timestamp.UTC().Truncate(time.Microsecond)
	ev.EventName = ScrubString(ev.EventName)
	ev.ErrorType = ScrubString(ev.ErrorType)
	ev.ErrorMessage = ScrubString(ev.ErrorMessage)
	ev.Traceback = ScrubString(ev.Traceback)
	ev.EventData = ScrubMetadata(ev.EventData)
	b.qmu.Lock()
	if b.ended {
		b.qmu.Unlock()
		b.dropped.Add(1)
		return false
	}
	full := len(b.queue) >= b.maxQueue
	if !full {
		b.queue = append(b.queue, ev)
		if urgent(ev) {
			b.flushNowLocked()
		} else {
			b.armLocked()
		}
	}
	b.qmu.Unlock()
	if full {
		b.dropped.Add(1)
		if b.dropNoted.CompareAndSwap(false, true) { // once per flush, not once per event
			b.logger.Warn("tinkex: server telemetry queue full, dropping events",
				"session_id", b.sessionID, "max_queue", b.maxQueue)
		}
		return false
	}
	b.queued.Add(1)
	return true
}

// armLocked arms the flush timer, unless it is armed, a flusher runs (it
// arms the timer when it is done, if events wait) or Close was called.
func (b *Batcher) armLocked() {
	if b.timer != nil || b.flushing || b.ending {
		return
	}
	b.timerGen++
	gen := b.timerGen
	b.timer = clock.AfterFunc(b.clock, b.interval, func() { b.tick(gen) })
}

// stopTimerLocked disarms the flush timer.
func (b *Batcher) stopTimerLocked() {
	if b.timer != nil {
		b.timer.Stop()
		b.timer = nil
		b.timerGen++
	}
}

// flushNowLocked starts a flusher at once, disarming the timer, or makes the
// running one take another pass (for an urgent event, a Flush, Close).
func (b *Batcher) flushNowLocked() {
	if b.flushing {
		b.urgent = true
		return
	}
	b.stopTimerLocked()
	b.flushing = true
	go b.flusher()
}

// tick is the flush timer's function: the flusher runs on its goroutine.
func (b *Batcher) tick(gen int) {
	b.qmu.Lock()
	if gen != b.timerGen || b.flushing || b.ending {
		b.qmu.Unlock()
		return // disarmed meanwhile
	}
	b.timer = nil
	b.flushing = true
	b.qmu.Unlock()
	b.flusher()
}

// flusher drains the queue, answers the Flush calls that were waiting, and
// goes on while an urgent event, a Flush call or (after Close) any event
// waits. Events queued meanwhile otherwise wait for the next interval, so a
// busy emitter cannot keep it busy. The last flusher after Close closes done.
func (b *Batcher) flusher() {
	for {
		b.qmu.Lock()
		n, waiters := len(b.queue), b.waiters // this pass sends what was queued before it
		b.waiters, b.urgent = nil, false
		sends := b.sendStateLocked()
		b.qmu.Unlock()
		b.drain(sends, n)
		for _, w := range waiters {
			close(w)
		}

		b.qmu.Lock()
		if b.urgent || len(b.waiters) > 0 || b.ending && len(b.queue) > 0 {
			b.qmu.Unlock()
			continue
		}
		b.flushing = false
		if b.ending {
			b.ended = true
			b.qmu.Unlock()
			close(b.done)
			return
		}
		if len(b.queue) > 0 {
			b.armLocked()
		}
		b.qmu.Unlock()
		return
	}
}

// urgent events are sent at once rather than at the next tick, as the Python
// SDK flushes when an exception is logged.
func urgent(ev types.TelemetryEvent) bool {
	return ev.Event == types.TelemetryUnhandledException || ev.Event == types.TelemetrySessionEnd ||
		ev.EventName == UserErrorEvent
}

// UserErrorEvent is the GENERIC_EVENT name the Python SDK uses for an
// exception caused by the user's request (it replaces UNHANDLED_EXCEPTION).
const UserErrorEvent = "user_error"

// Log queues a GENERIC_EVENT named name with data (scrubbed).
func (b *Batcher) Log(name string, severity types.TelemetrySeverity, data map[string]any) bool {
	return b.Enqueue(types.TelemetryEvent{Event: types.TelemetryGenericEvent, Severity: severity, EventName: name, EventData: data})
}

// SessionStart queues SESSION_START, stamped with the time the batcher was
// created. Call it once, after the session was created.
func (b *Batcher) SessionStart() bool {
	if b == nil {
		return false
	}
	return b.Enqueue(types.TelemetryEvent{Event: types.TelemetrySessionStart, Severity: types.SeverityInfo, Timestamp: b.started})
}

// SessionEnd queues SESSION_END with the session's duration and sends it at
// once.
func (b *Batcher) SessionEnd() bool {
	if b == nil {
		return false
	}
	return b.Enqueue(types.TelemetryEvent{Event: types.TelemetrySessionEnd, Severity: types.SeverityInfo,
		Duration: types.FormatTelemetryDuration(b.clock.Now().Sub(b.started))})
}

// LogException queues err and sends it at once: as a GENERIC_EVENT
// "user_error" (WARNING) when types.IsUserError(err), else as
// UNHANDLED_EXCEPTION (ERROR). A nil err queues nothing.
func (b *Batcher) LogException(err error) bool {
	if err == nil {
		return false
	}
	errType := ErrorType(err)
	if types.IsUserError(err) {
		data := map[string]any{"error_type": errType, "message": err.Error()}
		var te *types.Error
		if errors.As(err, &te) && te.StatusCode != 0 {
			data["status_code"] = te.StatusCode
		}
		return b.Log(UserErrorEvent, types.SeverityWarning, data)
	}
	return b.Enqueue(types.TelemetryEvent{Event: types.TelemetryUnhandledException, Severity: types.SeverityError,
		ErrorType: errType, ErrorMessage: err.Error()})
}

// ErrorType names an error for telemetry: "tinkex.<kind>" for a
// *types.Error (e.g. "tinkex.rate_limited"), else its Go type ("*net.OpError").
func ErrorType(err error) string {
	var te *types.Error
	if errors.As(err, &te) {
		return "tinkex." + te.Kind.String()
	}
	return strings.TrimSpace(fmt.Sprintf("%T", err))
}

// Flush sends everything queued now and waits until that is done (sent,
// or dropped after the retry bound). It fails when ctx ends first or the
// batcher is closed; a nil or disabled batcher returns nil at once.
func (b *Batcher) Flush(ctx context.Context) error {
	if b == nil || !b.enabled {
		return nil
	}
	reply := make(chan struct{})
	b.qmu.Lock()
	if b.ending {
		done := b.done
		b.qmu.Unlock()
		select {
		case <-done:
			return types.NewError(types.KindClientStopped, "telemetry.flush", "the telemetry batcher is closed")
		case <-ctx.Done():
			return types.CanceledError("telemetry.flush", ctx.Err())
		}
	}
	b.waiters = append(b.waiters, reply)
	b.flushNowLocked()
	b.qmu.Unlock()
	select {
	case <-reply:
		return nil
	case <-ctx.Done():
		return types.CanceledError("telemetry.flush", ctx.Err())
	}
}

// Close stops accepting events, disarms the flush timer and sends what is
// queued (retries then run back to back, without backoff sleeps). If ctx
// ends first, the send in flight is cancelled, the rest is dropped, and
// Close returns a *types.Error of KindCanceled once the flusher has
// exited. Close is idempotent; later calls wait for the same shutdown.
// Events emitted while Close runs may be dropped.
func (b *Batcher) Close(ctx context.Context) error {
	if b == nil || !b.enabled {
		return nil
	}
	b.qmu.Lock()
	if !b.ending {
		b.closed.Store(true)
		b.ending = true
		b.done = make(chan struct{})
		close(b.sendStateLocked().stop)
		b.flushNowLocked()
	}
	done, sends := b.done, b.sends
	b.qmu.Unlock()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		sends.cancel()
		<-done
		return types.CanceledError("telemetry.close", ctx.Err())
	}
}

// BatcherStats counts what happened to events.
type BatcherStats struct {
	Queued        int64 // events accepted into the queue
	Dropped       int64 // events refused: queue full, or batcher closed
	Sent          int64 // events the server accepted
	FailedBatches int64 // batches dropped after the last failed attempt
	Pending       int   // events waiting in the queue now
}

// Stats returns the batcher's counters.
func (b *Batcher) Stats() BatcherStats {
	if b == nil {
		return BatcherStats{}
	}
	s := BatcherStats{Queued: b.queued.Load(), Dropped: b.dropped.Load(), Sent: b.sent.Load(), FailedBatches: b.failed.Load()}
	if b.enabled {
		b.qmu.Lock()
		s.Pending = len(b.queue)
		b.qmu.Unlock()
	}
	return s
}

// drain sends the first n queued events in batches of at most maxBatch;
// once Close has given up they are dropped.
func (b *Batcher) drain(sends *sendState, n int) {
	defer b.dropNoted.Store(false)
	for n > 0 {
		events := b.take(min(n, b.maxBatch))
		n -= len(events)
		if sends.ctx.Err() != nil {
			b.dropped.Add(int64(len(events)))
			continue
		}
		b.sendBatch(sends, events)
	}
}

// take removes the first n events from the queue: a batch leaves the queue
// only when it is sent, so the events of a pass still to be sent count
// against the queue's bound (MaxQueue), and at most one batch is in flight
// beyond it, as in the SDK, which drains its queue a batch at a time.
func (b *Batcher) take(n int) []types.TelemetryEvent {
	b.qmu.Lock()
	defer b.qmu.Unlock()
	events := b.queue[:n:n] // nothing writes below the queue's new start
	b.queue = b.queue[n:]
	if len(b.queue) == 0 {
		b.queue = nil // an idle batcher holds no array
	}
	return events
}

func (b *Batcher) sendBatch(sends *sendState, events []types.TelemetryEvent) {
	req := &types.TelemetrySendRequest{
		Events:      events,
		Platform:    b.names.platform,
		SDKVersion:  b.names.sdkVersion,
		SessionID:   b.sessionID,
		ProcessUUID: b.names.processUUID,
	}
	delay := b.retryDelay
	for attempt := 1; ; attempt++ {
		ctx, cancel := context.WithTimeout(sends.ctx, b.sendTimeout)
		err := b.send(ctx, req)
		cancel()
		if err == nil {
			b.sent.Add(int64(len(events)))
			return
		}
		if attempt >= b.maxAttempts || types.IsUserError(err) || sends.ctx.Err() != nil {
			b.failed.Add(1)
			b.logger.Warn("tinkex: dropping a server telemetry batch", "session_id", b.sessionID,
				"events", len(events), "attempts", attempt, "error", ScrubString(err.Error()))
			return
		}
		if !b.sleep(sends, delay) {
			continue
		}
		delay *= 2
	}
}

// sleep waits d on the batcher's clock and reports whether it slept the
// whole time; it returns early (false) once Close was called, so shutdown
// retries run back to back and Close's context bounds them.
func (b *Batcher) sleep(sends *sendState, d time.Duration) bool {
	select {
	case <-sends.stop:
		return false
	default:
	}
	t := b.clock.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C():
		return true
	case <-sends.stop:
		return false
	case <-sends.ctx.Done():
		return false
	}
}

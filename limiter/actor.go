package limiter

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/tinkex-go/tinkex/telemetry"
)

// StatsRequest asks a limiter actor for its limiter's state; the actor
// responds with a Stats value. Any actor in tinkex's tree also answers
// protoactor's *actor.Touch; StatsRequest additionally proves the limiter
// state is readable.
type StatsRequest struct{}

// backoffReported is sent by ReportRateLimited after it extended the
// deadline to until.
type backoffReported struct {
	delay time.Duration
	until int64
}

// backoffTimer is sent by the actor's timer goroutine when the deadline it
// was armed for has passed.
type backoffTimer struct{ gen uint64 }

// Producer returns the producer of l's limiter actor, for spawning it under a
// parent (the registry spawns one per config, named "limiter:<fingerprint>").
// Each call of the producer returns a fresh actor; the durable state lives in
// l, so a restarted actor carries on where the old one stopped.
//
// The actor turns rate-limit reports into telemetry: LimiterBackoffSet once
// when a burst of 429s starts and LimiterBackoffCleared once when the
// (possibly extended) deadline has passed, with metadata KeyConfig and
// KeyBaseURL and measurements MeasureDelay and MeasureBackoffLeft (seconds).
// It answers StatsRequest. Without a running actor the limiter still limits;
// only these events are missing.
func (l *Limiter) Producer() actor.Producer {
	return func() actor.Actor { return &limiterActor{l: l} }
}

type limiterActor struct {
	l        *Limiter
	self     *actor.PID
	root     *actor.RootContext
	attached *notifier

	timerGen uint64
	armed    bool
	stop     chan struct{}
	done     chan struct{}
}

func (a *limiterActor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		a.self = ctx.Self()
		a.root = ctx.ActorSystem().Root
		a.attached = &notifier{root: a.root, pid: a.self}
		a.l.notify.Store(a.attached)
		a.resume()
	case *backoffReported:
		a.reported(m)
	case *backoffTimer:
		if m.gen == a.timerGen {
			a.armed = false
			a.check()
		}
	case StatsRequest, *StatsRequest:
		ctx.Respond(a.l.Stats())
	case *actor.Stopping, *actor.Restarting:
		a.disarm()
		a.l.notify.CompareAndSwap(a.attached, nil)
	}
}

// resume picks up a burst that started or was in progress while no actor
// was attached.
func (a *limiterActor) resume() {
	if a.l.burst.Load() {
		a.check()
		return
	}
	if rem := a.l.BackoffRemaining(); rem > 0 {
		a.open(rem, rem)
		a.check()
	}
}

func (a *limiterActor) reported(m *backoffReported) {
	l := a.l
	if !l.burst.Load() {
		if m.until <= l.clearedThrough.Load() {
			return // already covered by a burst that has been cleared
		}
		a.open(m.delay, l.BackoffRemaining())
	}
	a.check()
}

// check arms the timer while the backoff lasts and clears the burst once it
// has passed.
func (a *limiterActor) check() {
	l := a.l
	if rem := l.BackoffRemaining(); rem > 0 {
		if !a.armed {
			a.arm(rem)
		}
		return
	}
	if l.burst.CompareAndSwap(true, false) {
		now := l.now()
		l.clearedThrough.Store(now)
		a.emit(telemetry.LimiterBackoffCleared, time.Duration(now-l.burstStart.Load()), 0)
	}
}

func (a *limiterActor) open(delay, left time.Duration) {
	l := a.l
	l.burst.Store(true)
	l.burstStart.Store(l.now())
	l.bursts.Add(1)
	a.emit(telemetry.LimiterBackoffSet, delay, left)
}

func (a *limiterActor) emit(name string, delay, left time.Duration) {
	bus := a.l.bus
	if !bus.Enabled(name) {
		return
	}
	bus.Execute(name,
		map[string]float64{
			telemetry.MeasureDelay:       delay.Seconds(),
			telemetry.MeasureBackoffLeft: left.Seconds(),
		},
		map[string]any{
			telemetry.KeyConfig:  a.l.id.Fingerprint,
			telemetry.KeyBaseURL: a.l.id.BaseURL,
		})
}

// arm starts a timer goroutine owned by this actor; it sends backoffTimer
// back when d has passed, or exits when disarmed.
func (a *limiterActor) arm(d time.Duration) {
	a.disarm()
	a.timerGen++
	a.armed = true
	gen, root, self := a.timerGen, a.root, a.self
	stop, done := make(chan struct{}), make(chan struct{})
	a.stop, a.done = stop, done
	t := a.l.clk.NewTimer(d)
	go func() {
		defer close(done)
		select {
		case <-t.C():
			root.Send(self, &backoffTimer{gen: gen})
		case <-stop:
			t.Stop()
		}
	}()
}

func (a *limiterActor) disarm() {
	if a.stop == nil {
		return
	}
	close(a.stop)
	<-a.done
	a.stop, a.done = nil, nil
	a.armed = false
}

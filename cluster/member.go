package cluster

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// MaxRejoinBackoff caps the wait between failed attempts to join.
const MaxRejoinBackoff = 30 * time.Second

// producer returns the producer of the member actor, to be run as a child
// of the runtime's "cluster" supervisor. On start it runs the member's
// lifecycle on a goroutine it owns: join (a new incarnation), watch, and
// when every config has been degraded for the rejoin delay, leave and join
// again under a new identity; failed joins are retried with a doubling
// delay (capped at MaxRejoinBackoff) while every config limits locally and
// says so. On stop it leaves the cluster and waits for the goroutine; that
// is bounded by protoactor's lookup timeout (the degrade delay) plus the
// provider's shutdown.
//
// Only one member actor per Fleet may run at a time.
func (f *Fleet) producer() actor.Producer {
	return func() actor.Actor { return &member{f: f} }
}

type member struct {
	f          *Fleet
	stop, done chan struct{}
}

func (m *member) Receive(ctx actor.Context) {
	switch ctx.Message().(type) {
	case *actor.Started:
		m.stop, m.done = make(chan struct{}), make(chan struct{})
		go m.f.run(m.stop, m.done)
	case *actor.Stopping, *actor.Restarting:
		if m.stop != nil {
			close(m.stop)
			<-m.done
			m.stop = nil
		}
	}
}

// run is the member's lifecycle; it owns f.inc.
func (f *Fleet) run(stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	wait := f.s.Rejoin
	for {
		inc, err := startIncarnation(f)
		if err != nil {
			for _, cfg := range f.snapshot() {
				f.degrade(cfg, "", err.Error())
			}
			if !sleep(stop, wait) {
				return
			}
			wait = min(2*wait, MaxRejoinBackoff)
			continue
		}
		wait = f.s.Rejoin
		// startIncarnation published inc before it took its snapshot of the
		// configs, and Fleet.attach records a config before it looks for
		// the incarnation: every config attached while the incarnation
		// started is in that snapshot or attaches itself.
		rejoin := f.watch(inc, stop)
		f.inc.Store(nil)
		inc.stop()
		if !rejoin {
			return
		}
	}
}

// watch returns true when inc should be replaced (every config has been
// degraded for the rejoin delay: this member is cut off, not just one grain
// moving), false on stop.
func (f *Fleet) watch(inc *incarnation, stop <-chan struct{}) bool {
	t := time.NewTicker(f.s.Renew)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return false
		case now := <-t.C:
			if now.Sub(inc.started) < f.s.Rejoin {
				continue
			}
			cfgs := f.snapshot()
			cut := len(cfgs) > 0
			for _, cfg := range cfgs {
				since := cfg.degradedSince.Load()
				cut = cut && since != 0 && now.Sub(time.Unix(0, since)) >= f.s.Rejoin
			}
			if cut {
				return true
			}
		}
	}
}

// sleep waits d or until stop; it reports false on stop.
func sleep(stop <-chan struct{}, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-stop:
		return false
	case <-t.C:
		return true
	}
}

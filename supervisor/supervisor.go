package supervisor

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// child is a supervisor's record of one child spec and its current actor.
type child struct {
	spec     Spec
	props    *actor.Props
	insts    instances     // its processes' contexts and fences
	pid      *actor.PID    // the live actor, nil when there is none
	proc     actor.Process // pid's process, looked up once at spawn
	gen      int           // incarnation, bumped on every start, to drop stale events
	status   Status
	restarts int
	killed   int   // forced stops so far; a killed actor's name is never reused
	failed   bool  // the actor panicked and is suspended, awaiting restart or stop
	reason   error // exit reason announced by Exit for the current actor
	last     error // the reason of the exit that led to the pending restart
	removed  bool
	// staleAcks counts childStarted acks still in flight for starts already
	// counted: a crash (a system message) can overtake the ack of the start
	// before it (a user message); see HandleFailure.
	staleAcks int
}

func (c *child) name() string {
	if c.killed == 0 {
		return c.spec.ID
	}
	return c.spec.ID + "#" + strconv.Itoa(c.killed)
}

// exitEvent is a child's exit (panic, Exit or stop) waiting to be handled.
type exitEvent struct {
	c      *child
	gen    int
	reason error
}

// retryEvent is a failed restart waiting to be tried again: OTP's
// try_again_restart, which the supervisor casts to itself so that what is
// already queued (a shutdown, a handle's request, another exit) comes first.
type retryEvent struct {
	c      *child
	gen    int
	reason error
}

// request is a handle's request waiting to be handled.
type request struct {
	msg  any
	from *actor.PID
}

type stepKind int

const (
	stepStop stepKind = iota
	stepStart
)

type step struct {
	kind    stepKind
	c       *child
	restart bool // a start that counts as a restart (telemetry, counters)
	silent  bool // a stop whose ChildStopped event was already emitted
}

// plan is a sequence of stops and starts run one at a time: each step waits
// for the child's Terminated or start acknowledgement (or a stop timeout)
// before the next begins. Events arriving meanwhile are queued.
type plan struct {
	steps []step
	next  int
	// waiting is the step in progress, nil between steps.
	waiting *step
	// onStartFail is called (with the plan already abandoned) when a start
	// step's child panics or exits before acknowledging.
	onStartFail func(c *child, reason error)
	done        func()
}

type phase int

const (
	booting phase = iota
	running
	terminating
	terminated
)

// rootState is shared by a root supervisor and its handle.
type rootState struct {
	booted chan error // buffered; receives the boot result once
	done   chan struct{}
	err    error // written before done is closed
	closed bool  // only touched on the supervisor's goroutine
}

// supervisorActor is the OTP supervisor. All its state is touched only on its
// own goroutine: in Receive and in HandleFailure, which protoactor calls from
// the same mailbox loop because the actor implements SupervisorStrategy.
type supervisorActor struct {
	cfg      *config
	root     *rootState
	ctx      actor.Context
	proc     actor.Process // its own process, reachable even once unregistered
	children []*child      // in start order
	// ids and pids index children once there are more than indexAbove of
	// them (nil before: byID and byPID scan children).
	ids      map[string]*child
	pids     map[*actor.PID]*child
	win      window
	phase    phase
	plan     *plan
	queue    []any // *exitEvent, *retryEvent and *request, in arrival order
	shutdown bool  // a graceful shutdown waits for the current plan

	timer     Timer
	timerStop chan struct{}
	timerSeq  int
}

var _ actor.SupervisorStrategy = (*supervisorActor)(nil)

func newSupervisorActor(cfg *config, root *rootState) *supervisorActor {
	return &supervisorActor{
		cfg:  cfg,
		root: root,
		win:  newWindow(cfg.intensity, cfg.period),
	}
}

// Receive implements actor.Actor.
func (s *supervisorActor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		s.ctx = ctx
		s.proc, _ = ctx.ActorSystem().ProcessRegistry.Get(ctx.Self())
		s.boot()
	case *actor.Restarting:
		// Only a bug in this package panics a supervisor; protoactor then
		// stops its children and starts a fresh instance.
		s.disarm()
		s.failQueued(ErrStopped)
	case *actor.Stopping:
		s.disarm()
		s.failQueued(ErrStopped)
		if s.phase != terminated {
			s.phase = terminated
			s.finishRoot(fmt.Errorf("%w: supervisor %q was stopped outside its API", ErrStopped, s.cfg.id))
		}
	case *actor.Terminated:
		// Handle it after anything the child sent before it stopped (its
		// exitNotice), which is already in the user queue.
		if s.phase != terminated {
			ctx.Send(ctx.Self(), &childDown{pid: m.Who})
		}
	case *exitNotice:
		if c := s.byPID(m.pid); c != nil {
			c.reason = m.reason
		}
	case *childStarted:
		c := s.byPID(m.pid)
		if c != nil && c.staleAcks > 0 {
			c.staleAcks--
			return
		}
		if c != nil && c.reason != nil {
			// It called Exit while handling Started (its exitNotice came
			// first): it never started, and its Terminated will say so.
			return
		}
		s.onStarted(m.pid)
	case *childDown:
		s.onDown(m.pid)
	case *stopTimeout:
		s.onStopTimeout(m.seq)
	case *shutdownRequest:
		s.requestShutdown()
	case *killRequest:
		s.killAll()
	default:
		if readOnly(m) {
			s.answer(m, ctx.Sender())
			return
		}
		if isRequest(m) {
			s.enqueue(&request{msg: m, from: ctx.Sender()})
		}
	}
}

// HandleFailure implements actor.SupervisorStrategy: a child panicked.
func (s *supervisorActor) HandleFailure(_ *actor.ActorSystem, _ actor.Supervisor, pid *actor.PID, _ *actor.RestartStatistics, reason, message any) {
	stopping := s.failedWhileStopping(pid, message)
	c := s.byPID(pid)
	if c == nil {
		// An actor we already gave up on (killed); it must not linger suspended.
		if stopping {
			for _, o := range s.children {
				o.insts.drop(pid)
			}
			s.release(pid)
			s.stopOrphans(pid) // as for a lost child (see lost)
		} else {
			s.ctx.Stop(pid)
		}
		if s.cfg.lateFailure != nil {
			s.cfg.lateFailure(pid)
		}
		return
	}
	why := panicReason(reason)
	if stopping {
		s.lost(c, why)
		return
	}
	c.failed = true
	if p := s.plan; p != nil && p.waiting != nil && p.waiting.c == c {
		if p.waiting.kind != stepStart {
			return // a child failing while we stop it is stopped anyway
		}
		if failedInStart(message) {
			s.startFailed(c, why)
			return
		}
		// The child handled Started and then crashed on a later message;
		// the crash overtook the Started ack. Count the start now, ignore
		// its ack when it arrives, and handle the crash as any other.
		c.staleAcks++
		s.onStarted(pid)
	}
	c.status = Restarting
	s.enqueue(&exitEvent{c: c, gen: c.gen, reason: why})
}

// failedWhileStopping reports whether a child's panic came from its
// Stopping or Stopped handler. protoactor reports the message it was
// processing: *actor.Stop for a Stopping handler, and for a Stopped one of
// an actor without children; an actor with children runs its Stopped
// handler while it handles its last child's *actor.Terminated, after it has
// unregistered itself, which tells that from a live actor failing on a
// watched actor's Terminated.
func (s *supervisorActor) failedWhileStopping(pid *actor.PID, message any) bool {
	switch message.(type) {
	case *actor.Stop:
		return true
	case *actor.Terminated:
		_, registered := s.ctx.ActorSystem().ProcessRegistry.Get(pid)
		return !registered
	}
	return false
}

// lost handles a child that panicked while stopping. protoactor leaves such
// a process suspended half-stopped: it never sees *actor.Stopped (or, if it
// panicked there, never finishes it) and never sends Terminated. In OTP the
// process is dead the moment its terminate crashes, so it is taken for down
// at once, with the panic as its exit reason: a stop step waiting for it
// ends with shutdown_error, a start step fails, and an exit of its own is
// handled as any other.
func (s *supervisorActor) lost(c *child, reason error) {
	pid := c.pid
	i := c.insts.get(pid)
	i.fenced.Store(true) // whatever its goroutines still send is dropped
	i.endWith(reason)
	c.insts.drop(pid)
	s.ctx.ActorSystem().ProcessRegistry.Remove(pid)
	s.release(pid)
	s.stopOrphans(pid)
	s.setPID(c, nil)
	c.failed, c.reason = false, nil
	p := s.plan
	switch {
	case p == nil || p.waiting == nil || p.waiting.c != c:
		c.status = Restarting
		s.enqueue(&exitEvent{c: c, gen: c.gen, reason: reason})
	case p.waiting.kind == stepStart:
		s.startFailed(c, reason)
	default:
		s.emit(EventShutdownError, c, reason)
		s.stopped(c, reason, p.waiting.silent)
	}
}

// stopOrphans stops the actors a lost child spawned itself. protoactor
// stops an actor's own children after its Stopping handler returns, so a
// panic there leaves them running, where in OTP the dead process's links
// would take them down with it. They are found by name: protoactor names an
// actor's children "<parent id>/<name>", and the lost child's context is
// not this goroutine's to read. Each actor under the child's name is
// stopped as protoactor would have stopped it. A lost child is rare and
// the scan is once per loss. This supervisor's own children, and what they
// spawned, are never taken for orphans: a sibling whose ID extends the
// child's with "/" (ID "x/y" next to "x") has a PID of that shape too. Nor
// are the actors of a process that took the name since (a killed temporary
// child's ID started again): they cannot be told from the orphans, and are
// left alone.
func (s *supervisorActor) stopOrphans(pid *actor.PID) {
	if _, taken := s.ctx.ActorSystem().ProcessRegistry.Get(pid); taken {
		return
	}
	// Every actor under the child's name: its own children, theirs, and
	// any whose name holds a "/" of its own (protoactor stops an already
	// stopping actor once), but not a sibling's or what a sibling spawned.
	prefix := pid.Id + "/"
	var orphans []string
	for _, bucket := range s.ctx.ActorSystem().ProcessRegistry.LocalPIDs.LocalPIDs {
		bucket.IterCb(func(id string, _ any) {
			if strings.HasPrefix(id, prefix) {
				orphans = append(orphans, id)
			}
		})
	}
	if len(orphans) == 0 {
		return
	}
	for _, c := range s.ctx.Children() {
		if c.Id == pid.Id {
			continue // the lost child itself, until release's Terminated is handled
		}
		under := c.Id + "/"
		orphans = slices.DeleteFunc(orphans, func(id string) bool { return id == c.Id || strings.HasPrefix(id, under) })
	}
	for _, id := range orphans {
		s.ctx.Stop(actor.NewPID(pid.Address, id))
	}
}

// release tells this actor's protoactor context that its child pid is
// gone although the child never sent Terminated (see lost): a protoactor
// parent stops only once all its children have, so its own stop would wait
// for the child forever.
func (s *supervisorActor) release(pid *actor.PID) {
	s.proc.SendSystemMessage(s.ctx.Self(), &actor.Terminated{Who: pid})
}

// reportExit sends OTP's child_terminated report for an exit as it is
// handled (OTP's do_restart, which reports before it restarts): any exit
// of a Permanent child, an abnormal one of the others. An exit that arrives
// while the supervisor waits on a stop or a start is reported once that is
// over and the exit's turn comes; one absorbed by a stop before then gets
// only absorb's shutdown_error, as in OTP.
func (s *supervisorActor) reportExit(c *child, reason error) {
	if c.spec.Restart == Permanent || !isNormal(reason) {
		s.emit(EventChildTerminated, c, reason)
	}
}

// failedInStart reports whether a child's panic happened while it was
// starting: protoactor reports the message it was processing, *actor.Started
// on a first start and *actor.Restart while restarting in place.
func failedInStart(message any) bool {
	switch message.(type) {
	case *actor.Started, *actor.Restart, *actor.Restarting:
		return true
	}
	return false
}

func isRequest(m any) bool {
	switch m.(type) {
	case *startChildRequest, *terminateChildRequest, *deleteChildRequest, *restartChildRequest, *syncRequest:
		return true
	}
	return false
}

// boot starts the static children in order.
func (s *supervisorActor) boot() {
	s.phase = booting
	specs := s.cfg.specs
	if s.cfg.init != nil {
		specs = s.cfg.init()
	}
	if err := validateTree("start", s.cfg, specs); err != nil {
		s.terminate(err)
		return
	}
	p := &plan{}
	for _, spec := range specs {
		c := s.add(spec)
		p.steps = append(p.steps, step{kind: stepStart, c: c})
	}
	p.onStartFail = func(c *child, reason error) {
		s.emit(EventStartError, c, reason)
		// As OTP: stop what was started, in reverse order, and fail.
		err := fmt.Errorf("%w: child %q: %w", ErrStartFailed, c.spec.ID, reason)
		s.run(&plan{steps: s.stopAll(), done: func() { s.terminate(err) }})
	}
	p.done = func() {
		s.phase = running
		if s.root != nil {
			s.sendBooted(nil)
		} else if parent := s.ctx.Parent(); parent != nil {
			s.ctx.Send(parent, &childStarted{pid: s.ctx.Self()})
		}
	}
	s.run(p)
}

// add appends a child record for spec, not yet started.
func (s *supervisorActor) add(spec Spec) *child {
	c := &child{spec: spec, status: Restarting}
	c.props = s.propsFor(spec, &c.insts)
	s.children = append(s.children, c)
	switch {
	case s.ids != nil:
		s.ids[spec.ID] = c
	case len(s.children) > indexAbove:
		s.ids = make(map[string]*child, len(s.children))
		s.pids = make(map[*actor.PID]*child, len(s.children))
		for _, o := range s.children {
			s.ids[o.spec.ID] = o
			if o.pid != nil {
				s.pids[o.pid] = o
			}
		}
	}
	return c
}

// indexAbove is how many children a supervisor finds by scanning; past it,
// maps index them (a client's subtree has a handful, the clients
// supervisor one per ServiceClient). Scanning spares a small supervisor
// two maps.
const indexAbove = 8

func (s *supervisorActor) setPID(c *child, pid *actor.PID) {
	if c.pid != nil {
		delete(s.pids, c.pid) // a no-op while pids is nil
	}
	if pid != c.pid {
		c.staleAcks = 0 // acks are matched by PID; an old PID's late ack is dropped anyway
	}
	c.pid = pid
	if pid != nil && s.pids != nil {
		s.pids[pid] = c
	}
}

func (s *supervisorActor) propsFor(spec Spec, insts *instances) *actor.Props {
	opts := []actor.PropsOption{
		actor.WithReceiverMiddleware(ackStarted),
		actor.WithContextDecorator(insts.decorate),
	}
	if spec.Start == nil {
		return spec.Props.Clone(opts...)
	}
	// A child from Start gets protoactor's lock-free mailbox: a node per
	// queued message instead of a ring of ten slots made up front, so an idle
	// child holds ~0.3 KiB less. Its messages are rare (lifecycle and
	// supervision); Props children keep the mailbox their Props chose.
	//
	// A child supervisor inherits this one's clock and hook. The inherited
	// config is the same at every (re)start, so it is made once and shared
	// (the producer may run on the child's goroutine: a restart in place).
	start, parent := spec.Start, s.cfg
	var inherited atomic.Pointer[[2]*config] // {own, inherited}
	return actor.PropsFromProducer(func() actor.Actor {
		a := start()
		if sub, ok := a.(*supervisorActor); ok {
			if pair := inherited.Load(); pair != nil && pair[0] == sub.cfg {
				sub.cfg = pair[1]
			} else {
				own := sub.cfg
				sub.cfg = own.inherit(parent)
				inherited.Store(&[2]*config{own, sub.cfg})
			}
		}
		return a
	}, append(opts, actor.WithMailbox(lockfreeMailbox))...)
}

// lockfreeMailbox makes the mailboxes of Start children (see propsFor): one
// producer for all of them.
var lockfreeMailbox = actor.UnboundedLockfree()

// enqueue handles an event now, or queues it while a plan runs.
func (s *supervisorActor) enqueue(ev any) {
	if s.phase == terminated {
		if r, ok := ev.(*request); ok {
			s.respond(r.from, nil, stoppedError(opName(r.msg), ErrStopped))
		}
		return
	}
	s.queue = append(s.queue, ev)
	s.drain()
}

// drain handles queued events until one of them starts a plan.
func (s *supervisorActor) drain() {
	for s.plan == nil && s.phase == running {
		if s.shutdown {
			s.shutdown = false
			s.beginShutdown()
			return
		}
		if len(s.queue) == 0 {
			return
		}
		ev := s.queue[0]
		s.queue[0] = nil
		s.queue = s.queue[1:]
		switch ev := ev.(type) {
		case *exitEvent:
			if ev.c.removed || ev.c.gen != ev.gen {
				continue // stale: that actor was already replaced
			}
			s.reportExit(ev.c, ev.reason)
			s.childExited(ev.c, ev.reason)
		case *retryEvent:
			if ev.c.removed || ev.c.gen != ev.gen {
				continue // it was stopped or started since
			}
			s.restart(ev.c, ev.reason)
		case *request:
			s.handle(ev)
		}
	}
}

// childExited applies the child's restart type and the strategy.
func (s *supervisorActor) childExited(c *child, reason error) {
	c.last = reason
	final := !restartable(c.spec.Restart, reason)
	if final {
		s.emit(EventChildStopped, c, reason)
		steps := s.stopSteps(c) // a panicked actor is still there, suspended
		for i := range steps {
			steps[i].silent = true
		}
		s.run(&plan{steps: steps, done: func() {
			s.retire(c)
			s.autoShutdown(c)
		}})
		return
	}
	s.restart(c, reason)
}

// restart counts a restart of c against the intensity and restarts it as
// the strategy says. A restart that fails to start a child is tried again
// whatever that child's restart type and the failure (OTP's
// try_again_restart), and a group restart then starts the rest of its group.
func (s *supervisorActor) restart(c *child, reason error) {
	c.last = reason
	if !s.win.add(s.cfg.clock.Now()) {
		s.giveUp(c, reason)
		return
	}
	var steps []step
	switch s.cfg.strategy {
	case OneForOne:
		steps = []step{{kind: stepStart, c: c, restart: true}}
	case OneForAll:
		steps = s.restartGroup(c, s.children)
	case RestForOne:
		steps = s.restartGroup(c, s.children[slices.Index(s.children, c):])
	}
	p := &plan{steps: steps}
	p.onStartFail = func(c *child, reason error) {
		s.emit(EventStartError, c, reason)
		// OTP retries a failed restart as a new restart, which counts,
		// once the events queued before the failure have been handled.
		c.status = Restarting
		// The rest of the group, stopped and not yet started again, is
		// down until the retry (OTP: pid undefined; only the failed child
		// is {restarting, Pid}).
		for _, st := range p.steps[p.next:] {
			if st.kind == stepStart && st.c != c && st.c.pid == nil && !st.c.removed {
				st.c.status = Stopped
			}
		}
		s.enqueue(&retryEvent{c: c, gen: c.gen, reason: reason})
	}
	s.run(p)
}

// restartGroup stops group (except the exited child) in reverse start order,
// then starts every non-temporary child of group in start order. A child
// already down, its exit queued, is stopped too: its exit is absorbed (see
// absorb).
func (s *supervisorActor) restartGroup(exited *child, group []*child) []step {
	group = slices.Clone(group)
	var steps []step
	for i := len(group) - 1; i >= 0; i-- {
		if g := group[i]; g != exited && (g.pid != nil || s.pending(g)) {
			steps = append(steps, step{kind: stepStop, c: g})
		}
	}
	for _, g := range group {
		if g.spec.Restart != Temporary {
			steps = append(steps, step{kind: stepStart, c: g, restart: true})
		}
	}
	return steps
}

func restartable(t RestartType, reason error) bool {
	switch t {
	case Permanent:
		return true
	case Transient:
		return !isNormal(reason)
	}
	return false
}

// autoShutdown ends the supervisor if c's own exit must, by OTP's
// auto_shutdown rules: c is significant, and under AllSignificant no other
// significant child runs. A child whose exit (or failed restart) is queued
// still counts as running: OTP forgets a child's pid only once it handles
// its EXIT.
func (s *supervisorActor) autoShutdown(c *child) {
	auto := s.cfg.autoShutdown
	if !c.spec.Significant || auto == Never {
		return
	}
	if auto == AllSignificant && slices.ContainsFunc(s.children, func(o *child) bool {
		return o.spec.Significant && (o.pid != nil || s.pending(o))
	}) {
		return
	}
	reason := &autoShutdownError{auto: auto, child: c.spec.ID}
	s.phase = terminating
	s.run(&plan{steps: s.stopAll(), done: func() { s.terminate(reason) }})
}

// pending reports whether an exit or a failed restart of c's current actor
// is queued, not yet handled.
func (s *supervisorActor) pending(c *child) bool {
	exit, retry := s.queued(c)
	return exit || retry
}

// queued reports whether an exit of c's current actor, and a failed
// restart of c waiting to be tried again, are queued.
func (s *supervisorActor) queued(c *child) (exit, retry bool) {
	for _, ev := range s.queue {
		switch ev := ev.(type) {
		case *exitEvent:
			exit = exit || ev.c == c && ev.gen == c.gen
		case *retryEvent:
			retry = retry || ev.c == c && ev.gen == c.gen
		}
	}
	return exit, retry
}

// retire marks a child that will not be restarted: a temporary one is
// forgotten, any other keeps its spec.
func (s *supervisorActor) retire(c *child) {
	c.failed = false
	if c.spec.Restart == Temporary {
		s.remove(c)
		return
	}
	c.status = Stopped
}

func (s *supervisorActor) remove(c *child) {
	if c.removed {
		return
	}
	c.removed = true
	s.setPID(c, nil)
	delete(s.ids, c.spec.ID)
	s.children = slices.DeleteFunc(s.children, func(o *child) bool { return o == c })
}

// giveUp stops every child in reverse start order and terminates the
// supervisor with an *IntensityError.
func (s *supervisorActor) giveUp(c *child, reason error) {
	err := &IntensityError{
		Supervisor: s.cfg.id,
		Intensity:  s.cfg.intensity,
		Period:     s.cfg.period,
		Child:      c.spec.ID,
		Reason:     reason,
	}
	s.emit(EventIntensityExceeded, c, reason)
	s.phase = terminating
	s.run(&plan{steps: s.stopAll(), done: func() { s.terminate(err) }})
}

func (s *supervisorActor) requestShutdown() {
	switch {
	case s.phase == terminating || s.phase == terminated:
	case s.plan != nil:
		s.shutdown = true
	default:
		s.beginShutdown()
	}
}

func (s *supervisorActor) beginShutdown() {
	s.phase = terminating
	s.run(&plan{steps: s.stopAll(), done: func() { s.terminate(nil) }})
}

// stopAll stops every live child, last started first.
func (s *supervisorActor) stopAll() []step {
	var steps []step
	for i := len(s.children) - 1; i >= 0; i-- {
		steps = append(steps, s.stopSteps(s.children[i])...)
	}
	return steps
}

func (s *supervisorActor) stopSteps(c *child) []step {
	if c.pid == nil {
		return nil
	}
	return []step{{kind: stepStop, c: c}}
}

// terminate ends the supervisor: reason nil after a requested shutdown, the
// failure otherwise. A root reports it; a child supervisor hands it to its
// parent as its exit reason.
func (s *supervisorActor) terminate(reason error) {
	s.phase = terminated
	s.disarm()
	if reason == nil {
		s.failQueued(ErrStopped)
	} else {
		s.failQueued(reason)
	}
	if s.root != nil {
		s.finishRoot(reason)
	} else if parent := s.ctx.Parent(); parent != nil && reason != nil {
		s.ctx.Send(parent, &exitNotice{pid: s.ctx.Self(), reason: reason})
	}
	s.ctx.Stop(s.ctx.Self())
}

func (s *supervisorActor) finishRoot(reason error) {
	if s.root == nil || s.root.closed {
		return
	}
	s.root.closed = true
	s.root.err = reason
	s.sendBooted(reason)
	close(s.root.done)
}

func (s *supervisorActor) sendBooted(err error) {
	if err == nil && s.phase != running {
		err = ErrStopped
	}
	select {
	case s.root.booted <- err:
	default:
	}
}

func (s *supervisorActor) failQueued(cause error) {
	for _, ev := range s.queue {
		if r, ok := ev.(*request); ok {
			s.respond(r.from, nil, stoppedError(opName(r.msg), cause))
		}
	}
	s.queue = nil
}

// run starts plan p, or finishes it at once if it has no steps.
func (s *supervisorActor) run(p *plan) {
	s.plan = p
	s.advance()
}

// advance runs the plan's next step; steps that need no waiting complete at
// once. When the plan is over it calls done and drains the queue.
func (s *supervisorActor) advance() {
	for {
		p := s.plan
		if p == nil || p.waiting != nil {
			return
		}
		if p.next == len(p.steps) {
			s.plan = nil
			if p.done != nil {
				p.done()
			}
			if s.plan == nil {
				s.drain()
			}
			return
		}
		st := &p.steps[p.next]
		p.next++
		switch st.kind {
		case stepStop:
			s.beginStop(st)
		case stepStart:
			s.beginStart(st)
		}
	}
}

func (s *supervisorActor) beginStop(st *step) {
	c := st.c
	if c.removed {
		return
	}
	if c.pid == nil {
		s.absorb(st)
		return
	}
	d := c.spec.shutdown()
	if d == BrutalKill {
		s.kill(c)
		return
	}
	s.plan.waiting = st
	if c.spec.Kind == KindSupervisor && !c.failed {
		// Let it stop its own children in order first.
		s.ctx.Send(c.pid, &shutdownRequest{})
	} else {
		s.ctx.Stop(c.pid)
	}
	if d != Infinity {
		s.arm(d)
	}
}

func (s *supervisorActor) beginStart(st *step) {
	c := st.c
	if c.removed {
		return
	}
	c.gen++
	c.reason = nil
	c.status = Restarting
	s.plan.waiting = st
	if c.failed && c.pid != nil {
		// Restart in place: the actor sees *actor.Restarting, then a fresh
		// instance sees *actor.Started, under the same PID.
		c.failed = false
		pid := c.pid
		c.proc.SendSystemMessage(pid, &actor.Restart{})
		return
	}
	c.failed = false
	pid, err := s.ctx.SpawnNamed(c.props, c.name())
	if err != nil {
		s.startFailed(c, err)
		return
	}
	s.setPID(c, pid)
	// A restart in place messages the process directly: a registry lookup
	// there would sit on the restart's critical path.
	c.proc, _ = s.ctx.ActorSystem().ProcessRegistry.Get(pid)
}

// absorb completes the stop step of a child that is already down: its
// queued exit, if any, is taken out of the queue and ends the step, as OTP's
// shutdown of a child that died first consumes its EXIT (unlink_flush), so
// the exit is neither handled later nor restarts anything; a temporary child
// is forgotten. The consumed exit is then the stop's outcome, and OTP's
// do_terminate reports it as shutdown_error unless the child's shutdown
// accepts it (see absorbedIsError).
func (s *supervisorActor) absorb(st *step) {
	c := st.c
	i := slices.IndexFunc(s.queue, func(ev any) bool {
		e, ok := ev.(*exitEvent)
		return ok && e.c == c && e.gen == c.gen
	})
	if i < 0 {
		return
	}
	reason := s.queue[i].(*exitEvent).reason
	s.queue = slices.Delete(s.queue, i, i+1)
	c.gen++
	if absorbedIsError(c.spec, reason) {
		s.emit(EventShutdownError, c, reason)
	}
	if !st.silent {
		s.emit(EventChildStopped, c, reason)
	}
	if c.spec.Restart == Temporary {
		s.remove(c)
	}
}

// onStarted: a child acknowledged *actor.Started.
func (s *supervisorActor) onStarted(pid *actor.PID) {
	p := s.plan
	if p == nil || p.waiting == nil || p.waiting.kind != stepStart || p.waiting.c.pid != pid {
		return
	}
	st := p.waiting
	p.waiting = nil
	c := st.c
	c.status = Running
	if st.restart {
		c.restarts++
		s.emit(EventChildRestarted, c, c.last)
		c.last = nil
	} else {
		s.emit(EventChildStarted, c, nil)
	}
	s.advance()
}

// onDown: a child's actor is gone.
func (s *supervisorActor) onDown(pid *actor.PID) {
	c := s.byPID(pid)
	if c == nil {
		return // an actor we killed earlier, finally done
	}
	reason := c.reason
	if reason == nil {
		reason = ExitNormal
	}
	s.setPID(c, nil)
	c.reason = nil
	if p := s.plan; p != nil && p.waiting != nil && p.waiting.c == c {
		if p.waiting.kind == stepStart && reason == errIgnored {
			s.ignoredStart(c)
			return
		}
		if p.waiting.kind == stepStart {
			s.startFailed(c, reason)
			return
		}
		s.stopped(c, ExitShutdown, p.waiting.silent)
		return
	}
	if c.failed {
		// It panicked and then stopped before we handled the panic; the
		// queued panic event carries the reason.
		c.failed = false
		return
	}
	c.status = Restarting
	s.enqueue(&exitEvent{c: c, gen: c.gen, reason: reason})
}

// ignoredStart completes the start step of a child that called Ignore: it
// is not running, its spec is kept unless it is Temporary, and the plan goes
// on, as after OTP's start function returned ignore.
func (s *supervisorActor) ignoredStart(c *child) {
	s.plan.waiting = nil
	c.status = Stopped
	if c.spec.Restart == Temporary {
		s.remove(c)
	}
	s.advance()
}

// stopped completes the stop step of c, which ended with reason.
func (s *supervisorActor) stopped(c *child, reason error, silent bool) {
	s.disarm()
	s.plan.waiting = nil
	c.failed = false
	c.gen++ // what it did before it stopped no longer matters
	if !silent {
		s.emit(EventChildStopped, c, reason)
	}
	if c.spec.Restart == Temporary {
		s.remove(c)
	} else if c.status == Running {
		c.status = Restarting
	}
	s.advance()
}

func (s *supervisorActor) onStopTimeout(seq int) {
	p := s.plan
	if seq != s.timerSeq || p == nil || p.waiting == nil || p.waiting.kind != stepStop {
		return
	}
	c := p.waiting.c
	p.waiting = nil
	s.timer, s.timerStop = nil, nil
	s.emit(EventShutdownError, c, ExitKilled)
	s.kill(c)
	s.advance()
}

// kill forces c off, the closest Go has to OTP's exit(Pid, kill): Go
// cannot interrupt a Receive that does not return, so the process is fenced
// (whatever it still sends through its actor.Context is dropped), its
// Context is cancelled, it is unregistered (messages to it go to dead
// letters) and told to stop, and then abandoned. A supervisor child is told
// to kill its own children first. The name of a killed process is never
// reused: its registry entry would be removed again whenever it finally
// stops. So its replacement may run while it is still in a handler, but
// nothing the old one does through its context reaches anyone.
func (s *supervisorActor) kill(c *child) {
	pid := c.pid
	c.insts.get(pid).kill()
	reg := s.ctx.ActorSystem().ProcessRegistry
	if proc, ok := reg.Get(pid); ok && c.spec.Kind == KindSupervisor && !c.failed {
		proc.SendUserMessage(pid, &killRequest{})
	} else {
		s.ctx.Stop(pid)
	}
	reg.Remove(pid)
	s.setPID(c, nil)
	c.reason, c.failed = nil, false
	c.killed++
	c.gen++
	s.emit(EventChildStopped, c, ExitKilled)
	if c.spec.Restart == Temporary {
		s.remove(c)
	} else if c.status == Running {
		c.status = Restarting
	}
}

// killAll is a killed supervisor child's end: every child is killed at once,
// last started first, and the supervisor stops.
func (s *supervisorActor) killAll() {
	s.phase = terminated
	s.plan = nil
	s.disarm()
	s.failQueued(ErrStopped)
	for i := len(s.children) - 1; i >= 0; i-- {
		if i < len(s.children) && s.children[i].pid != nil {
			pid := s.children[i].pid
			s.kill(s.children[i])
			// Its Terminated would never come: this supervisor is
			// unregistered, so it would go to dead letters.
			s.release(pid)
		}
	}
	// ctx.Stop would reach dead letters too, and protoactor would never
	// finish stopping this supervisor, nor its parent.
	s.proc.Stop(s.ctx.Self())
}

func (s *supervisorActor) startFailed(c *child, reason error) {
	p := s.plan
	s.plan = nil
	if p != nil && p.onStartFail != nil {
		p.onStartFail(c, reason)
	}
	if s.plan == nil {
		s.drain()
	}
}

func (s *supervisorActor) arm(d time.Duration) {
	s.disarm()
	s.timerSeq++
	seq, t, stop := s.timerSeq, s.cfg.clock.NewTimer(d), make(chan struct{})
	s.timer, s.timerStop = t, stop
	self, root := s.ctx.Self(), s.ctx.ActorSystem().Root
	go func() {
		select {
		case <-t.C():
			root.Send(self, &stopTimeout{seq: seq})
		case <-stop:
		}
	}()
}

func (s *supervisorActor) disarm() {
	if s.timer == nil {
		return
	}
	s.timer.Stop()
	close(s.timerStop)
	s.timer, s.timerStop = nil, nil
}

func (s *supervisorActor) byPID(pid *actor.PID) *child {
	if pid == nil {
		return nil
	}
	if s.pids != nil {
		return s.pids[pid]
	}
	for _, c := range s.children {
		if c.pid == pid {
			return c
		}
	}
	return nil
}

func (s *supervisorActor) byID(id string) *child {
	if s.ids != nil {
		return s.ids[id]
	}
	for _, c := range s.children {
		if c.spec.ID == id {
			return c
		}
	}
	return nil
}

func (s *supervisorActor) emit(t EventType, c *child, reason error) {
	hook := s.cfg.hook
	if hook == nil {
		return
	}
	now := s.cfg.clock.Now()
	ev := Event{
		Type:       t,
		Time:       now,
		Supervisor: s.cfg.id,
		Strategy:   s.cfg.strategy,
		Child:      c.spec.ID,
		ChildKind:  c.spec.Kind,
		Restart:    c.spec.Restart,
		Reason:     reason,
		Restarts:   s.win.count(now),
	}
	if c.pid != nil {
		ev.PID = c.pid.Id
	}
	hook(ev)
}

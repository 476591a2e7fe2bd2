package supervisor

import (
	"fmt"

	"github.com/asynkron/protoactor-go/actor"
)

// The actor side of the handle's requests. Read-only ones are answered at
// once; the others wait for the plan in progress, as OTP's calls wait for the
// supervisor's current callback.

func (s *supervisorActor) respond(to *actor.PID, value any, err error) {
	if to == nil {
		return
	}
	s.ctx.Send(to, &reply{value: value, err: err})
}

func opName(m any) string {
	switch m.(type) {
	case *startChildRequest:
		return "start_child"
	case *terminateChildRequest:
		return "terminate_child"
	case *deleteChildRequest:
		return "delete_child"
	case *restartChildRequest:
		return "restart_child"
	case *whichChildrenRequest:
		return "which_children"
	case *countChildrenRequest:
		return "count_children"
	case *levelRequest:
		return "tree"
	case *childPIDRequest:
		return "sub"
	case *childSpecRequest:
		return "get_childspec"
	}
	return "call"
}

func (s *supervisorActor) answer(m any, to *actor.PID) {
	switch m := m.(type) {
	case *whichChildrenRequest:
		s.respond(to, s.which(), nil)
	case *countChildrenRequest:
		var n Counts
		for _, c := range s.children {
			n.Specs++
			if c.pid != nil && !c.failed {
				n.Active++
			}
			if c.spec.Kind == KindSupervisor {
				n.Supervisors++
			} else {
				n.Workers++
			}
		}
		s.respond(to, n, nil)
	case *levelRequest:
		s.respond(to, &level{id: s.cfg.id, strategy: s.cfg.strategy, children: s.which()}, nil)
	case *childSpecRequest:
		if c := s.byID(m.id); c != nil {
			s.respond(to, c.spec, nil)
		} else {
			s.respond(to, nil, opError("get_childspec", ErrNotFound, "supervisor %q has no child %q", s.cfg.id, m.id))
		}
	case *childPIDRequest:
		c := s.byID(m.id)
		switch {
		case c == nil:
			s.respond(to, nil, opError("sub", ErrNotFound, "supervisor %q has no child %q", s.cfg.id, m.id))
		case c.spec.Kind != KindSupervisor:
			s.respond(to, nil, opError("sub", ErrNotSupervisor, "child %q of %q is a worker", m.id, s.cfg.id))
		case c.pid == nil || c.status != Running:
			s.respond(to, nil, stoppedError("sub", fmt.Errorf("%w: child %q of %q is %s", ErrStopped, m.id, s.cfg.id, c.status)))
		default:
			s.respond(to, c.pid, nil)
		}
	}
}

func (s *supervisorActor) which() []ChildInfo {
	out := make([]ChildInfo, len(s.children))
	for i, c := range s.children {
		out[i] = ChildInfo{
			ID:       c.spec.ID,
			PID:      c.pid,
			Kind:     c.spec.Kind,
			Restart:  c.spec.Restart,
			Status:   c.status,
			Restarts: c.restarts,
		}
	}
	return out
}

// handle serves a request that changes the children; no plan is running.
func (s *supervisorActor) handle(r *request) {
	switch m := r.msg.(type) {
	case *syncRequest:
		s.respond(r.from, nil, nil)
	case *startChildRequest:
		s.startChild(r.from, m.spec)
	case *terminateChildRequest:
		if c := s.lookup(r, "terminate_child", m.id, false); c != nil {
			s.run(&plan{steps: s.stopSteps(c), done: func() {
				s.retireStopped(c)
				s.respond(r.from, nil, nil)
			}})
		}
	case *deleteChildRequest:
		if c := s.lookup(r, "delete_child", m.id, true); c != nil {
			s.remove(c)
			s.respond(r.from, nil, nil)
		}
	case *restartChildRequest:
		if c := s.lookup(r, "restart_child", m.id, true); c != nil {
			s.startOne(r.from, c, "restart_child", false)
		}
	}
}

// lookup finds child id for op. If there is none, or op needs a stopped
// child and its failed restart waits to be tried again, or it runs (its
// pid, or an exit of it not yet handled: OTP still holds its pid then), it
// answers r with ErrNotFound, ErrRestarting or ErrRunning and returns nil.
func (s *supervisorActor) lookup(r *request, op, id string, stopped bool) *child {
	c := s.byID(id)
	if c == nil {
		s.respond(r.from, nil, opError(op, ErrNotFound, "supervisor %q has no child %q", s.cfg.id, id))
		return nil
	}
	if !stopped {
		return c
	}
	exit, retry := s.queued(c)
	switch {
	case retry: // a failed start may leave its process (suspended) until the retry
		s.respond(r.from, nil, opError(op, ErrRestarting, "child %q of %q is being restarted; terminate it first", id, s.cfg.id))
	case c.pid != nil || exit:
		s.respond(r.from, nil, opError(op, ErrRunning, "child %q of %q is running; terminate it first", id, s.cfg.id))
	default:
		return c
	}
	return nil
}

// retireStopped settles a child stopped by TerminateChild: its spec is kept
// (unless temporary, already forgotten) and it stays down, even if a failed
// restart of it was waiting to be tried again.
func (s *supervisorActor) retireStopped(c *child) {
	c.gen++
	if !c.removed {
		c.status = Stopped
	}
}

func (s *supervisorActor) startChild(from *actor.PID, spec Spec) {
	if err := s.cfg.validate("start_child", spec); err != nil {
		s.respond(from, nil, err)
		return
	}
	if c := s.byID(spec.ID); c != nil {
		// OTP: already_started while the record holds a pid, even a dead one
		// whose exit is not yet handled; a failed restart waiting to be tried
		// again holds {restarting, Pid}, which is already_present.
		_, retry := s.queued(c)
		switch {
		case retry:
			s.respond(from, nil, opError("start_child", ErrAlreadyPresent, "supervisor %q already has a spec %q, being restarted", s.cfg.id, spec.ID))
		case c.pid != nil:
			s.respond(from, c.pid, opError("start_child", ErrAlreadyStarted, "supervisor %q already runs child %q", s.cfg.id, spec.ID))
		default:
			s.respond(from, nil, opError("start_child", ErrAlreadyPresent, "supervisor %q already has a spec %q; use RestartChild", s.cfg.id, spec.ID))
		}
		return
	}
	s.startOne(from, s.add(spec), "start_child", true)
}

// startOne starts c and answers from with its PID. If the start fails, a new
// child is forgotten and a kept spec stays Stopped, as OTP does.
func (s *supervisorActor) startOne(from *actor.PID, c *child, op string, forgetOnFailure bool) {
	p := &plan{steps: []step{{kind: stepStart, c: c}}}
	p.onStartFail = func(c *child, reason error) {
		err := opError(op, fmt.Errorf("%w: %w", ErrStartFailed, reason), "child %q of %q failed to start", c.spec.ID, s.cfg.id)
		s.run(&plan{steps: s.stopSteps(c), done: func() {
			if forgetOnFailure {
				s.remove(c)
			} else {
				c.status = Stopped
			}
			s.respond(from, nil, err)
		}})
	}
	p.done = func() { s.respond(from, c.pid, nil) }
	s.run(p)
}

// Package supervisor gives protoactor-go actors Erlang/OTP supervision: the
// same restarts, in the same order, with the same limits, as an OTP
// supervisor would apply to the same failures.
//
// A supervisor is an actor that owns an ordered list of child specs. A Spec
// says how to start a child (a producer that returns a fresh actor every
// time, so a restart means fresh state), when to restart it (Permanent:
// always; Transient: only after an abnormal exit; Temporary: never, and its
// spec is then forgotten) and how to stop it (a graceful-stop timeout, 5 s
// for workers and Infinity for supervisors by default, or BrutalKill).
//
// Children start in spec order, each after the previous has handled
// *actor.Started, and stop in reverse order. When a child must be restarted,
// the strategy decides what else happens: OneForOne restarts just that child;
// OneForAll stops the others (last started first) and starts them all again;
// RestForOne does the same for the children started after it.
//
// A child exits abnormally when it panics (the reason is the panic value) or
// calls Exit with a reason other than ExitNormal or ExitShutdown. A panicking
// child is restarted in place: it sees *actor.Restarting, then a fresh
// instance sees *actor.Started under the same PID, so it can fail its pending
// callers and learn that it restarted. A child that exits is started again
// under the same name.
//
// Restarts are limited per supervisor, not per child: more than intensity
// restarts within period (WithIntensity; OTP's default is 1 in 5 s) and the
// supervisor gives up. It stops all its children in reverse order and ends
// with an *IntensityError, which its parent handles like any child exit: it
// counts against the parent's own window, and a Permanent sub-supervisor is
// started again, fresh, from its specs. A root supervisor never hands its
// failure to protoactor's guardian (which would crash the process): it stops
// cleanly, closes Done and reports the reason from Err.
//
//	sup, err := supervisor.Start(ctx, system, "root", supervisor.OneForOne, []supervisor.Spec{
//		{ID: "registry", Start: newRegistry},
//		supervisor.Sub("clients", supervisor.OneForOne, nil),
//	}, supervisor.WithIntensity(3, 5*time.Second))
//	clients, err := sup.Sub(ctx, "clients")
//	pid, err := clients.StartChild(ctx, supervisor.Spec{ID: "worker:1", Start: newWorker, Restart: supervisor.Transient})
//
// The handle's methods (StartChild, TerminateChild, DeleteChild,
// RestartChild, WhichChildren, CountChildren, Tree) may be called from any
// goroutine; they message the supervisor actor and wait for its answer or for
// ctx. All supervisor state lives on the supervisor actor's goroutine: the
// actor implements protoactor's SupervisorStrategy itself, stops and starts
// children one at a time by message, and arms shutdown timers on an
// injectable clock that send it a message, so its Receive never blocks.
//
// Go cannot kill a goroutine. A child still handling a message when its
// shutdown time is up is forced off: unregistered, so its messages go to dead
// letters, and abandoned; it is started again under a new name ("id#1") since
// its old name is released only when it finally returns. Its supervisor's own
// final stop waits for it.
//
// Supervisors report what they do as Events to the EventHook given with
// WithEventHook (like suture's EventHook); an application bridges them to its
// own logging or metrics. Failing calls return an *Error whose chain holds
// one of the Err sentinels. The package depends on nothing but the standard
// library and protoactor-go.
package supervisor

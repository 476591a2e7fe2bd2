// Package supervisor gives protoactor-go actors Erlang/OTP supervision: the
// same restarts, in the same order, with the same limits, as an OTP
// supervisor would apply to the same failures. It depends on nothing but the
// standard library and protoactor-go.
//
// A supervisor is an actor that owns an ordered list of child specs. A Spec
// says how to start a child (a producer that returns a fresh actor every
// time, so a restart means fresh state), when to restart it (Permanent:
// always; Transient: only after an abnormal exit; Temporary: never, and its
// spec is then forgotten) and how to stop it (a graceful-stop timeout, 5 s
// for workers and Infinity for supervisors by default, or BrutalKill).
//
// Children start in spec order, each after the previous has handled
// *actor.Started, and stop in reverse order. A child that panics or calls
// Exit while handling Started has failed to start; one that calls Ignore
// there will not run (OTP's ignore). When a child must be restarted, the
// strategy decides what else happens: OneForOne restarts just that child;
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
// restarts within period (WithIntensity; OTP's default is 1 in 5 s, counted
// in whole seconds as OTP does) and the supervisor gives up. It stops all its
// children in reverse order and ends with an *IntensityError, which its
// parent handles like any child exit: it counts against the parent's own
// window, and a Permanent sub-supervisor is started again, fresh, from its
// specs. A root supervisor never hands its failure to protoactor's guardian
// (which would crash the process): it stops cleanly, closes Done and reports
// the reason from Err. WithAutoShutdown and Spec.Significant end a
// supervisor when significant children finish, as OTP's auto_shutdown.
//
//	sup, err := supervisor.Start(ctx, system, "root", supervisor.OneForOne, []supervisor.Spec{
//		{ID: "registry", Start: newRegistry},
//		supervisor.Sub("clients", supervisor.OneForOne, nil),
//	}, supervisor.WithIntensity(3, 5*time.Second))
//	clients, err := sup.Sub(ctx, "clients")
//	pid, err := clients.StartChild(ctx, supervisor.Spec{ID: "worker:1", Start: newWorker, Restart: supervisor.Transient})
//
// The handle's methods (StartChild, TerminateChild, DeleteChild,
// RestartChild, GetChildSpec, WhichChildren, CountChildren, Tree) may be
// called from any goroutine; they message the supervisor actor and wait for
// its answer or for ctx. All supervisor state lives on the supervisor
// actor's goroutine: the actor implements protoactor's SupervisorStrategy
// itself, stops and starts children one at a time by message, and arms
// shutdown timers on an injectable Clock that send it a message, so its
// Receive never blocks.
//
// Go cannot kill a goroutine. A child killed by its supervisor (BrutalKill,
// or a graceful stop past its timeout) is fenced: everything it still sends
// through its actor.Context is dropped, its Context is cancelled with
// ExitKilled, it is unregistered (its messages go to dead letters) and
// abandoned. Its replacement is started at once under a new name ("id#1"),
// since its old name is released only when it finally returns; a killed
// sub-supervisor kills its own children the same way. Its supervisor's own
// final stop waits for it.
//
// Supervisors report what they do as Events (OTP's progress and error
// reports: child_started, child_terminated, start_error, shutdown_error...)
// to the EventHook given with WithEventHook, like suture's EventHook; an
// application bridges them to its own logging or metrics. Failing calls
// return an *Error whose chain holds one of the Err sentinels.
//
// # OTP semantics and this package
//
// Every row is tested; the test's comment cites the OTP documentation.
//
//	OTP (supervisor(3), OTP 25)              this package
//	---------------------------------------  ---------------------------------------------
//	one_for_one, one_for_all, rest_for_one   OneForOne, OneForAll, RestForOne: same
//	group restart flushes the EXIT of a      same: the sibling's queued exit is
//	sibling already dead (unlink_flush)      absorbed; a temporary one is forgotten
//	and reports it as shutdown_error,        same reports; an absorbed exit gets no
//	unless its shutdown accepts it:          child_terminated
//	shutdown (graceful), killed
//	(brutal_kill); from a child that is
//	not permanent also shutdown,
//	{shutdown, T} and normal
//	simple_one_for_one                       none: StartChild with distinct IDs instead (a)
//	intensity/period, default 1 in 5 s       WithIntensity, same default; counted per
//	                                         supervisor, whole monotonic seconds,
//	                                         R kept while R >= Now - Period: same
//	giving up: children stopped in reverse   same; the exit reason is an *IntensityError
//	order, exit with shutdown                that Is ExitShutdown (b)
//	permanent, transient, temporary          Permanent, Transient, Temporary: same; a
//	                                         temporary bystander is not restarted
//	normal, shutdown, {shutdown, T} are      ExitNormal, ExitShutdown and errors wrapping
//	normal; {normal, T} is abnormal          either are normal (f)
//	exit(Pid, kill) / brutal_kill            BrutalKill: fenced + Context cancelled, not
//	                                         killed; its replacement may run beside it (c)
//	shutdown timeout, then kill              same, then the BrutalKill contract (c)
//	terminate/2 crashes: DOWN at once,       a panic in Stopping or Stopped: same; the
//	shutdown_error with the crash reason     process is fenced and taken for down (g)
//	shutdown infinity; defaults 5000 for     Infinity; same defaults
//	workers, infinity for supervisors
//	start order; stop in reverse order       same
//	start failure: {error, R}, spec dropped  ErrStartFailed (a panic or Exit in Started)
//	init returns ignore                      Ignore: no error, spec kept unless temporary
//	start_child, terminate_child,            StartChild, TerminateChild, DeleteChild,
//	delete_child, restart_child,             RestartChild, GetChildSpec, CountChildren:
//	get_childspec, count_children            same results and errors
//	count_children: active = alive pids;     same: Active counts neither a panicked
//	start_child of {restarting, Pid}:        child nor one awaiting its retry, and
//	already_present                          StartChild of the latter: ErrAlreadyPresent
//	calls wait for the callback in progress  changes wait; reads (WhichChildren,
//	                                         CountChildren, GetChildSpec, Tree) answer
//	                                         at once, even mid-stop or mid-start (h)
//	which_children: last started first       WhichChildren: start order (d)
//	failed restart: start_error, then        same; each attempt counts and is reported;
//	try_again_restart, a cast to itself:     the retry waits behind the requests and
//	retried behind queued messages, for      exits already queued, whatever the
//	any restart type and reason              restart type and reason; the group's
//	(children after the failed one:          children after the failed one read
//	pid undefined)                           Stopped until the retry starts them
//	auto_shutdown, significant               WithAutoShutdown, Spec.Significant: same;
//	                                         a child whose exit or retry is queued
//	                                         still runs, as before OTP handles EXIT
//	dynamic children lost on restart         same (SubFunc rebuilds them, like init/1)
//	progress and error reports (logger)      Events to an EventHook, with OTP's names
//	child_terminated for a permanent child   same; a transient/temporary child's normal
//	exiting normally, not for transient      exit only gets a Debug child_stopped
//	(do_restart: when the EXIT is handled,   same: an exit that arrives while the
//	after the stop or start in progress)     supervisor waits on one waits its turn
//	links: a supervisor's death kills its    a supervisor stops its children before it
//	children                                 stops (protoactor parents do); a killed one
//	                                         kills them (c)
//	restart of a crashed process: new pid    panic: restarted in place, same PID; Exit:
//	                                         same name, new PID (e)
//
// (a) simple_one_for_one is a spec template plus anonymous children; Go
// callers build specs in code, and IDs make TerminateChild/Tree readable.
// (b) OTP's reason is the atom shutdown; the error keeps the exit that broke
// the limit, for logs. (c) Go cannot stop a goroutine: a killed child's
// handler runs on until it returns, so the closest contract is that nothing
// it sends reaches anyone and its Context tells it to stop. (d) Tree and the
// strategies use start order; reversing WhichChildren would only make it
// disagree with Tree. (e) protoactor restarts a panicked actor in its own
// mailbox, which keeps messages queued behind the crash and callers' PIDs
// valid; an exited actor's mailbox is gone, so it is spawned again. (f) An
// error wrapping ExitNormal ("batch done: %w") is a normal exit, where OTP
// takes {normal, Term} for abnormal and restarts a transient child: in Go,
// wrapping adds context to a reason, it does not make a new one. Exit with
// any other error to be restarted. (g) A child that panics in Stopping
// does so before protoactor stops its own children (actors it spawned
// itself, not supervised ones); where OTP's links would take them down with
// it, the supervisor stops them (found by protoactor's "<parent>/<name>"
// naming, so an actor spawned elsewhere under such a name is stopped too).
// (h) A supervisor waiting on a child's Stopping or Started is not blocked,
// as OTP's is inside its callback, so a read need not wait behind a stop
// that may take its whole shutdown timeout. It sees a child being stopped
// as running and one being started as restarting, each with its actor.
package supervisor

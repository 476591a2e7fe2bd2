// Package actors holds the actors behind tinkex's clients: their state,
// their mailboxes and the supervisor specs that place them in the tree.
// The clients themselves (Runtime, ServiceClient, TrainingClient,
// SamplingClient, RestClient, Future) are package tinkex; each client
// drives its actor through a small owner interface defined here and
// implemented by an unexported adapter in package tinkex, so none of this
// shows in the client's API.
//
// # The tree
//
//	tinkex (one_for_one)
//	├── registry           counters and limiters of every config
//	└── clients (one_for_one)
//	    └── service:<name> (rest_for_one), one per ServiceClient
//	        ├── session            Session: establishes the session, runs its heartbeats
//	        ├── training:<model>   Training: bounds the submit queue of one TrainingClient
//	        └── sampling:<sampler> Sampling: anchors one SamplingClient in the tree
//
// The actors are the crash domains of the OTP tree: a crash or a restart
// of one ends what its instance owned (the session's background loop, a
// training client's queued operations) and leaves the rest running.
// Everything on a hot path runs on the caller's goroutine instead: a
// sample, a poll, a REST read or a create_* call never waits on a mailbox.
//
// # State and its owner
//
//   - Training: nothing. It is the crash domain of one TrainingClient's
//     submit queue, which the owner keeps (see below): when an instance
//     crashes or stops, the operations queued and not yet submitted fail,
//     as a process's state dies with it; a submit already running keeps
//     its place, so the server still sees seq_ids in call order.
//   - Session: the cancel function of the loop the current instance
//     started; the session itself (id, server config) outlives restarts in
//     the ServiceClient.
//   - Sampling: nothing; it reports its PID to the owner when it starts.
//
// Every actor answers the module's own probes and injected crashes
// (package internal/inspect). A restart keeps the owner: the supervisor
// builds a fresh actor around the same owner, so state that must survive a
// crash (seq_ids, the session, pending operations' futures) lives with the
// owner, and the actor tells it when an instance starts, restarts or stops.
//
// # The clients' state (package tinkex), and who may touch it
//
// Runtime:
//   - services and nameSeq: Runtime.mu (NewServiceClient, Close, Stop).
//   - stopped: an atomic, so calls can refuse work after Stop without a lock.
//   - the connection pools: httpclient.Transports (its own mutex, taken
//     only when a Client is built or closed; each Client holds a Lease on
//     its base URL's pools, see httpclient.Transports).
//
// ServiceClient:
//   - the session (id, server config, telemetry batcher, the current
//     sessionRun): sessionState.mu, written by the start-up each Session
//     actor instance runs (sessionRun), read by anyone; ready closes once
//     (then it is a shared closed channel).
//   - the heartbeat: one sessionRun per Session actor instance; its timer
//     and the cancel function of its start-up or heartbeat in flight under
//     sessionRun.mu (stopped by the instance's stop and by Close), its
//     failure streak owned by the one heartbeat in flight. No goroutine
//     waits between heartbeats (clock.AfterFunc), and no context outlives
//     the operation it was made for.
//   - server telemetry: the session's telemetry.Batcher (its queue and timer
//     under its own mutex), reached from the bus through the runtime's one
//     telemetry.Router.
//   - heartbeat counters: atomics, written by the heartbeat in flight only.
//   - children, trainings, samplings: ServiceClient.mu (create_* and Close).
//   - calls running on callers' goroutines: the lifetime (lifetime.go): an
//     atomic count, so Close can wait for them, plus per-shard sets of
//     their cancel functions under each shard's mutex, so Close can cancel
//     them. Every such call goes through bind.
//   - background work (SampleAsync, training submits, heartbeats, the JWT
//     refresh): bgMu and bg, so none starts once Close has begun and Close
//     waits for those that did; bgRun, the JWT refresh's context, under bgMu.
//   - stopped: an atomic set once by Close (under closeMu, which also makes
//     a second Close wait for the first).
//   - inTree: an atomic, set once the subtree is a child of the clients
//     supervisor and cleared by Close; read by the clients supervisor's
//     init (Runtime.serviceSpecs) on its own goroutine, so a restart of
//     that supervisor brings back exactly the services still open.
//   - the config's limiter, poll state and HTTP client: their own packages
//     (limiter.Limiter, httpclient.Client), built once in NewServiceClient
//     and handed to the clients that use them.
//
// TrainingClient:
//   - queue, sending and down: TrainingClient.mu, the one mechanism that
//     orders training operations. A call appends its operation in call
//     order, or starts it at once when no submit is running (sending); one
//     submit runs at a time, and the goroutine that ends it hands the turn
//     to the next queued operation. The queue is not the actor's because a
//     submit in flight outlives the actor instance that saw it called: a
//     restarted actor must not start a second submit beside it, and a
//     stopped actor's mailbox drops the messages still in it, so an
//     operation carried in a message could be lost. down is set while the
//     actor is between a stop and its restart: a call then fails with
//     ErrClientRestarted instead of queueing.
//   - seq: a registry.Counter, durable across actor restarts; only the
//     submit holding the turn takes seq_ids.
//   - gap: an atomic pointer, set once by the submit that lost a seq_id,
//     before it hands the turn on.
//   - stopped, unloaded, pid: atomics, read without the lock by calls and
//     probes.
//
// A TrainingClient is given its HTTP client, poller, bus, the
// ServiceClient's forward_backward byte budget (a limiter.Budget) and the
// config's fingerprint and base URL (for events) when built. It uses its
// ServiceClient only through methods: the lifetime (bind, background work),
// submits, the session id, the server's client config and stop errors.
//
// SamplingClient: no mutable state but seq (a registry.Counter), stopped
// and pid (atomics). It is given its HTTP client, poller, bus, clock,
// limiter and the config's fingerprint and base URL when built; it uses its
// ServiceClient only through methods: the lifetime (bind, background work),
// the session id and stop errors.
//
// Future: done closes once (once); the value and error are written before
// done closes and read after; queue state and request id are atomics.
package actors

package telemetry

// Event names emitted by tinkex. They are part of the public API; see
// docs/telemetry.md for each event's measurements and metadata.
const (
	// HTTPRequest is the span prefix of one logical HTTP request (all its
	// attempts): HTTPRequest+".start", ".stop" and ".exception".
	HTTPRequest      = "tinkex.http.request"
	HTTPRequestStart = HTTPRequest + ".start"
	HTTPRequestStop  = HTTPRequest + ".stop"
	HTTPRequestError = HTTPRequest + ".exception"
	// HTTPRetry is emitted once per retry, before its backoff sleep.
	HTTPRetry = "tinkex.http.retry"
	// CallRetry is emitted once per resend of the second retry layer (a new
	// attempt sequence with a new idempotency key), before its backoff.
	// tinkex.http.retry counts retries inside one attempt sequence.
	CallRetry = "tinkex.call.retry"

	// LimiterBackoffSet is emitted when a config's shared backoff opens (a
	// 429 while none is in force; a later 429 extends its deadline without
	// an event); LimiterBackoffCleared when it has passed.
	LimiterBackoffSet     = "tinkex.limiter.backoff.set"
	LimiterBackoffCleared = "tinkex.limiter.backoff.cleared"

	// QueueStateChange is emitted when a polled future's queue state changes.
	QueueStateChange = "tinkex.queue.state_change"

	// Future polling problems.
	FutureAPIError        = "tinkex.future.api_error"
	FutureConnectionError = "tinkex.future.connection_error"
	FutureRequestFailed   = "tinkex.future.request_failed"
	FutureTimeout         = "tinkex.future.timeout"

	// TrainingPrefix is the span prefix of training operations:
	// TrainingPrefix+"<op>.start|stop|exception", e.g.
	// "tinkex.training.forward_backward.stop".
	TrainingPrefix = "tinkex.training."
	// TrainingSeqGap is emitted when a training submit failed for good and
	// its seq_id is lost: the TrainingClient fails everything after it.
	TrainingSeqGap = "tinkex.training.seq_gap"
	// SamplingSample is the span prefix of one Sample call.
	SamplingSample          = "tinkex.sampling.sample"
	SamplingSampleStart     = SamplingSample + ".start"
	SamplingSampleStop      = SamplingSample + ".stop"
	SamplingSampleException = SamplingSample + ".exception"

	// Supervision events (SupervisorHook emits SupervisorPrefix plus the
	// supervisor.EventType's name).
	SupervisorPrefix            = "tinkex.supervisor."
	SupervisorChildStarted      = "tinkex.supervisor.child_started"
	SupervisorChildRestarted    = "tinkex.supervisor.child_restarted"
	SupervisorChildStopped      = "tinkex.supervisor.child_stopped"
	SupervisorIntensityExceeded = "tinkex.supervisor.intensity_exceeded"
	SupervisorChildTerminated   = "tinkex.supervisor.child_terminated"
	SupervisorStartError        = "tinkex.supervisor.start_error"
	SupervisorShutdownError     = "tinkex.supervisor.shutdown_error"

	// HandlerFailed is emitted after a handler panicked and was detached.
	HandlerFailed = "tinkex.telemetry.handler_failed"
)

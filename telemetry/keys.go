package telemetry

// Metadata and measurement keys shared by every emitter, so handlers (the
// logger, the Prometheus collector, users' own) can rely on them. Values are
// plain Go values: strings, ints, float64s, bools.
const (
	// Metadata.
	KeyConfig      = "config"       // config fingerprint (types.ConfigFingerprint), never the key
	KeyBaseURL     = "base_url"     // normalized base URL (no credentials)
	KeyPool        = "pool"         // HTTP pool kind: session, training, sampling, futures, telemetry
	KeyMethod      = "method"       // HTTP method
	KeyPath        = "path"         // URL path, e.g. /api/v1/asample
	KeyStatus      = "status"       // HTTP status (int), 0 when no response
	KeyKind        = "kind"         // error kind (types.Kind.String()), on exceptions
	KeyCategory    = "category"     // server failure category (user, server, unknown), on future errors
	KeyError       = "error"        // error message (never contains a key)
	KeyOp          = "op"           // operation, e.g. forward_backward, sample
	KeySessionID   = "session_id"   // Tinker session id
	KeyModelID     = "model_id"     // training model id
	KeySamplerID   = "sampler_id"   // sampling session id
	KeyRequestID   = "request_id"   // future / request id
	KeySeqID       = "seq_id"       // seq_id of a training or sampling request (int64)
	KeyQueueState  = "queue_state"  // active, paused_capacity, paused_rate_limit, unknown
	KeyReason      = "reason"       // queue-state reason, exit reason, failure reason
	KeySupervisor  = "supervisor"   // supervisor id (its name in the tree)
	KeyChild       = "child"        // child id
	KeyChildKind   = "child_kind"   // worker or supervisor
	KeyRestartType = "restart_type" // permanent, transient, temporary
	KeyStrategy    = "strategy"     // one_for_one, one_for_all, rest_for_one
	KeyPID         = "pid"          // actor PID id (for logs only; never a metric label)

	// Measurements.
	MeasureDuration    = "duration"     // seconds
	MeasureSystemTime  = "system_time"  // Unix seconds
	MeasureRetryCount  = "retry_count"  // retries taken by a logical request
	MeasureAttempt     = "attempt"      // 1-based attempt number that failed, on http.retry
	MeasureDelay       = "delay"        // seconds slept before the next attempt / backoff length
	MeasureBytes       = "bytes"        // request or response size
	MeasureRestarts    = "restarts"     // restarts within the current intensity window
	MeasureBackoffLeft = "backoff_left" // seconds of backoff remaining
)

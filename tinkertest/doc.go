// Package tinkertest is a fake Tinker service for tests, in the style of
// net/http/httptest: NewServer starts it on a local port, URL() is the base
// URL to give a client, Close stops it. cmd/tinkerfake runs it alone.
//
// It speaks the protocol of the Python SDK 0.25 (and the ≤0.24 JSON forms of
// forward/backward and of sample/forward_backward results), and it is strict
// where a lenient fake would hide client bugs:
//
//   - Auth: X-API-Key must hold a key starting "tml-" or "eyJ" (401
//     otherwise); WithKeys restricts the set; WithJWT turns on the JWT
//     exchange (auth/token) and then requires the JWT everywhere but
//     client/config and auth/token.
//   - Bodies: JSON endpoints need Content-Type application/json (415), and
//     reject with 400 unknown fields, missing fields, nulls, wrong JSON
//     types and wrong "type" literals. Every field the SDK always sends
//     (default-valued ones included) is required. forward_backward takes
//     the protobuf ForwardBackwardRequest (optionally Content-Encoding:
//     zstd), decoded with an independent codec that rejects unknown field
//     numbers, wrong wire types, dtypes other than FLOAT32/INT64 and tensors
//     without a shape (the SDK always sends one; so must the legacy JSON).
//   - Errors are {"detail": "<message>"} with the status: 400 bad request,
//     401 auth, 404 unknown route/model/sampler/session/future (also for
//     another key's), 405 wrong method (with Allow), 409 save_weights name
//     taken without overwrite or a seq_id reused with another body, 410
//     expired future, 413, 415, 429 rate limit.
//     Semantic errors found while doing the work (wrong loss inputs, a
//     prompt too long) fail the future instead: {"error","category":"user"}.
//   - Training requests of a model run one at a time in seq_id order: op 0
//     is the model's creation (create_model, or load_weights with session
//     addressing), the TrainingClient's requests start at 1. A seq_id ahead
//     of the next expected one is accepted and held until the gap fills
//     (parallel forward/backward chunks arrive with chunk 1 last). A seq_id
//     seen before answers the same request id again and does no work, if
//     its body is the same (JSON compared canonically); with a different
//     body it is a 409 ("already used by a different request"). A
//     submit the server reads and refuses (a 409 for a checkpoint name
//     taken, an injected final 4xx) spends its seq_id with a failed
//     future, so later seq_ids do not wait for it; a bare empty-body
//     status (a proxy's) does not.
//   - Sampling seq ids are recorded per sampler (Sampler(id).SeqIDs); a
//     resubmitted (sampler, seq_id) whose future is still held answers the
//     same request id.
//
// IDs have production forms: sessions are UUIDs, models
// "<session>:train:<n>", samplers "<session>:sample:<n>", checkpoints
// "tinker://<model_id>/weights/<name>" and
// "tinker://<model_id>/sampler_weights/<name>", request ids
// "<model_id>:<seq_id>" (op 0 is the creation), "<sampler_id>:<seq_id>" and
// "<model_id>:unload".
//
// Futures: submits answer 200 {"request_id"}. retrieve_future long-polls
// (WithLongPollHold, default 1 s) and answers try_again with queue_state
// "active" while the work is not done, then the result: protobuf when the
// poll's Accept names application/x-protobuf and the result is a sample or
// forward/backward output, JSON otherwise. With WithCompleteMetadata a poll
// with allow_metadata_only=true first gets complete_metadata. Work completes
// at once by default; WithServiceTime/SetServiceTime add a per-endpoint
// delay and PauseProcessing/ResumeProcessing hold all work. Finished futures
// are forgotten after WithFutureTTL (then 410).
//
// The fake model is deterministic: ExpectedSample, ExpectedForwardBackward
// and ExpectedOptimStep give exactly what the server computes, and
// ExpectedSampleResponse / ExpectedForwardBackwardOutput give it as the
// types a client decodes, so client tests assert real results without
// re-implementing the model.
//
// Faults (Inject, ClearFaults, RemoveFault, FaultHits) are scripted per key
// and per endpoint: statuses with Retry-After / retry-after-ms /
// x-should-retry, bare 400s, queue states, failed futures, latency,
// connection resets, dropped, truncated and malformed responses.
// WithRateLimit adds a token bucket per key answering 429 with Retry-After.
//
// Every request is logged in arrival order (Requests, Count, CountEndpoint;
// Match selects by endpoint, key, model, sampler, seq_id, status, request
// id). The key itself is never stored: the log holds types.KeyFingerprint.
// The log is capped (WithLogLimit, default 100,000, oldest dropped and
// counted by DroppedRequests).
//
// REST: every list is paged with limit/offset (WithMaxPageSize caps a
// page), query parameters a route does not take are a 400, and
// access_scope=accessible also shows others' runs with a public checkpoint.
// Checkpoint archives are served by a second local server, the archive host
// (ArchiveURL, another origin, like the signed-URL storage of the real
// service): the archive endpoint answers a signed, expiring URL on it (or a
// 302 to it, ArchiveOptions.Redirect); the host serves deterministic
// content (ArchiveBytes) in chunks, optionally slow or broken
// (ArchiveOptions), honours single byte ranges, and records every request
// with whether it carried an API key (ArchiveRequests).
//
// Sessions, Heartbeats and TelemetryBatches show what the client's session
// machinery sent.
package tinkertest

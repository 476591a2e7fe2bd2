// Package httpclient is tinkex's one HTTP layer. Every caller — session,
// training submits, sampling, future polling, REST reads and server
// telemetry — sends its requests through Client.Do with its own Policy row
// of the retry truth table in spec/BEHAVIOR.md:
//
//   - x-should-retry: true/false overrides the status;
//   - 408, 409, 429, 5xx and transport failures are retried by
//     DefaultRetryPolicy, with Retry-After honoured (retry-after-ms, then
//     retry-after in seconds or as an HTTP date; a value in (0, 60] s is used
//     exactly) and otherwise min(0.5 s·2^k, 10 s) shortened by up to 25 %
//     jitter (DefaultBackoff);
//   - sampling submits use NoAutoRetryPolicy: nothing is retried unless the
//     server says x-should-retry: true; a 429 is returned to the sampler,
//     which owns the shared backoff;
//   - a bare 400 (empty body: a proxy's rejection) is not retried by the
//     HTTP layer; once it gives up, the pool turns it into a connection
//     error (ErrProxyRejected, KindConnection), closes its idle connections
//     so the next request dials a fresh one, and spends one unit of its
//     budget of ProxyRejectionBudget (16), which each 2xx on the pool
//     refills by one; with the budget spent it is an ordinary 400. A call
//     with Policy.NoProxyRejection (future polls, which have a bare-400
//     rule of their own) keeps it a 400 at once;
//   - a 402 starts the billing pause: retry every 5 s while inside the pause
//     window (1 h by default), then fail;
//   - other 4xx, and error bodies with category "user", are user errors and
//     are never retried;
//   - a 3xx is never followed, by tinkex's clients or by a user's
//     (WithHTTPClient is used through a copy that refuses redirects): it is a
//     KindUser error naming the status and the redacted Location, so the key
//     goes to the configured origin only;
//   - transport failures that recur on every attempt (certificate
//     verification, TLS to a plain port, an unparsable URL, a header
//     net/http refuses) are KindValidation errors and never retried.
//
// Above the HTTP layer sits the second layer of spec/BEHAVIOR.md's "Retry
// layers per call" table: a Request names its row with Call, and the table
// (LayersOf, in layers.go, the one place it is written) gives the row's
// HTTP-layer retries and whether, once they are spent on a retryable
// failure, the whole call is sent again (SecondLayerRetryable,
// SecondLayerBackoff, SecondLayerBudget).
//
// X-API-Key carries the client's credential: the key, or what SetCredential
// or SetExpiringCredential installed (a JWT). An expiring credential past
// its renewal time is renewed by the CredentialRenewer before an attempt
// goes out; while it is fresh, the check is one atomic load and one clock
// read.
//
// The idempotency key is generated once per attempt sequence and reused by
// all of its attempts; x-stainless-retry-count counts them. A second-layer
// resend takes a new key and counts from 0 again. Context cancellation ends
// any attempt or wait at once with a KindCanceled *types.Error.
//
// Each Do call emits one telemetry span (tinkex.http.request.start, .stop or
// .exception, with retry_count), one tinkex.http.retry event per HTTP-layer
// retry and one tinkex.call.retry event per second-layer resend.
// Requests of different pool kinds travel on separate connection pools, so
// a sampling burst cannot starve heartbeats or polls.
//
// Errors are *types.Error values whose kind comes from one classifier
// (Classify) and whose text names the operation, method, path, status and
// attempts — never the API key: server text (error bodies, request ids) is
// scrubbed with Client.Scrub (types.Redact) before it is cut or wrapped.
// Response bodies are read into a buffer that grows as bytes arrive, never
// to a declared Content-Length up front.
package httpclient

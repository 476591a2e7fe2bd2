// Package limiter is the flow control of one Tinker config (one normalized
// base URL and API key): the shared 429 backoff, dispatch slots and a byte
// budget, following the Python SDK (reference §4.4–4.5) with its known
// weaknesses fixed.
//
// The hot path never touches a mailbox. A sampler holding a *Limiter does:
//
//	p, err := lim.Acquire(ctx, estimatedBytes) // waits out any backoff, takes a slot and bytes
//	resp, err := post(...)
//	if rateLimited(err) {
//		p, err = lim.BackOff(ctx, p, delay) // report, release while sleeping, re-acquire
//	}
//	p.Release()
//
// With nothing going on, Wait is a single atomic load and Acquire a few
// atomics, one channel send and one small allocation (the Permit); no lock
// is shared by all callers and no goroutine but the caller ever blocks.
//
// The backoff deadline is an atomic monotonic instant that only moves
// forward: ReportRateLimited extends it with a compare-and-swap and a shorter
// report never shortens it; a success clears nothing. From the start of a
// backoff until the throttle window (10 s) after it ends the limiter is
// throttled: each dispatch also needs one of 10 throttled slots and its byte
// cost is multiplied by 20. The byte budget (10 MiB) lets a caller through
// whenever the remaining budget is not negative, so one request larger than
// the whole budget still passes on its own.
//
// A Budget is that byte budget on its own, without slots, backoff or
// telemetry: a ServiceClient bounds the complete_metadata results it holds
// and the forward_backward requests it encodes with one each.
//
// The limiter actor (see Producer), spawned by the registry once per config,
// turns 429 reports into exactly one tinkex.limiter.backoff.set and one
// tinkex.limiter.backoff.cleared event per burst and answers StatsRequest.
// The limiter works without it; the actor adds only telemetry and probing.
//
// A fleet of processes sharing a config (package cluster) uses four hooks
// (fleet.go): SetCeiling lowers the slots to the fleet's grant by keeping
// released slots, OnReport hears of local 429 extensions,
// ApplyFleetBackoff extends the deadline from the fleet without reporting
// back, and LocalBackoffRemaining tells the backoff of this process's own
// 429s from the one learnt from the fleet. Without a cluster they cost one
// atomic load each in Release and ReportRateLimited (and one more
// compare-and-swap per 429).
//
// Time comes from an injected clock.Clock, so tests drive backoffs with a
// fake clock instead of sleeping.
package limiter

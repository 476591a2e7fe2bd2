package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/tinkex-go/tinkex/internal/inspect"
	"github.com/tinkex-go/tinkex/telemetry"
	"github.com/tinkex-go/tinkex/tinkertest"
)

// faultResult is what happened to one scheduled fault.
type faultResult struct {
	Name      string        `json:"name"`
	At        time.Duration `json:"-"`
	AtSeconds float64       `json:"at_s"`
	Injected  string        `json:"injected"`
	Observed  string        `json:"observed"`  // "" if it never showed
	Recovered string        `json:"recovered"` // "" if it did not recover
	OK        bool          `json:"ok"`
}

// faultStep is one entry of the schedule: at a fraction of the run, inject
// and then wait to observe the fault and the recovery.
type faultStep struct {
	name string
	at   float64
	run  func(ctx context.Context, d *demo, r *faultResult)
}

// schedule is the default fault schedule, all on config A while B keeps
// going.
var schedule = []faultStep{
	{"429 burst on A's sampling", 0.10, rateLimitBurst},
	{"5xx on A's training submit", 0.25, serverErrorOnSubmit},
	{"user error on A's optim_step", 0.40, userError},
	{"panic in A's SamplingClient", 0.55, samplingPanic},
	{"panic burst over service:A's intensity", 0.70, intensityBurst},
}

// stepTimeout bounds each wait for a fault to show or recover. It is
// generous: on a loaded machine a restart or a backoff may take a while, and
// a slow recovery is still a recovery.
const stepTimeout = 30 * time.Second

// runSchedule runs the steps in order, each no earlier than its time. The
// first waits until every client has succeeded once, so no fault lands in
// the start-up (connections, sessions) and B's pace is known.
func (d *demo) runSchedule(ctx context.Context) []faultResult {
	var results []faultResult
	if !d.await(ctx, d.warmedUp) {
		d.say("demo.fault_missing", "", "", "the workload never got going: no fault injected")
		return results
	}
	for i, st := range schedule {
		due := time.Duration(st.at * float64(d.cfg.Duration))
		if wait := due - d.since(); wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return results
			case <-t.C:
			}
		}
		r := faultResult{Name: fmt.Sprintf("%d/%d %s", i+1, len(schedule), st.name), At: d.since()}
		r.AtSeconds = r.At.Seconds()
		d.say("demo.fault", "A", "", "fault "+r.Name+": injecting")
		st.run(ctx, d, &r)
		r.OK = r.Observed != "" && r.Recovered != ""
		switch {
		case r.OK:
			d.say("demo.recovered", "A", "", "fault "+r.Name+": recovered: "+r.Recovered)
		case r.Observed == "":
			d.say("demo.fault_missing", "A", "", "fault "+r.Name+": NOT observed")
		default:
			d.say("demo.not_recovered", "A", "", "fault "+r.Name+": NOT recovered")
		}
		results = append(results, r)
		if ctx.Err() != nil {
			return results
		}
	}
	return results
}

// await waits until cond holds, re-checking on every note and every 50 ms
// (workload counters change without notes), for at most stepTimeout. It
// gives up at once when the workload has finished (quotas used up): a
// recovery can no longer show.
func (d *demo) await(ctx context.Context, cond func() bool) bool {
	deadline := time.NewTimer(stepTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		changed := d.obs.wait()
		if cond() {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-deadline.C:
			return false
		case <-d.workDone:
			return cond()
		case <-changed:
		case <-tick.C:
		}
	}
}

// awaitNote waits for the first note after from that matches.
func (d *demo) awaitNote(ctx context.Context, from time.Duration, match func(note) bool) (note, bool) {
	var found note
	ok := d.await(ctx, func() bool {
		var hit bool
		found, hit = d.obs.find(from, match)
		return hit
	})
	return found, ok
}

func (d *demo) clientA() *client { return d.clients[0] }

// warmedUp reports whether every client has completed a request.
func (d *demo) warmedUp() bool {
	for _, c := range d.clients {
		if !c.training.okAfter(-1) || !c.sampling.okAfter(-1) {
			return false
		}
	}
	return true
}

// rateLimitBurst: five 429s on A's asample. A's limiter backs off (shared
// by all of A's requests), B's does not; once the backoff clears, A samples
// again.
func rateLimitBurst(ctx context.Context, d *demo, r *faultResult) {
	const times, retryAfterMs = 5, 1000
	r.Injected = fmt.Sprintf("%d × HTTP 429 (retry-after-ms %d) on A's /asample", times, retryAfterMs)
	d.inject(tinkertest.Fault{Key: d.cfg.APIKey, Endpoint: tinkertest.EndpointAsample, Status: 429,
		RetryAfterMs: fmt.Sprint(retryAfterMs), Times: times})
	set, ok := d.awaitNote(ctx, r.At, func(n note) bool { return n.Name == telemetry.LimiterBackoffSet && n.Config == "A" })
	if !ok {
		return
	}
	r.Observed = fmt.Sprintf("config A backed off at %.1fs", set.At.Seconds())
	cleared, ok := d.awaitNote(ctx, set.At, func(n note) bool { return n.Name == telemetry.LimiterBackoffCleared && n.Config == "A" })
	if !ok {
		return
	}
	a := d.clientA().sampling
	if !d.await(ctx, func() bool { return a.okAfter(cleared.At) }) {
		return
	}
	r.Recovered = fmt.Sprintf("backoff cleared after %.1fs; A samples again", (cleared.At - set.At).Seconds())
}

// serverErrorOnSubmit: one 503 on A's forward_backward submit. The HTTP
// layer retries it (same seq_id and idempotency key) and the step succeeds.
func serverErrorOnSubmit(ctx context.Context, d *demo, r *faultResult) {
	r.Injected = "1 × HTTP 503 on A's /forward_backward"
	id := d.inject(tinkertest.Fault{Key: d.cfg.APIKey, Endpoint: tinkertest.EndpointForwardBackward, Status: 503,
		RetryAfterMs: "200", Times: 1})
	retry, ok := d.awaitNote(ctx, r.At, func(n note) bool {
		return n.Name == telemetry.HTTPRetry && n.Config == "A" && n.Path == "/api/v1/forward_backward"
	})
	if !ok {
		return
	}
	r.Observed = fmt.Sprintf("HTTP layer retried forward_backward after %d", retry.Status)
	a := d.clientA().training
	if !d.await(ctx, func() bool { return a.okAfter(retry.At) }) {
		return
	}
	r.Recovered = "the retried forward_backward succeeded"
	if d.srv != nil && id > 0 {
		if seq, statuses := d.resubmissions(tinkertest.EndpointForwardBackward, id); len(statuses) > 1 {
			r.Recovered += fmt.Sprintf(" (server log: seq_id %d answered %s)", seq, strings.Join(statuses, " then "))
		}
	}
}

// userError: A's optim_step is refused with a 400 of category user. The
// caller gets an error IsUserError reports, nothing retries it, and the next
// step works.
func userError(ctx context.Context, d *demo, r *faultResult) {
	r.Injected = `1 × HTTP 400 {"category":"user"} on A's /optim_step`
	id := d.inject(tinkertest.Fault{Key: d.cfg.APIKey, Endpoint: tinkertest.EndpointOptimStep, Status: 400,
		Body: `{"detail":"injected by the demo: learning rate out of range","category":"user"}`, Times: 1})
	surfaced, ok := d.awaitNote(ctx, r.At, func(n note) bool {
		return n.Name == "demo.error" && n.Client == "A/training" && n.Op == "optim_step" && n.Kind == "user"
	})
	if !ok {
		return
	}
	if _, retried := d.obs.find(r.At, func(n note) bool {
		return n.Name == telemetry.HTTPRetry && n.Config == "A" && n.Path == "/api/v1/optim_step"
	}); retried {
		r.Observed = "surfaced to the caller, but it was retried"
		return
	}
	r.Observed = "optim_step returned a user error to the caller, not retried"
	if d.srv != nil && id > 0 {
		if seq, statuses := d.resubmissions(tinkertest.EndpointOptimStep, id); len(statuses) > 0 {
			r.Observed += fmt.Sprintf(" (server log: seq_id %d sent %d time(s))", seq, len(statuses))
		}
	}
	a := d.clientA().training
	if !d.await(ctx, func() bool { return a.okAfter(surfaced.At) }) {
		return
	}
	r.Recovered = "the next training step succeeded"
}

// samplingPanic crashes A's SamplingClient actor once; service:A restarts
// it and sampling goes on (samples never pass through the actor).
func samplingPanic(ctx context.Context, d *demo, r *faultResult) {
	sc := d.clientA().sc
	r.Injected = "1 × panic in A's sampling actor"
	inspect.ActorSystem(d.rt).Root.Send(inspect.PID(sc), &inspect.Crash{Reason: "injected by the demo"})
	restarted, ok := d.awaitNote(ctx, r.At, func(n note) bool {
		return n.Name == telemetry.SupervisorChildRestarted && n.Supervisor == "service:A" && strings.HasPrefix(n.Child, "sampling:")
	})
	if !ok {
		return
	}
	r.Observed = "service:A restarted " + restarted.Child
	a := d.clientA().sampling
	if !d.await(ctx, func() bool { return a.okAfter(restarted.At) }) {
		return
	}
	r.Recovered = "A samples after the restart; no sample was lost"
}

// intensityBurst crashes A's sampling actor until service:A's restart
// intensity is exceeded; the clients supervisor then restarts the whole
// service:A subtree as a unit, and A's clients work again.
func intensityBurst(ctx context.Context, d *demo, r *faultResult) {
	sc := d.clientA().sc
	limit := d.intensity + 1
	crashes := 0
	var exceeded note
	for crashes < limit+1 {
		crashes++
		mark := d.since()
		inspect.ActorSystem(d.rt).Root.Send(inspect.PID(sc), &inspect.Crash{Reason: fmt.Sprintf("injected by the demo (burst %d)", crashes)})
		n, ok := d.awaitNote(ctx, mark, func(n note) bool {
			return n.Supervisor == "service:A" && (n.Name == telemetry.SupervisorIntensityExceeded ||
				n.Name == telemetry.SupervisorChildRestarted && strings.HasPrefix(n.Child, "sampling:"))
		})
		if !ok {
			r.Injected = fmt.Sprintf("%d × panic in A's sampling actor", crashes)
			return
		}
		if n.Name == telemetry.SupervisorIntensityExceeded {
			exceeded = n
			break
		}
	}
	r.Injected = fmt.Sprintf("%d × panic in A's sampling actor (service:A allows %d restarts in %s)", crashes, d.intensity, d.period)
	if exceeded.Name == "" {
		return
	}
	r.Injected += fmt.Sprintf("; with earlier ones, %d restarts in the window", exceeded.Restarts)
	sub, ok := d.awaitNote(ctx, exceeded.At, func(n note) bool {
		return n.Name == telemetry.SupervisorChildRestarted && n.Supervisor == "clients" && n.Child == "service:A"
	})
	if !ok {
		return
	}
	r.Observed = "service:A exceeded its intensity; clients restarted the service:A subtree"
	a := d.clientA()
	if !d.await(ctx, func() bool { return a.sampling.okAfter(sub.At) && a.training.okAfter(sub.At) }) {
		return
	}
	r.Recovered = "A trains and samples again after the subtree restart"
	if c := d.obs.counts(); c.ServiceRestarts["B"] == 0 && c.Restarts["B/training"]+c.Restarts["B/sampling"] == 0 {
		r.Recovered += "; B was not restarted"
	}
}

// resubmissions reads the embedded server's log: the seq_id of the request
// fault id hit, and the statuses of every request with that seq_id.
func (d *demo) resubmissions(endpoint string, id int) (int64, []string) {
	reqs := d.srv.Requests(tinkertest.Match{Endpoint: endpoint, Key: d.cfg.APIKey})
	var seq int64
	found := false
	for _, e := range reqs {
		if e.FaultID == id {
			seq, found = e.SeqID, true
			break
		}
	}
	if !found {
		return 0, nil
	}
	var statuses []string
	for _, e := range reqs {
		if e.HasSeqID && e.SeqID == seq {
			statuses = append(statuses, fmt.Sprint(e.Status))
		}
	}
	return seq, statuses
}

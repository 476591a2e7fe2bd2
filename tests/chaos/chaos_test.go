package chaos

import (
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/tinkex-go/tinkex/telemetry"
)

// heapBound is the live heap allowed after a run, once the runtime is
// stopped and collected. A run keeps nothing alive, so the heap returns to
// the test binary's own few MiB; the bound leaves room for the race
// detector and the test framework.
const heapBound = 64 << 20

// figures are what a chaos run reports (docs/reliability.md).
type figures struct {
	Requests          int            `json:"requests"`
	OK                int            `json:"ok"`
	Errors            map[string]int `json:"errors_by_kind"`
	Hung              int            `json:"hung"`
	Mismatches        int            `json:"mismatches"`
	HTTPRequests      int            `json:"http_requests"`
	FaultedRequests   int            `json:"faulted_requests"`
	FaultShare        float64        `json:"fault_share"`
	FaultsByKind      map[string]int `json:"faults_by_kind"`
	HTTPRetries       int            `json:"http_retries"`
	SubmitRetries     int            `json:"training_submit_retries"`
	Resubmits         int            `json:"sampling_resubmits"`
	UserErrors        int            `json:"user_errors"`
	UserRetried       int            `json:"user_errors_retried"`
	SeqGaps           int            `json:"seq_gaps"`
	Crashes           int            `json:"crashes"`
	Restarts          int            `json:"restarts"`
	RestartEvents     int            `json:"restart_events"`
	UnexpectedRestart int            `json:"unexpected_restarts"`
	LeakedGoroutines  int            `json:"leaked_goroutines"`
	HeapAfterBytes    uint64         `json:"heap_after_bytes"`
	PeakRSSBytes      uint64         `json:"peak_rss_bytes"`
	Seconds           float64        `json:"seconds"`
	SlowestOKSample   float64        `json:"slowest_ok_sample_seconds"`
}

func (f figures) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "requests=%d ok=%d hung=%d mismatches=%d errors=%v\n", f.Requests, f.OK, f.Hung, f.Mismatches, f.Errors)
	fmt.Fprintf(&b, "http requests=%d faulted=%d (%.1f%%) by kind=%v\n", f.HTTPRequests, f.FaultedRequests, 100*f.FaultShare, f.FaultsByKind)
	fmt.Fprintf(&b, "http retries=%d training submit retries=%d sampling resubmits=%d user errors=%d (retried %d) seq gaps=%d\n",
		f.HTTPRetries, f.SubmitRetries, f.Resubmits, f.UserErrors, f.UserRetried, f.SeqGaps)
	fmt.Fprintf(&b, "crashes=%d restarts=%d restart events=%d unexpected restarts=%d leaked goroutines=%d\n",
		f.Crashes, f.Restarts, f.RestartEvents, f.UnexpectedRestart, f.LeakedGoroutines)
	fmt.Fprintf(&b, "heap after=%.1f MiB peak RSS=%.1f MiB duration=%.1fs slowest ok sample=%.2fs",
		float64(f.HeapAfterBytes)/(1<<20), float64(f.PeakRSSBytes)/(1<<20), f.Seconds, f.SlowestOKSample)
	return b.String()
}

func (f *figures) add(g figures) {
	f.Requests += g.Requests
	f.OK += g.OK
	f.Hung += g.Hung
	f.Mismatches += g.Mismatches
	f.HTTPRequests += g.HTTPRequests
	f.FaultedRequests += g.FaultedRequests
	f.HTTPRetries += g.HTTPRetries
	f.SubmitRetries += g.SubmitRetries
	f.Resubmits += g.Resubmits
	f.UserErrors += g.UserErrors
	f.UserRetried += g.UserRetried
	f.SeqGaps += g.SeqGaps
	f.Crashes += g.Crashes
	f.Restarts += g.Restarts
	f.RestartEvents += g.RestartEvents
	f.UnexpectedRestart += g.UnexpectedRestart
	f.LeakedGoroutines += g.LeakedGoroutines
	f.HeapAfterBytes = max(f.HeapAfterBytes, g.HeapAfterBytes)
	f.PeakRSSBytes = max(f.PeakRSSBytes, g.PeakRSSBytes)
	f.Seconds += g.Seconds
	f.SlowestOKSample = max(f.SlowestOKSample, g.SlowestOKSample)
	if f.Errors == nil {
		f.Errors, f.FaultsByKind = map[string]int{}, map[string]int{}
	}
	for k, v := range g.Errors {
		f.Errors[k] += v
	}
	for k, v := range g.FaultsByKind {
		f.FaultsByKind[k] += v
	}
	if f.HTTPRequests > 0 {
		f.FaultShare = float64(f.FaultedRequests) / float64(f.HTTPRequests)
	}
}

// TestChaos runs the chaos mix once (1,000 requests; -chaos.full: 10,000),
// or repeatedly for -soak, and checks every figure.
func TestChaos(t *testing.T) {
	if d := soakFor(); d > 0 {
		var total figures
		end := time.Now().Add(d)
		for round := 1; time.Now().Before(end); round++ {
			var f figures
			ok := t.Run("round"+strconv.Itoa(round), func(t *testing.T) {
				f = chaosRun(t, runOptions{requests: requestsPerRun(), seed: *flagSeed + uint64(round)})
			})
			total.add(f)
			if !ok {
				break
			}
		}
		t.Logf("soak totals over %s:\n%s", d, total)
		writeReport(t, "soak", total)
		return
	}
	seed := *flagSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (-chaos.seed=%d chooses the same clients, kinds and crash targets; the interleaving still varies)", seed, seed)
	f := chaosRun(t, runOptions{requests: requestsPerRun(), seed: seed})
	writeReport(t, "run", f)
}

// chaosRun runs the mix once, checks it and returns its figures.
func chaosRun(t *testing.T, o runOptions) figures {
	baseline := runtime.NumGoroutine()
	ignore := goleak.IgnoreCurrent()
	start := time.Now()

	h := newHarness(t, o)
	ops := h.plan()
	h.execute(ops)
	tree, err := h.tree()
	require.NoError(t, err)
	restarts := map[string]int{}
	restartCounts(tree, restarts)
	restartEvents := map[string]int{}
	for _, e := range h.events.all() {
		if e.Name == telemetry.SupervisorChildRestarted {
			id, _ := e.Metadata[telemetry.KeyChild].(string)
			restartEvents[id]++
		}
	}
	httpRetries := h.events.count(telemetry.HTTPRetry)
	// The request log is read once the server has closed, so that no
	// handler (a stall still waiting out its delay) is mid-request.
	h.stop()
	v := h.analyze(ops)

	f := figures{Requests: len(ops), Errors: map[string]int{}, FaultsByKind: v.faultsByKind,
		HTTPRequests: v.considered, FaultedRequests: v.faulted, Mismatches: len(v.mismatches),
		SubmitRetries: v.submitRetries, Resubmits: v.resubmits, UserErrors: v.userErrors,
		UserRetried: len(v.userRetried), SeqGaps: len(v.seqGaps)}
	if v.considered > 0 {
		f.FaultShare = float64(v.faulted) / float64(v.considered)
	}
	for _, op := range ops {
		switch {
		case op.hung:
			f.Hung++
		case op.err == nil:
			f.OK++
			if op.kind == opSample {
				f.SlowestOKSample = max(f.SlowestOKSample, op.duration.Seconds())
			}
		default:
			f.Errors[kindName(op.err)]++
		}
	}
	f.HTTPRetries = httpRetries

	// Restarts: each crashed actor and its rest_for_one siblings, once per
	// crash; nothing else.
	crashes, expected, restartProblems := h.expectations()
	for _, n := range restartEvents {
		f.RestartEvents += n
	}
	for _, n := range crashes {
		f.Crashes += n
	}
	for _, id := range sortedKeys(restarts) {
		f.Restarts += restarts[id]
		if restarts[id] != expected[id] || restartEvents[id] != expected[id] {
			if restarts[id] > expected[id] {
				f.UnexpectedRestart += restarts[id] - expected[id]
			}
			restartProblems = append(restartProblems, fmt.Sprintf("%s: %d crashes call for %d restarts; tree shows %d, events %d",
				id, crashes[id], expected[id], restarts[id], restartEvents[id]))
		}
	}
	pending := v.pendingAtServer
	h = nil
	f.LeakedGoroutines = max(0, settleGoroutines(baseline)-baseline)
	leakErr := goleak.Find(ignore)
	// Two cycles: objects with finalizers (closed connections' buffers)
	// survive the first one.
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	f.HeapAfterBytes = ms.HeapAlloc
	f.PeakRSSBytes = peakRSS()
	f.Seconds = time.Since(start).Seconds()
	t.Logf("chaos run (%d requests):\n%s", len(ops), f)

	assert.Equal(t, f.Requests, f.OK+f.Hung+sum(f.Errors), "every request is counted once")
	assert.Zero(t, f.Hung, "hung requests")
	assert.Zero(t, f.Errors["untyped"], "untyped errors")
	assert.Empty(t, limit(v.mismatches, 30), "requests that did not end as their faults call for")
	assert.Empty(t, v.userRetried, "user errors sent again")
	assert.Positive(t, f.UserErrors, "the mix injects user errors")
	assert.Empty(t, v.seqGaps, "training seq_ids are 1..n per model")
	assert.Zero(t, pending, "training ops the server still waits on")
	assert.Empty(t, restartProblems, "restarts")
	assert.Positive(t, f.Crashes)
	assert.InDelta(t, 0.2, f.FaultShare, 0.08, "faults hit about a fifth of the submits and polls")
	assert.NoError(t, leakErr, "goroutines left after Stop")
	assert.Zero(t, f.LeakedGoroutines, "runtime.NumGoroutine is back to its baseline")
	assert.Less(t, f.HeapAfterBytes, uint64(heapBound), "live heap after the run")
	return f
}

// settleGoroutines waits (bounded) for the goroutine count to come back
// to baseline: connections and timers wind down asynchronously after
// Close. It returns the last count seen.
func settleGoroutines(baseline int) int {
	deadline := time.Now().Add(20 * time.Second)
	n := runtime.NumGoroutine()
	for n > baseline && time.Now().Before(deadline) {
		t := time.NewTimer(10 * time.Millisecond)
		<-t.C
		n = runtime.NumGoroutine()
	}
	return n
}

// peakRSS is VmHWM from /proc/self/status (0 where unavailable).
func peakRSS() uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err == nil {
				return kb << 10
			}
		}
	}
	return 0
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

func limit(s []string, n int) []string {
	if len(s) > n {
		return append(s[:n:n], fmt.Sprintf("… and %d more", len(s)-n))
	}
	return s
}

// writeReport appends f as a JSON line to -chaos.report, if given.
func writeReport(t *testing.T, kind string, f figures) {
	if *flagReport == "" {
		return
	}
	b, err := json.Marshal(map[string]any{"kind": kind, "figures": f, "race": raceEnabled, "time": time.Now().UTC().Format(time.RFC3339)})
	require.NoError(t, err)
	fh, err := os.OpenFile(*flagReport, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	require.NoError(t, err)
	defer fh.Close()
	_, err = fh.Write(append(b, '\n'))
	require.NoError(t, err)
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tinkex-go/tinkex/tinkertest"
)

func noEnv(string) string { return "" }

// runDemo runs the demo's core with args and no environment, and returns
// its summary and what it printed.
func runDemo(t *testing.T, args ...string) (*summary, config, *bytes.Buffer, *bytes.Buffer) {
	t.Helper()
	var stderr bytes.Buffer
	cfg, err := parseConfig(args, noEnv, &stderr)
	require.NoError(t, err)
	cfg.Live = false // stdout is not a terminal, as mainCode would find
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var stdout bytes.Buffer
	s, err := run(ctx, cfg, &stdout, &stderr)
	require.NoError(t, err, stderr.String())
	return s, cfg, &stdout, &stderr
}

// The default run, shortened: every scheduled fault is observed and
// recovered from, every invariant holds, and -json prints exactly one
// object that says so.
func TestDefaultRunSurvivesTheFaultSchedule(t *testing.T) {
	s, cfg, stdout, stderr := runDemo(t, "-duration", "3s", "-json", "-metrics-addr", "127.0.0.1:0")

	require.Len(t, s.Faults, len(schedule), stderr.String())
	for i, f := range s.Faults {
		assert.Contains(t, f.Name, schedule[i].name)
		assert.NotEmpty(t, f.Injected, f.Name)
		assert.NotEmpty(t, f.Observed, "%s was not observed", f.Name)
		assert.NotEmpty(t, f.Recovered, "%s did not recover", f.Name)
		assert.True(t, f.OK, f.Name)
	}
	names := map[string]bool{}
	for _, inv := range s.Invariants {
		names[inv.Name] = true
		assert.True(t, inv.OK, "%s: %s", inv.Name, inv.Detail)
	}
	for _, want := range []string{"every_request_ended", "no_cross_config_delay", "faults_recovered", "tree_running", "no_key_in_output"} {
		assert.True(t, names[want], "invariant %s missing", want)
	}
	assert.True(t, s.OK)

	rows := map[string]clientRow{}
	for _, r := range s.Clients {
		rows[r.Client] = r
	}
	require.Len(t, rows, 4)
	assert.Equal(t, 1, rows["A/training"].Errors["user"], "the user error is surfaced once")
	assert.GreaterOrEqual(t, rows["A/training"].Retries, 1, "the 5xx was retried")
	assert.GreaterOrEqual(t, rows["A/sampling"].RateLimited, 1)
	assert.GreaterOrEqual(t, rows["A/sampling"].Restarts, 2, "one crash, then the subtree restart")
	assert.Equal(t, 100, rows["A/sampling"].PeakInFlight, "100 concurrent sampling requests")
	assert.Equal(t, 100, rows["B/sampling"].PeakInFlight)
	for _, b := range []string{"B/training", "B/sampling"} {
		assert.Zero(t, rows[b].RateLimited, b)
		assert.Zero(t, rows[b].Restarts, b)
		assert.Empty(t, rows[b].Errors, b)
		assert.Positive(t, rows[b].OK, b)
	}
	assert.Equal(t, 1, s.ServiceRestarts["A"])
	assert.Zero(t, s.ServiceRestarts["B"])
	assert.True(t, s.Isolation.Checked)
	assert.NotEmpty(t, s.Isolation.ABackoffs)
	assert.Positive(t, s.Isolation.BCompletedDuringA)

	// stdout is the summary alone, one JSON object; events went to stderr.
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	require.Len(t, lines, 1, stdout.String())
	var decoded map[string]any
	require.NoError(t, json.Unmarshal([]byte(lines[0]), &decoded))
	assert.Equal(t, true, decoded["ok"])
	assert.Equal(t, "fake", decoded["mode"])
	assert.Contains(t, stderr.String(), "tinkex.limiter.backoff.set")
	assert.Contains(t, stderr.String(), "tinkex.supervisor.intensity_exceeded")
	assert.Contains(t, stderr.String(), "Prometheus metrics on http://127.0.0.1:")

	for _, key := range []string{cfg.APIKey, cfg.APIKeyB} {
		assert.NotContains(t, stdout.String(), key)
		assert.NotContains(t, stderr.String(), key)
	}
}

// -faults against a server the demo does not own (here a tinkertest server
// it cannot script, as with cmd/tinkerfake): the HTTP faults come from the
// demo's transport, and the schedule still shows and recovers.
func TestFaultsAgainstAnExternalFake(t *testing.T) {
	srv := tinkertest.NewServer(tinkertest.WithServiceTime(tinkertest.EndpointAsample, 100*time.Millisecond))
	defer srv.Close()
	s, _, stdout, _ := runDemo(t, "-duration", "3s", "-base-url", srv.URL(), "-faults", "-concurrency", "20", "-plain")
	for _, f := range s.Faults {
		assert.True(t, f.OK, "%s: observed %q recovered %q", f.Name, f.Observed, f.Recovered)
	}
	assert.True(t, s.OK, stdout.String())
	assert.Equal(t, "server", s.Mode)
	assert.Zero(t, srv.Count(tinkertest.Match{Endpoint: tinkertest.EndpointAsample, Status: 429}),
		"the 429s were answered by the demo's transport, not the server")
	assert.Contains(t, stdout.String(), "OK: every invariant holds")
}

// On a terminal the view is redrawn in place: every frame moves the cursor
// back over the previous one, fits the terminal, and shows the tree, the
// limiters and the progress; the summary follows the last frame.
func TestLiveViewRedrawsInPlace(t *testing.T) {
	var stderr bytes.Buffer
	cfg, err := parseConfig([]string{"-duration", "2s", "-concurrency", "10"}, noEnv, &stderr)
	require.NoError(t, err)
	require.True(t, cfg.Live)
	const rows = 24
	cfg.Height = func() int { return rows }
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var stdout bytes.Buffer
	s, err := run(ctx, cfg, &stdout, &stderr)
	require.NoError(t, err)
	assert.True(t, s.OK)

	out := stdout.String()
	end := strings.Index(out, "\nSummary (")
	require.Positive(t, end, "the summary follows the frames")
	frames := regexp.MustCompile(`\x1b\[(\d+)A`).Split(out[:end], -1)
	require.GreaterOrEqual(t, len(frames), 2, "redrawn at least once")
	for i, f := range frames {
		lines := strings.Count(f, "\n")
		assert.LessOrEqual(t, lines, rows-1, "frame %d fits the terminal", i)
		assert.Contains(t, f, "Supervision tree")
		assert.Contains(t, f, "Limiters")
		assert.Contains(t, f, "Progress")
	}
	for _, m := range regexp.MustCompile(`\x1b\[(\d+)A`).FindAllStringSubmatch(out[:end], -1) {
		n, err := strconv.Atoi(m[1])
		require.NoError(t, err)
		assert.LessOrEqual(t, n, rows-1, "the cursor never goes above the screen")
	}
	assert.Contains(t, out[end:], "OK: every invariant holds")
	assert.Empty(t, stderr.String(), "nothing else is printed over the view")
}

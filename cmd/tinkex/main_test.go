package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/tinkex-go/tinkex"
	"github.com/tinkex-go/tinkex/tinkertest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const key = "tml-cli-test-key-0123456789"

// world is a fake server with a training run of three checkpoints.
type world struct {
	srv   *tinkertest.Server
	run   string
	paths []string
}

func newWorld(t *testing.T, opts ...tinkertest.Option) *world {
	t.Helper()
	srv := tinkertest.NewServer(append([]tinkertest.Option{tinkertest.WithLongPollHold(10 * time.Millisecond)}, opts...)...)
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rt, err := tinkex.Start(ctx)
	require.NoError(t, err)
	defer func() { require.NoError(t, rt.Stop(ctx)) }()
	svc, err := rt.NewServiceClient(ctx, tinkex.WithAPIKey(key), tinkex.WithBaseURL(srv.URL()), tinkex.WithTelemetry(false))
	require.NoError(t, err)
	tc, err := svc.CreateLoRATrainingClient(ctx, "meta-llama/Llama-3.2-1B", tinkex.WithRank(8))
	require.NoError(t, err)
	w := &world{srv: srv, run: tc.ModelID()}
	for _, name := range []string{"first", "second", "third"} {
		out, err := tc.SaveState(ctx, name).Result(ctx)
		require.NoError(t, err)
		w.paths = append(w.paths, out.Path)
	}
	return w
}

// result is one command's outcome.
type result struct {
	code           int
	stdout, stderr string
}

func (r result) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &m), "stdout: %s", r.stdout)
	return m
}

type runOpts struct {
	env   map[string]string
	tty   bool
	stdin string
	ctx   context.Context
}

// exec runs one command in process against w (nil: no server).
func exec(t *testing.T, w *world, o runOpts, args ...string) result {
	t.Helper()
	env := map[string]string{envAPIKey: key}
	if w != nil {
		env[envBaseURL] = w.srv.URL()
	}
	for k, v := range o.env {
		env[k] = v
	}
	var stdout, stderr bytes.Buffer
	c := &cli{getenv: func(k string) string { return env[k] }, stdin: strings.NewReader(o.stdin), stdout: &stdout, stderr: &stderr,
		tty: o.tty, ttyIn: o.tty}
	ctx := o.ctx
	if ctx == nil {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
	}
	r := result{code: c.run(ctx, args), stdout: stdout.String(), stderr: stderr.String()}
	for _, s := range []string{r.stdout, r.stderr} {
		assert.NotContains(t, s, key, "the key is never printed")
		assert.NotContains(t, s, "goroutine ", "no stack trace")
		assert.NotContains(t, s, "panic", "no panic")
	}
	if r.code != 0 {
		assert.Equal(t, 1, strings.Count(r.stderr, "\n"), "one line on stderr: %q", r.stderr)
	}
	return r
}

func run(t *testing.T, w *world, args ...string) result {
	t.Helper()
	return exec(t, w, runOpts{}, args...)
}

func TestVersion(t *testing.T) {
	r := run(t, nil, "version")
	assert.Equal(t, 0, r.code)
	assert.Contains(t, r.stdout, "tinkex "+tinkex.Version)
	assert.Contains(t, r.stdout, "0.25.0")
	m := run(t, nil, "version", "--json").json(t)
	assert.Equal(t, tinkex.Version, m["version"])
	assert.Equal(t, "0.25.0", m["protocol_version"])
}

func TestHelpEverywhere(t *testing.T) {
	c := &cli{}
	cases := [][]string{{"--help"}, {"help"}, {"version", "--help"}, {"tree", "-h"}}
	for _, g := range c.groups() {
		cases = append(cases, []string{g.name, "--help"})
		for _, cmd := range g.commands {
			cases = append(cases, []string{g.name, cmd.name, "--help"})
		}
	}
	for _, args := range cases {
		r := run(t, nil, args...)
		assert.Equal(t, 0, r.code, "%v", args)
		assert.Contains(t, r.stdout, "Usage: tinkex", "%v", args)
		assert.Empty(t, r.stderr, "%v", args)
	}
	r := run(t, nil, "checkpoint", "download", "--help")
	assert.Contains(t, r.stdout, "-force")
	assert.Contains(t, r.stdout, "-api-key")
}

func TestBadInput(t *testing.T) {
	w := newWorld(t)
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"no command", nil, nil, "no command given"},
		{"unknown command", nil, []string{"checkpoints"}, `unknown command "checkpoints"`},
		{"unknown subcommand", nil, []string{"checkpoint", "show"}, `unknown command "show" (one of list, info, download`},
		{"group without command", nil, []string{"run"}, "run: no command given"},
		{"unknown flag", nil, []string{"checkpoint", "list", "--color"}, "flag provided but not defined: -color"},
		{"missing key", map[string]string{envAPIKey: ""}, []string{"run", "list"}, "no API key: set TINKER_API_KEY or pass --api-key"},
		{"malformed key", map[string]string{envAPIKey: "sk-123"}, []string{"run", "list"}, `must start with "tml-"`},
		{"key with white space", map[string]string{envAPIKey: key + "\n"}, []string{"run", "list"}, "the API key contains white space at byte 27 of 28"},
		{"bad url", map[string]string{envBaseURL: "ftp://x"}, []string{"run", "list"}, "bad server URL"},
		{"wrong path", nil, []string{"checkpoint", "info", "s3://bucket/x"}, "bad checkpoint path: \"s3://bucket/x\" does not start with tinker://"},
		{"wrong kind", nil, []string{"checkpoint", "publish", "tinker://run/state/x"}, "a path looks like tinker://<run-id>/weights/<name>"},
		{"no path", nil, []string{"checkpoint", "info"}, "takes one tinker:// path"},
		{"bad ttl", nil, []string{"checkpoint", "set-ttl", w.paths[0], "soon"}, `bad TTL "soon"`},
		{"delete without a terminal", nil, []string{"checkpoint", "delete", w.paths[0]}, "pass --yes"},
		{"bad scope", nil, []string{"run", "list", "--scope", "all"}, "--scope must be owned or accessible"},
		{"extra argument", nil, []string{"version", "now"}, "version takes no arguments"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := exec(t, w, runOpts{env: tc.env}, tc.args...)
			assert.Equal(t, 2, r.code, "%s", r.stderr)
			assert.Contains(t, r.stderr, tc.want)
			assert.True(t, strings.HasPrefix(r.stderr, "tinkex: "), r.stderr)
		})
	}
	assert.Len(t, w.srv.Requests(tinkertest.Match{Endpoint: tinkertest.EndpointCheckpoint}), 0, "nothing was deleted")
}

func TestCheckpointCommands(t *testing.T) {
	w := newWorld(t)
	r := run(t, w, "checkpoint", "list")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "3 checkpoints\n")
	assert.Regexp(t, `CHECKPOINT ID +TYPE +SIZE +PUBLIC +CREATED +EXPIRES +PATH\n`, r.stdout)
	for _, p := range w.paths {
		assert.Contains(t, r.stdout, p)
	}
	m := run(t, w, "checkpoint", "list", "--json", "--limit", "2").json(t)
	cks := m["checkpoints"].([]any)
	require.Len(t, cks, 2)
	assert.Equal(t, w.paths[0], cks[0].(map[string]any)["tinker_path"])
	m = run(t, w, "--json", "checkpoint", "list", "--run-id", w.run).json(t)
	assert.Equal(t, w.run, m["run_id"])
	assert.Len(t, m["checkpoints"], 3)

	r = run(t, w, "checkpoint", "info", w.paths[1])
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "Checkpoint "+w.paths[1])
	assert.Contains(t, r.stdout, "yes (rank 8)")
	assert.Regexp(t, `Expires +never`, r.stdout)
	m = run(t, w, "checkpoint", "info", w.paths[1], "--json").json(t)
	assert.Equal(t, "weights/second", m["checkpoint"].(map[string]any)["checkpoint_id"])
	assert.Equal(t, w.run, m["training_run"].(map[string]any)["training_run_id"])

	r = run(t, w, "checkpoint", "info", "tinker://"+w.run+"/weights/nope")
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, "checkpoint tinker://"+w.run+"/weights/nope not found")
	assert.Contains(t, r.stderr, "see the run's checkpoints: tinkex checkpoint list --run-id "+w.run)
	r = run(t, w, "checkpoint", "download", "tinker://"+w.run+"/weights/nope", "-o", t.TempDir())
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, "404")
	assert.Contains(t, r.stderr, "tinkex checkpoint list --run-id "+w.run)

	r = run(t, w, "checkpoint", "publish", w.paths[0], w.paths[1])
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, "published "+w.paths[0]+"\npublished "+w.paths[1]+"\n", r.stdout)
	m = run(t, w, "checkpoint", "info", w.paths[0], "--json").json(t)
	assert.Equal(t, true, m["checkpoint"].(map[string]any)["public"])
	m = run(t, w, "checkpoint", "unpublish", "--json", w.paths[0]).json(t)
	assert.Equal(t, []any{w.paths[0]}, m["unpublished"])

	r = run(t, w, "checkpoint", "set-ttl", w.paths[2], "36h")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Regexp(t, `expires: \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ`, r.stdout)
	ttls := w.srv.Requests(tinkertest.Match{Endpoint: tinkertest.EndpointCheckpointTTL})
	assert.Equal(t, map[string]any{"ttl_seconds": float64(36 * 3600)}, ttls[len(ttls)-1].Body)
	m = run(t, w, "checkpoint", "set-ttl", "--clear", w.paths[2], "--json").json(t)
	assert.NotContains(t, m["checkpoint"], "expires_at")
	assert.Equal(t, 0, run(t, w, "checkpoint", "set-ttl", w.paths[2], "7200").code, "whole seconds")

	r = exec(t, w, runOpts{tty: true, stdin: "n\n"}, "checkpoint", "delete", w.paths[2])
	assert.Equal(t, 0, r.code)
	assert.Contains(t, r.stderr, "nothing deleted")
	r = exec(t, w, runOpts{tty: true, stdin: "yes\n"}, "checkpoint", "delete", w.paths[2])
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, "deleted "+w.paths[2]+"\n", r.stdout)
	r = run(t, w, "checkpoint", "delete", "--yes", w.paths[2])
	assert.Equal(t, 1, r.code, "it is gone")
	assert.Contains(t, r.stderr, "404")
	assert.Len(t, run(t, w, "checkpoint", "list", "--json").json(t)["checkpoints"], 2)
}

func TestCheckpointDownload(t *testing.T) {
	const size = 3 << 20
	var interrupt atomic.Pointer[context.CancelFunc]
	w := newWorld(t, tinkertest.WithArchives(tinkertest.ArchiveOptions{Size: size, ChunkSize: 64 << 10,
		BeforeChunk: func(_ string, off int64) {
			if f := interrupt.Load(); off >= 1<<20 && f != nil {
				(*f)()
			}
		}}))
	dir := t.TempDir()
	t.Chdir(dir)
	want := sha256.Sum256(w.srv.ArchiveBytes(w.paths[0]))

	r := run(t, w, "checkpoint", "download", w.paths[0])
	require.Equal(t, 0, r.code, r.stderr)
	name := w.run + "_weights_first.tar"
	name = strings.ReplaceAll(name, ":", "_")
	got, err := os.ReadFile(filepath.Join(dir, name))
	require.NoError(t, err)
	assert.Equal(t, want, sha256.Sum256(got))
	assert.Contains(t, r.stdout, "Downloaded "+w.paths[0])
	assert.Contains(t, r.stdout, "3.0 MiB")
	assert.NotContains(t, r.stdout, "\r", "no progress bar when stdout is not a terminal")

	r = run(t, w, "checkpoint", "download", w.paths[0])
	assert.Equal(t, 2, r.code)
	assert.Contains(t, r.stderr, "exists: pass --force")

	sub := filepath.Join(dir, "out")
	require.NoError(t, os.Mkdir(sub, 0o755))
	r = exec(t, w, runOpts{tty: true}, "checkpoint", "download", w.paths[1], "-o", sub)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "\r\x1b[Kdownloading [", "a progress bar on a terminal")
	assert.Contains(t, r.stdout, "100%")
	m := run(t, w, "checkpoint", "download", w.paths[1], "-o", filepath.Join(sub, "x.tar"), "--json", "--force").json(t)
	assert.Equal(t, float64(size), m["size_bytes"])
	assert.Equal(t, filepath.Join(sub, "x.tar"), m["destination"])

	// --extract unpacks the tar into <run>_<kind>_<name>/ under -o.
	r = run(t, w, "checkpoint", "download", w.paths[0], "--extract", "-o", sub)
	require.Equal(t, 0, r.code, r.stderr)
	unpacked := filepath.Join(sub, strings.TrimSuffix(name, ".tar"))
	assert.Contains(t, r.stdout, unpacked)
	cfg, err := os.ReadFile(filepath.Join(unpacked, "adapter_config.json"))
	require.NoError(t, err)
	assert.Contains(t, string(cfg), `"r": 8`)
	fi, err := os.Stat(filepath.Join(unpacked, "adapter_model.safetensors"))
	require.NoError(t, err)
	assert.Greater(t, fi.Size(), int64(size-4096))
	r = run(t, w, "checkpoint", "download", w.paths[0], "--extract", "-o", sub)
	assert.Equal(t, 2, r.code, "the directory exists")
	m = run(t, w, "checkpoint", "download", w.paths[0], "--extract", "-o", sub, "--force", "--json").json(t)
	assert.EqualValues(t, 2, m["files"])
	leftovers, _ := filepath.Glob(filepath.Join(sub, ".*"))
	assert.Empty(t, leftovers, "no temporary tar or directory left")

	r = run(t, w, "checkpoint", "download", w.paths[1], "-o", filepath.Join(dir, "missing", "x.tar"))
	assert.Equal(t, 2, r.code)
	assert.Contains(t, r.stderr, "does not exist")

	// An interrupted download (Ctrl-C cancels the context) leaves no file.
	clean := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	interrupt.Store(&cancel)
	r = exec(t, w, runOpts{ctx: ctx}, "checkpoint", "download", w.paths[2], "-o", clean)
	interrupt.Store(nil)
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, "interrupted; nothing was written to "+filepath.Join(clean, strings.ReplaceAll(w.run, ":", "_")+"_weights_third.tar"))
	entries, _ := os.ReadDir(clean)
	assert.Empty(t, entries, "no half file, no temporary file")
	for _, a := range w.srv.ArchiveRequests() {
		assert.Empty(t, a.APIKeyFingerprint, "the archive host never sees the key")
	}
}

func TestRunAndSessionCommands(t *testing.T) {
	w := newWorld(t)
	r := run(t, w, "run", "list")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "1 training run\n")
	assert.Contains(t, r.stdout, w.run)
	assert.Contains(t, r.stdout, "rank 8")
	m := run(t, w, "run", "list", "--json", "--scope", "accessible").json(t)
	assert.Equal(t, w.run, m["training_runs"].([]any)[0].(map[string]any)["training_run_id"])
	reqs := w.srv.Requests(tinkertest.Match{Endpoint: tinkertest.EndpointTrainingRuns})
	assert.Equal(t, "access_scope=accessible&limit=20&offset=0", reqs[len(reqs)-1].Query)

	r = run(t, w, "run", "info", w.run)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Regexp(t, `Last checkpoint +`+regexp.QuoteMeta(w.paths[2]), r.stdout)
	m = run(t, w, "run", "info", w.paths[0], "--json").json(t)
	assert.Equal(t, w.run, m["training_run_id"])
	r = run(t, w, "run", "info", "no-such-run")
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, "training run no-such-run not found")

	m = run(t, w, "session", "list", "--json").json(t)
	ids := m["sessions"].([]any)
	require.Len(t, ids, 1, "the seeding session; the CLI's REST commands create none")
	first := ids[0].(string)
	r = run(t, w, "session", "info", first)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, w.run)
	m = run(t, w, "session", "info", first, "--json").json(t)
	assert.Equal(t, []any{w.run}, m["training_run_ids"])
	assert.Equal(t, []any{}, m["sampler_ids"])
	r = run(t, w, "session", "info", "nope")
	assert.Equal(t, 1, r.code)
}

func TestTree(t *testing.T) {
	w := newWorld(t)
	r := run(t, w, "tree")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "Supervision tree (session ")
	assert.Contains(t, r.stdout, "service:tinkex-cli (supervisor, rest_for_one")
	assert.Contains(t, r.stdout, "Limiter of config ")
	assert.Contains(t, r.stdout, "slots       0 of 400 in use")
	m := run(t, w, "tree", "--json").json(t)
	assert.Equal(t, "tinkex", m["tree"].(map[string]any)["id"])
	assert.EqualValues(t, 400, m["limiter"].(map[string]any)["slots"])
}

func TestServerDown(t *testing.T) {
	srv := tinkertest.NewServer()
	url := srv.URL()
	srv.Close()
	r := exec(t, nil, runOpts{env: map[string]string{envBaseURL: url}}, "run", "list", "--max-retries", "0")
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, "connection")
}

// The second retry layer is off by default in the CLI (a down server fails
// fast, TestServerDown) and --retry-budget turns it on; a negative budget is
// a usage error.
func TestRetryBudgetFlag(t *testing.T) {
	r := exec(t, nil, runOpts{}, "run", "list", "--retry-budget", "-1s")
	assert.Equal(t, 2, r.code)
	assert.Contains(t, r.stderr, "--retry-budget must be >= 0")

	w := newWorld(t)
	w.srv.Inject(tinkertest.Fault{Endpoint: tinkertest.EndpointTrainingRuns, Status: 503, Times: 1})
	r = exec(t, w, runOpts{}, "run", "list", "--max-retries", "0", "--retry-budget", "1m")
	assert.Equal(t, 0, r.code, r.stderr)
	assert.Len(t, w.srv.Requests(tinkertest.Match{Endpoint: tinkertest.EndpointTrainingRuns}), 2, "the 503 was sent again")
}

// The REST commands connect as the SDK's REST holder does (reference §1,
// §3.3): client/config and dynamic_config, no create_session, no
// heartbeat, so using the CLI leaves no session in the account. Only tree,
// which shows a session's supervision subtree, creates one.
func TestRESTCommandsCreateNoSession(t *testing.T) {
	w := newWorld(t)
	configs := w.srv.CountEndpoint(tinkertest.EndpointClientConfig)
	for _, args := range [][]string{
		{"run", "list"}, {"run", "info", w.run}, {"checkpoint", "list"}, {"checkpoint", "info", w.paths[0]},
		{"checkpoint", "publish", w.paths[0]}, {"checkpoint", "unpublish", w.paths[0]}, {"session", "list"},
	} {
		r := run(t, w, args...)
		require.Equal(t, 0, r.code, "%v: %s", args, r.stderr)
	}
	assert.Equal(t, configs+7, w.srv.CountEndpoint(tinkertest.EndpointClientConfig), "each command connected")
	assert.Equal(t, 1, w.srv.CountEndpoint(tinkertest.EndpointCreateSession), "the seeding session only")
	assert.Len(t, w.srv.Sessions(), 1)

	r := run(t, w, "tree")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Len(t, w.srv.Sessions(), 2, "tree connects with a session")
}

func TestBillingUsage(t *testing.T) {
	w := newWorld(t)
	r := run(t, w, "billing", "usage")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "1 usage event from ")
	assert.Contains(t, r.stdout, "estimated $0.00")
	assert.Regexp(t, `checkpoint +3 checkpoints +meta-llama/Llama-3.2-1B +\S+ +-`, r.stdout)

	m := run(t, w, "billing", "usage", "--json", "--from", "2026-01-01", "--to", "2026-01-02T00:00:00Z").json(t)
	assert.Equal(t, []any{}, m["data"])
	reqs := w.srv.Requests(tinkertest.Match{Endpoint: tinkertest.EndpointBillingUsage})
	assert.Equal(t, "ending_before=2026-01-02T00%3A00%3A00Z&starting_on=2026-01-01T00%3A00%3A00Z", reqs[len(reqs)-1].Query)

	for _, args := range [][]string{
		{"billing", "usage", "--from", "yesterday"},
		{"billing", "usage", "--from", "2026-01-02", "--to", "2026-01-01"},
		{"billing", "usage", "extra"},
	} {
		r := run(t, w, args...)
		assert.Equal(t, 2, r.code, "%v: %s", args, r.stderr)
	}
	assert.Len(t, w.srv.Requests(tinkertest.Match{Endpoint: tinkertest.EndpointBillingUsage}), 2, "bad input sends nothing")
}

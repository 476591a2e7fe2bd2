package tinkex

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tinkex-go/tinkex/httpclient"
	"github.com/tinkex-go/tinkex/telemetry"
	"github.com/tinkex-go/tinkex/tinkertest"
	"github.com/tinkex-go/tinkex/types"
)

// saveStates saves n training checkpoints c0..c(n-1) of tc and returns
// their paths.
func saveStates(t *testing.T, tc *TrainingClient, n int) []string {
	t.Helper()
	var paths []string
	for i := range n {
		out, err := tc.SaveState(ctxT(t), "c"+strconv.Itoa(i)).Result(ctxT(t))
		require.NoError(t, err)
		paths = append(paths, out.Path)
	}
	return paths
}

// restRequests returns the logged requests of one endpoint as
// "METHOD path?query".
func restRequests(srv *tinkertest.Server, endpoint string) []string {
	var out []string
	for _, e := range srv.Requests(tinkertest.Match{Endpoint: endpoint}) {
		s := e.Method + " " + e.Path
		if e.Query != "" {
			s += "?" + e.Query
		}
		out = append(out, s)
	}
	return out
}

func lastBody(t *testing.T, srv *tinkertest.Server, endpoint string) any {
	t.Helper()
	rs := srv.Requests(tinkertest.Match{Endpoint: endpoint})
	require.NotEmpty(t, rs, endpoint)
	return rs[len(rs)-1].Body
}

func TestRestTrainingRuns(t *testing.T) {
	e := newEnv(t, nil)
	ctx := ctxT(t)
	svc := e.service(t, WithProjectID("proj-a"))
	var ids []string
	for range 5 {
		ids = append(ids, trainer(t, svc).ModelID())
	}
	rest := svc.Rest()

	var got []string
	for run, err := range rest.TrainingRuns(ctx, WithPageSize(2)) {
		require.NoError(t, err)
		got = append(got, run.TrainingRunID)
	}
	assert.Equal(t, ids, got, "every run, in order, over three pages")
	assert.Equal(t, []string{
		"GET /api/v1/training_runs?access_scope=owned&limit=2&offset=0",
		"GET /api/v1/training_runs?access_scope=owned&limit=2&offset=2",
		"GET /api/v1/training_runs?access_scope=owned&limit=2&offset=4",
	}, restRequests(e.srv, tinkertest.EndpointTrainingRuns))

	page, err := rest.ListTrainingRuns(ctx, WithPageSize(3), WithOffset(1), WithProjectFilter("proj-a"), WithAccessScope(types.AccessScopeAccessible))
	require.NoError(t, err)
	assert.Equal(t, "GET /api/v1/training_runs?access_scope=accessible&limit=3&offset=1&project_id=proj-a",
		restRequests(e.srv, tinkertest.EndpointTrainingRuns)[3])
	assert.Equal(t, types.Cursor{Offset: 1, Limit: 3, TotalCount: 5}, page.Cursor)
	assert.Equal(t, ids[1:4], []string{page.TrainingRuns[0].TrainingRunID, page.TrainingRuns[1].TrainingRunID, page.TrainingRuns[2].TrainingRunID})
	none, err := rest.ListTrainingRuns(ctx, WithProjectFilter("other"))
	require.NoError(t, err)
	assert.Empty(t, none.TrainingRuns)

	run, err := rest.GetTrainingRun(ctx, ids[0])
	require.NoError(t, err)
	assert.Equal(t, "GET /api/v1/training_runs/"+ids[0]+"?access_scope=owned", restRequests(e.srv, tinkertest.EndpointTrainingRun)[0])
	assert.Equal(t, ids[0], run.TrainingRunID)
	assert.Equal(t, "meta-llama/Llama-3.2-1B", run.BaseModel)
	assert.True(t, run.IsLoRA)
	require.NotNil(t, run.LoRARank)
	assert.Equal(t, types.DefaultLoraRank, *run.LoRARank)

	tc := trainer(t, svc)
	path := saveStates(t, tc, 1)[0]
	byPath, err := rest.GetTrainingRunByTinkerPath(ctx, path)
	require.NoError(t, err)
	assert.Equal(t, "GET /api/v1/training_runs/"+tc.ModelID()+"?access_scope=owned", restRequests(e.srv, tinkertest.EndpointTrainingRun)[1])
	assert.Nil(t, lastBody(t, e.srv, tinkertest.EndpointTrainingRun), "a GET has no body")
	assert.Equal(t, tc.ModelID(), byPath.TrainingRunID)
	require.NotNil(t, byPath.LastCheckpoint)
	assert.Equal(t, path, byPath.LastCheckpoint.TinkerPath)

	// Another key sees the run only with access_scope=accessible once a
	// checkpoint is public.
	other := e.service(t, WithAPIKey(keyB))
	_, err = other.Rest().GetTrainingRun(ctx, tc.ModelID(), WithAccessScope(types.AccessScopeAccessible))
	assert.True(t, types.IsUserError(err), "%v", err)
	require.NoError(t, rest.PublishCheckpoint(ctx, path))
	shared, err := other.Rest().GetTrainingRun(ctx, tc.ModelID(), WithAccessScope(types.AccessScopeAccessible))
	require.NoError(t, err)
	assert.Equal(t, tc.ModelID(), shared.TrainingRunID)

	for _, bad := range []func() error{
		func() error { _, err := rest.GetTrainingRun(ctx, ""); return err },
		func() error { _, err := rest.GetTrainingRunByTinkerPath(ctx, "s3://x"); return err },
		func() error { _, err := rest.ListTrainingRuns(ctx, WithAccessScope("everyone")); return err },
		func() error { _, err := rest.ListTrainingRuns(ctx, WithOffset(-1)); return err },
	} {
		assert.ErrorIs(t, bad(), types.ErrValidation)
	}
}

func TestRestCheckpointLists(t *testing.T) {
	e := newEnv(t, []tinkertest.Option{tinkertest.WithMaxPageSize(2)})
	ctx := ctxT(t)
	svc := e.service(t)
	tc := trainer(t, svc)
	paths := saveStates(t, tc, 5)
	rest := svc.Rest()
	run := tc.ModelID()

	var got []string
	for cp, err := range rest.Checkpoints(ctx, run) {
		require.NoError(t, err)
		got = append(got, cp.TinkerPath)
	}
	assert.Equal(t, paths, got)
	assert.Equal(t, []string{
		"GET /api/v1/training_runs/" + run + "/checkpoints",
		"GET /api/v1/training_runs/" + run + "/checkpoints?limit=2&offset=2",
		"GET /api/v1/training_runs/" + run + "/checkpoints?limit=2&offset=4",
	}, restRequests(e.srv, tinkertest.EndpointCheckpoints), "unpaged first, as the SDK; then the cursor's pages")

	got = nil
	for cp, err := range rest.UserCheckpoints(ctx, WithPageSize(2)) {
		require.NoError(t, err)
		got = append(got, cp.TinkerPath)
	}
	assert.Equal(t, paths, got)
	assert.Equal(t, []string{
		"GET /api/v1/checkpoints?limit=2&offset=0",
		"GET /api/v1/checkpoints?limit=2&offset=2",
		"GET /api/v1/checkpoints?limit=2&offset=4",
	}, restRequests(e.srv, tinkertest.EndpointUserCheckpoints))

	page, err := rest.ListUserCheckpoints(ctx)
	require.NoError(t, err)
	assert.Equal(t, "GET /api/v1/checkpoints?limit=100&offset=0", restRequests(e.srv, tinkertest.EndpointUserCheckpoints)[3])
	require.NotNil(t, page.Cursor)
	assert.Equal(t, types.Cursor{Offset: 0, Limit: 2, TotalCount: 5}, *page.Cursor)
	one, err := rest.ListCheckpoints(ctx, run, WithOffset(4))
	require.NoError(t, err)
	require.Len(t, one.Checkpoints, 1)
	assert.Equal(t, "GET /api/v1/training_runs/"+run+"/checkpoints?limit=100&offset=4", restRequests(e.srv, tinkertest.EndpointCheckpoints)[3])

	before := len(restRequests(e.srv, tinkertest.EndpointCheckpoints))
	cp, err := rest.GetCheckpoint(ctx, paths[4])
	require.NoError(t, err)
	assert.Equal(t, []string{
		"GET /api/v1/training_runs/" + run + "/checkpoints",
		"GET /api/v1/training_runs/" + run + "/checkpoints?limit=2&offset=2",
		"GET /api/v1/training_runs/" + run + "/checkpoints?limit=2&offset=4",
	}, restRequests(e.srv, tinkertest.EndpointCheckpoints)[before:], "found on the run's third page")
	assert.Equal(t, "weights/c4", cp.CheckpointID)
	assert.Equal(t, types.CheckpointTraining, cp.CheckpointType)
	assert.False(t, cp.Public)
	assert.Nil(t, cp.ExpiresAt)
	assert.False(t, cp.Time.IsZero())
	_, err = rest.GetCheckpoint(ctx, "tinker://"+run+"/weights/nope")
	assert.ErrorIs(t, err, types.ErrNotFound)
	assert.True(t, types.IsUserError(err))
	assert.Contains(t, err.Error(), "tinker://"+run+"/weights/nope")
	_, err = rest.GetCheckpoint(ctx, "tinker://"+run+"/bad/nope")
	assert.ErrorIs(t, err, types.ErrValidation)

	// An error mid-walk is yielded once and ends the walk.
	e.srv.Inject(tinkertest.Fault{Endpoint: tinkertest.EndpointCheckpoints, Status: http.StatusNotFound, Skip: 1, Times: 1})
	var items, errs int
	for _, err := range rest.Checkpoints(ctx, run) {
		if err != nil {
			errs++
			assert.ErrorIs(t, err, types.ErrUser)
		} else {
			items++
		}
	}
	assert.Equal(t, 2, items)
	assert.Equal(t, 1, errs)

	// Stopping early sends no more requests.
	before = e.srv.CountEndpoint(tinkertest.EndpointUserCheckpoints)
	for range rest.UserCheckpoints(ctx, WithPageSize(2)) {
		break
	}
	assert.Equal(t, before+1, e.srv.CountEndpoint(tinkertest.EndpointUserCheckpoints))
}

func TestRestCheckpointWrites(t *testing.T) {
	e := newEnv(t, nil)
	ctx := ctxT(t)
	svc := e.service(t)
	tc := trainer(t, svc)
	paths := saveStates(t, tc, 2)
	rest := svc.Rest()
	base := "/api/v1/training_runs/" + tc.ModelID() + "/checkpoints/weights/c0"

	require.NoError(t, rest.PublishCheckpoint(ctx, paths[0]))
	cp, err := rest.GetCheckpoint(ctx, paths[0])
	require.NoError(t, err)
	assert.True(t, cp.Public)
	require.NoError(t, rest.UnpublishCheckpoint(ctx, paths[0]))
	assert.Equal(t, []string{"POST " + base + "/publish", "DELETE " + base + "/publish"}, restRequests(e.srv, tinkertest.EndpointCheckpointPublish))
	assert.Nil(t, lastBody(t, e.srv, tinkertest.EndpointCheckpointPublish), "no body")
	cp, err = rest.GetCheckpoint(ctx, paths[0])
	require.NoError(t, err)
	assert.False(t, cp.Public)

	require.NoError(t, rest.SetCheckpointTTL(ctx, paths[0], time.Hour))
	assert.Equal(t, map[string]any{"ttl_seconds": 3600.0}, lastBody(t, e.srv, tinkertest.EndpointCheckpointTTL))
	cp, err = rest.GetCheckpoint(ctx, paths[0])
	require.NoError(t, err)
	require.NotNil(t, cp.ExpiresAt)
	assert.WithinDuration(t, time.Now().Add(time.Hour), cp.ExpiresAt.Time, time.Minute)
	require.NoError(t, rest.ClearCheckpointTTL(ctx, paths[0]))
	assert.Equal(t, map[string]any{"ttl_seconds": nil}, lastBody(t, e.srv, tinkertest.EndpointCheckpointTTL))
	assert.Equal(t, []string{"PUT " + base + "/ttl", "PUT " + base + "/ttl"}, restRequests(e.srv, tinkertest.EndpointCheckpointTTL))
	cp, err = rest.GetCheckpoint(ctx, paths[0])
	require.NoError(t, err)
	assert.Nil(t, cp.ExpiresAt)
	assert.ErrorIs(t, rest.SetCheckpointTTL(ctx, paths[0], time.Millisecond), types.ErrValidation)

	require.NoError(t, rest.DeleteCheckpoint(ctx, paths[0]))
	assert.Equal(t, []string{"DELETE " + base}, restRequests(e.srv, tinkertest.EndpointCheckpoint))
	assert.Nil(t, lastBody(t, e.srv, tinkertest.EndpointCheckpoint), "no body")
	for _, r := range e.srv.Requests(tinkertest.Match{Endpoint: tinkertest.EndpointCheckpointPublish}) {
		assert.Equal(t, httpclient.ContentTypeJSON, r.Header.Get("Content-Type"), "%s: the SDK's default Content-Type, body or not", r.Method)
	}
	_, err = rest.GetCheckpoint(ctx, paths[0])
	assert.ErrorIs(t, err, types.ErrUser)
	err = rest.DeleteCheckpoint(ctx, paths[0])
	assert.ErrorIs(t, err, types.ErrUser, "deleting twice is a 404")
	assert.Equal(t, http.StatusNotFound, err.(*types.Error).StatusCode)
	assert.ErrorIs(t, rest.PublishCheckpoint(ctx, "weights/c0"), types.ErrValidation)
}

func TestRestArchiveURL(t *testing.T) {
	e := newEnv(t, nil)
	ctx := ctxT(t)
	svc := e.service(t)
	path := saveStates(t, trainer(t, svc), 1)[0]
	p, _ := types.ParseTinkerPath(path)

	e.srv.Inject(tinkertest.Fault{Endpoint: tinkertest.EndpointCheckpointArchive, Status: http.StatusServiceUnavailable, RetryAfterMs: "1", Times: 2})
	u, err := svc.Rest().GetCheckpointArchiveURL(ctx, path)
	require.NoError(t, err)
	want := "GET /api/v1/training_runs/" + p.TrainingRunID + "/checkpoints/weights/c0/archive"
	assert.Equal(t, []string{want, want, want}, restRequests(e.srv, tinkertest.EndpointCheckpointArchive), "503 is retried")
	assert.Regexp(t, `^`+e.srv.ArchiveURL()+`/archives/.*\.tar\?expires=\d+&signature=[0-9a-f]+$`, u.URL)
	assert.WithinDuration(t, time.Now().Add(15*time.Minute), u.Expires.Time, time.Minute)

	// A redirect is not followed: its Location is the URL.
	redir := newEnv(t, []tinkertest.Option{tinkertest.WithArchives(tinkertest.ArchiveOptions{Redirect: true})})
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	rsvc := redir.service(t, WithHTTPClient(noFollow))
	path = saveStates(t, trainer(t, rsvc), 1)[0]
	u, err = rsvc.Rest().GetCheckpointArchiveURL(ctx, path)
	require.NoError(t, err)
	assert.Regexp(t, `^`+redir.srv.ArchiveURL()+`/archives/`, u.URL)
	assert.WithinDuration(t, time.Now().Add(15*time.Minute), u.Expires.Time, time.Minute)
	assert.Empty(t, redir.srv.ArchiveRequests(), "the redirect was not followed")
}

func TestRestSessions(t *testing.T) {
	e := newEnv(t, []tinkertest.Option{tinkertest.WithTraceExport(2, "")})
	ctx := ctxT(t)
	var ids []string
	var svc *ServiceClient
	for range 5 {
		svc = e.service(t)
		ids = append(ids, svc.SessionID())
	}
	rest := svc.Rest()
	var got []string
	for id, err := range rest.Sessions(ctx, WithPageSize(2)) {
		require.NoError(t, err)
		got = append(got, id)
	}
	assert.Equal(t, ids, got)
	assert.Equal(t, []string{
		"GET /api/v1/sessions?access_scope=owned&limit=2&offset=0",
		"GET /api/v1/sessions?access_scope=owned&limit=2&offset=2",
		"GET /api/v1/sessions?access_scope=owned&limit=2&offset=4",
		"GET /api/v1/sessions?access_scope=owned&limit=2&offset=5",
	}, restRequests(e.srv, tinkertest.EndpointSessions), "three pages, then an empty one ends the cursor-less list")
	page, err := rest.ListSessions(ctx)
	require.NoError(t, err)
	assert.Equal(t, ids, page.Sessions)

	tc := trainer(t, svc)
	sc := sampler(t, e, svc)
	sess, err := rest.GetSession(ctx, svc.SessionID(), WithAccessScope(types.AccessScopeAccessible))
	require.NoError(t, err)
	assert.Equal(t, "GET /api/v1/sessions/"+svc.SessionID()+"?access_scope=accessible", restRequests(e.srv, tinkertest.EndpointSession)[0])
	assert.Equal(t, []string{tc.ModelID()}, sess.TrainingRunIDs)
	assert.Equal(t, []string{sc.SamplerID()}, sess.SamplerIDs)

	smp, err := rest.GetSampler(ctx, sc.SamplerID())
	require.NoError(t, err)
	assert.Equal(t, "GET /api/v1/samplers/"+sc.SamplerID(), restRequests(e.srv, tinkertest.EndpointSampler)[0])
	assert.Equal(t, types.GetSamplerResponse{SamplerID: sc.SamplerID(), BaseModel: "meta-llama/Llama-3.2-1B"}, *smp)

	require.NoError(t, rest.AssignSessionProject(ctx, svc.SessionID(), "proj-9"))
	assert.Equal(t, []string{"PUT /api/v1/sessions/" + svc.SessionID() + "/project"}, restRequests(e.srv, tinkertest.EndpointSessionProject))
	assert.Equal(t, map[string]any{"project_id": "proj-9"}, lastBody(t, e.srv, tinkertest.EndpointSessionProject))
	runs, err := rest.ListTrainingRuns(ctx, WithProjectFilter("proj-9"))
	require.NoError(t, err)
	assert.Len(t, runs.TrainingRuns, 1)

	u, err := rest.ExportSessionTrace(ctx, svc.SessionID(), WithPollInterval(time.Millisecond))
	require.NoError(t, err)
	assert.Equal(t, e.srv.ArchiveURL()+"/traces/"+svc.SessionID()+".json", u)
	tr := "GET /api/v1/sessions/" + svc.SessionID() + "/trace_export"
	assert.Equal(t, []string{tr, tr, tr}, restRequests(e.srv, tinkertest.EndpointSessionTraceExport), "pending twice, then ready")

	_, err = rest.GetSession(ctx, "")
	assert.ErrorIs(t, err, types.ErrValidation)
	assert.ErrorIs(t, rest.AssignSessionProject(ctx, svc.SessionID(), ""), types.ErrValidation)

	failing := newEnv(t, []tinkertest.Option{tinkertest.WithTraceExport(0, "export broke for "+keyA)})
	fsvc := failing.service(t)
	_, err = fsvc.Rest().ExportSessionTrace(ctx, fsvc.SessionID())
	assert.ErrorIs(t, err, types.ErrRequestFailed)
	assert.Contains(t, err.Error(), "export broke")
	assert.NotContains(t, err.Error(), keyA, "the key is scrubbed from the server's message")
}

func TestRestWeightsInfoAndAudit(t *testing.T) {
	e := newEnv(t, nil)
	ctx := ctxT(t)
	owner := e.service(t)
	path := saveStates(t, trainer(t, owner), 1)[0]

	other := e.service(t, WithAPIKey(keyB))
	_, err := other.Rest().GetWeightsInfo(ctx, path)
	assert.ErrorIs(t, err, types.ErrUser, "another key cannot read a private checkpoint")
	info, err := other.Rest().GetWeightsInfo(ctx, path, WithWeightsAccessToken(keyA))
	require.NoError(t, err)
	assert.Equal(t, "meta-llama/Llama-3.2-1B", info.BaseModel)
	assert.True(t, info.IsLoRA)
	reqs := e.srv.Requests(tinkertest.Match{Endpoint: tinkertest.EndpointWeightsInfo})
	last := reqs[len(reqs)-1]
	assert.Equal(t, "POST /api/v1/weights_info", last.Method+" "+last.Path)
	assert.Equal(t, map[string]any{"tinker_path": path}, last.Body)
	assert.Equal(t, types.KeyFingerprint(keyA), last.KeyFingerprint, "sent with the access token, not the client's key")
	assert.Equal(t, types.KeyFingerprint(keyB), reqs[len(reqs)-2].KeyFingerprint)
	e.srv.Inject(tinkertest.Fault{Endpoint: tinkertest.EndpointWeightsInfo, Status: http.StatusForbidden, Times: 1,
		Body: `{"detail":"token ` + keyA + ` may not read this"}`})
	_, err = other.Rest().GetWeightsInfo(ctx, path, WithWeightsAccessToken(keyA))
	require.ErrorIs(t, err, types.ErrUser)
	assert.Contains(t, err.Error(), "may not read this")
	assert.NotContains(t, err.Error(), keyA, "the access token echoed by the server is scrubbed")
	assert.Contains(t, err.Error(), types.KeyFingerprint(keyA))
	_, err = other.Rest().GetWeightsInfo(ctx, path, WithWeightsAccessToken("not-a-key"))
	assert.ErrorIs(t, err, types.ErrValidation)
	assert.NotContains(t, err.Error(), "not-a-key")

	rest := owner.Rest()
	require.NoError(t, rest.PublishCheckpoint(ctx, path))
	day := time.Now().UTC()
	log, err := rest.GetAuditLog(ctx, types.AuditEventsCheckpoints, day)
	require.NoError(t, err)
	assert.Equal(t, []string{"GET /api/v1/audit?day=" + day.Format(time.DateOnly) + "&event_type=checkpoints"}, restRequests(e.srv, tinkertest.EndpointAudit))
	require.Len(t, log.Entries, 1)
	assert.Equal(t, "checkpoint_published", log.Entries[0].Event)
	assert.Equal(t, path, log.Entries[0].TinkerPath)
	all, err := rest.GetAuditLog(ctx, "", time.Time{})
	require.NoError(t, err)
	assert.Len(t, all.Entries, 1)
	assert.Equal(t, "GET /api/v1/audit?event_type=all", restRequests(e.srv, tinkertest.EndpointAudit)[1])
	_, err = rest.GetAuditLog(ctx, "everything", time.Time{})
	assert.ErrorIs(t, err, types.ErrValidation)
}

func TestRestAfterClose(t *testing.T) {
	e := newEnv(t, nil)
	svc := e.service(t)
	path := saveStates(t, trainer(t, svc), 1)[0]
	rest := svc.Rest()
	require.NoError(t, svc.Close(ctxT(t)))
	before := len(e.srv.Requests(tinkertest.Match{}))
	ctx := ctxT(t)
	for name, call := range map[string]func() error{
		"list": func() error { _, err := rest.ListTrainingRuns(ctx); return err },
		"iterate": func() error {
			for _, err := range rest.Checkpoints(ctx, "run") {
				return err
			}
			return nil
		},
		"delete":   func() error { return rest.DeleteCheckpoint(ctx, path) },
		"archive":  func() error { _, err := rest.GetCheckpointArchiveURL(ctx, path); return err },
		"download": func() error { _, err := rest.DownloadCheckpoint(ctx, path, &countingWriter{}); return err },
		"weights":  func() error { _, err := rest.GetWeightsInfo(ctx, path); return err },
		"trace":    func() error { _, err := rest.ExportSessionTrace(ctx, "s"); return err },
	} {
		assert.ErrorIs(t, call(), types.ErrClientStopped, name)
	}
	assert.Equal(t, before, len(e.srv.Requests(tinkertest.Match{})), "nothing was sent")
}

// WhoAmI decodes the claims of the JWT the key was exchanged for (sub →
// UserURN, email), sending nothing; with a plain API key it is a
// KindValidation error; after Close, ErrClientStopped.
func TestWhoAmI(t *testing.T) {
	e := newEnv(t, []tinkertest.Option{tinkertest.WithJWT(time.Hour)})
	svc := e.service(t)
	before := len(e.srv.Requests(tinkertest.Match{}))
	who, err := svc.Rest().WhoAmI(ctxT(t))
	require.NoError(t, err)
	fp := types.KeyFingerprint(keyA)
	assert.Equal(t, "user:"+fp, who.UserURN)
	require.NotNil(t, who.Email)
	assert.Equal(t, fp+"@tinkertest.invalid", *who.Email)
	assert.Len(t, e.srv.Requests(tinkertest.Match{}), before, "no HTTP call")
	require.NoError(t, svc.Close(ctxT(t)))
	_, err = svc.Rest().WhoAmI(ctxT(t))
	require.ErrorIs(t, err, types.ErrClientStopped)

	plain := newEnv(t, nil)
	_, err = plain.service(t).Rest().WhoAmI(ctxT(t))
	require.ErrorIs(t, err, types.ErrValidation)
	assert.Contains(t, err.Error(), "needs JWT auth")
}

// A weights access token the server echoes, in its error detail and in the
// request id, is scrubbed like the key: from the error, its request id, the
// request's exception event and the logs. (A token of pure [A-Za-z0-9_-]
// after "tml-" would go by the credential shape; this one, with '!', which
// the key check accepts, is removed only because the HTTP layer knows it.)
func TestWeightsAccessTokenIsScrubbedLikeTheKey(t *testing.T) {
	const token = "tml-owner!SECRETPART!tail"
	logger, logs := captureLogs(slog.LevelDebug)
	e := newEnv(t, nil, WithLogger(logger))
	target, err := url.Parse(e.srv.URL())
	require.NoError(t, err)
	proxy := httputil.NewSingleHostReverseProxy(target)
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/v1/weights_info" {
			k := r.Header.Get("X-Api-Key")
			w.Header().Set("X-Request-Id", "req-for-"+k)
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprintf(w, `{"detail":"key %s may not read this checkpoint"}`, k)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close)
	var mu sync.Mutex
	var events strings.Builder
	require.NoError(t, e.rt.Telemetry().Attach("weights-token", []string{telemetry.HTTPRequestError}, func(ev telemetry.Event) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(&events, "%v\n", ev.Metadata)
	}))
	svc, err := e.rt.NewServiceClient(ctxT(t), WithAPIKey(keyA), WithBaseURL(front.URL), WithCallRetryBudget(0))
	require.NoError(t, err)
	_, err = svc.Rest().GetWeightsInfo(ctxT(t), "tinker://run-1/weights/ckpt-1", WithWeightsAccessToken(token))
	require.ErrorIs(t, err, types.ErrUser)
	var te *Error
	require.True(t, errors.As(err, &te))
	assert.Equal(t, "req-for-[REDACTED:"+types.KeyFingerprint(token)+"]", te.RequestID)
	assert.Contains(t, err.Error(), "may not read this checkpoint")
	mu.Lock()
	ev := events.String()
	mu.Unlock()
	require.NotEmpty(t, ev)
	assert.NotContains(t, err.Error(), "SECRETPART", "error: %s", err.Error())
	assert.NotContains(t, ev, "SECRETPART", "event: %s", ev)
	assert.NotContains(t, logs(), "SECRETPART", "logs")
}

// An id that is a dot segment ("." or "..") would name another resource
// once the path is normalized (RFC 3986 §5.2.4, as proxies and servers
// do): GET /api/v1/training_runs/.. is GET /api/v1/, and DELETE
// …/checkpoints/weights/.. is a DELETE of the run's checkpoint list.
// PathEscape leaves dots alone, so every id that becomes a path segment is
// refused (KindValidation) and nothing is sent.
func TestRestRefusesDotSegmentIDs(t *testing.T) {
	e := newEnv(t, nil)
	ctx := ctxT(t)
	svc := e.service(t)
	rest := svc.Rest()
	sent := func() []string {
		var out []string
		for _, r := range e.srv.Requests(tinkertest.Match{}) {
			if r.Endpoint != tinkertest.EndpointTelemetry {
				out = append(out, r.Method+" "+r.Path)
			}
		}
		return out
	}
	before := sent()
	for _, dot := range []string{".", ".."} {
		calls := map[string]func() error{
			"GetTrainingRun":  func() error { _, err := rest.GetTrainingRun(ctx, dot); return err },
			"ListCheckpoints": func() error { _, err := rest.ListCheckpoints(ctx, dot); return err },
			"GetSession":      func() error { _, err := rest.GetSession(ctx, dot); return err },
			"AssignProject":   func() error { return rest.AssignSessionProject(ctx, dot, "p") },
			"ExportTrace":     func() error { _, err := rest.ExportSessionTrace(ctx, dot); return err },
			"GetSampler":      func() error { _, err := rest.GetSampler(ctx, dot); return err },
			"DeleteRun":       func() error { return rest.DeleteCheckpoint(ctx, "tinker://"+dot+"/weights/c0") },
			"DeleteName":      func() error { return rest.DeleteCheckpoint(ctx, "tinker://run-1/weights/"+dot) },
			"PublishName":     func() error { return rest.PublishCheckpoint(ctx, "tinker://run-1/sampler_weights/"+dot) },
			"ArchiveName":     func() error { _, err := rest.GetCheckpointArchiveURL(ctx, "tinker://run-1/weights/"+dot); return err },
			"GetCheckpoint":   func() error { _, err := rest.GetCheckpoint(ctx, "tinker://"+dot+"/weights/c0"); return err },
		}
		for name, call := range calls {
			err := call()
			assert.ErrorIs(t, err, types.ErrValidation, "%s(%q): %v", name, dot, err)
		}
		_, err := types.ParseTinkerPath("tinker://run-1/weights/" + dot)
		assert.ErrorIs(t, err, types.ErrValidation, "ParseTinkerPath refuses the dot segment %q", dot)
	}
	assert.Equal(t, before, sent(), "nothing was sent")
	_, err := types.ParseTinkerPath("tinker://run-1/weights/..c0")
	assert.NoError(t, err, "dots inside a name are fine")
}

// A 410 from a REST call (a checkpoint whose TTL ran out, a run that is
// gone) is the SDK's plain APIStatusError: not retried by either layer
// (reference §4.1, §4.2: only 408/409/429/5xx) and a user error (§4.8:
// any 4xx but 408). It is not KindPromiseExpired, which is the polling
// column's meaning of a 410 on retrieve_future and is retryable.
func TestRestGoneIsAUserError(t *testing.T) {
	e := newEnv(t, nil)
	ctx := ctxT(t)
	svc := e.service(t)
	tc := trainer(t, svc)
	path := saveStates(t, tc, 1)[0]
	rest := svc.Rest()

	e.srv.Inject(tinkertest.Fault{Endpoint: tinkertest.EndpointCheckpoint, Status: http.StatusGone, Times: 1})
	err := rest.DeleteCheckpoint(ctx, path)
	require.Error(t, err)
	e.srv.Inject(tinkertest.Fault{Endpoint: tinkertest.EndpointTrainingRun, Status: http.StatusGone, Times: 1})
	_, err2 := rest.GetTrainingRun(ctx, tc.ModelID())
	require.Error(t, err2)
	for _, err := range []error{err, err2} {
		assert.ErrorIs(t, err, types.ErrUser, "%v", err)
		assert.NotErrorIs(t, err, types.ErrPromiseExpired, "%v", err)
		assert.True(t, types.IsUserError(err), "%v", err)
		assert.False(t, types.IsRetryable(err), "%v", err)
		var te *types.Error
		require.ErrorAs(t, err, &te)
		assert.Equal(t, http.StatusGone, te.StatusCode)
		assert.Equal(t, 1, te.Attempts, "not retried")
	}
}

// A tinker:// path has exactly three segments after the scheme, as the
// SDK's ParsedCheckpointTinkerPath requires (reference §2.5): a name with a
// slash in it ("b/c", a trailing "/") is no checkpoint the server can
// hold. It is refused before anything is sent, rather than sent on with
// its slash escaped as %2F.
func TestRestRefusesTinkerPathsWithExtraSegments(t *testing.T) {
	e := newEnv(t, nil)
	ctx := ctxT(t)
	rest := e.service(t).Rest()
	before := e.srv.CountEndpoint(tinkertest.EndpointCheckpoint)
	for _, bad := range []string{
		"tinker://run-1/weights/c0/",
		"tinker://run-1/weights/c0/archive",
		"tinker://run-1/sampler_weights/a/../b",
	} {
		_, err := types.ParseTinkerPath(bad)
		assert.ErrorIs(t, err, types.ErrValidation, bad)
		assert.ErrorIs(t, rest.DeleteCheckpoint(ctx, bad), types.ErrValidation, bad)
	}
	assert.Equal(t, before, e.srv.CountEndpoint(tinkertest.EndpointCheckpoint), "nothing was sent")
}

// get_billing_usage (reference §2.5): GET /api/v1/billing/usage/events with
// both bounds as RFC 3339 UTC times; the reply's hourly events, their
// sessions' user_metadata and event_info decode. Bad bounds are refused
// before anything is sent; a reply the SDK's model would reject is a
// validation error.
func TestRestBillingUsage(t *testing.T) {
	e := newEnv(t, nil)
	svc := e.service(t, WithUserMetadata(map[string]string{"team": "rl"}))
	tc := trainer(t, svc)
	saveStates(t, tc, 2)
	rest := svc.Rest()
	ctx := ctxT(t)
	from := time.Now().Add(-time.Hour).Truncate(time.Second)
	to := from.Add(3 * time.Hour)

	u, err := rest.GetBillingUsage(ctx, from.In(time.FixedZone("X", 3600)), to)
	require.NoError(t, err)
	assert.Equal(t, []string{"GET /api/v1/billing/usage/events?ending_before=" + url.QueryEscape(to.UTC().Format(time.RFC3339)) +
		"&starting_on=" + url.QueryEscape(from.UTC().Format(time.RFC3339))}, restRequests(e.srv, tinkertest.EndpointBillingUsage))
	var checkpoints int64
	for _, ev := range u.Data {
		assert.Equal(t, types.BillingCheckpoint, ev.EventInfo.Type)
		assert.Equal(t, svc.SessionID(), ev.SessionID)
		assert.Equal(t, "meta-llama/Llama-3.2-1B", ev.BaseModel)
		assert.Nil(t, ev.EstimatedCostUSD, "null is no estimate, not 0")
		assert.Equal(t, time.Hour, ev.BucketEnd.Sub(ev.BucketStart.Time))
		checkpoints += ev.EventInfo.Count
	}
	assert.Equal(t, int64(2), checkpoints)
	assert.Equal(t, map[string]string{"team": "rl"}, u.Sessions[svc.SessionID()].UserMetadata)

	empty, err := rest.GetBillingUsage(ctx, to, to.Add(time.Hour))
	require.NoError(t, err)
	assert.Empty(t, empty.Data)
	assert.NotNil(t, empty.Data, "an empty list, not a missing one")

	before := len(e.srv.Requests(tinkertest.Match{}))
	for name, bounds := range map[string][2]time.Time{
		"no start": {{}, to}, "no end": {from, {}}, "reversed": {to, from}, "empty range": {from, from},
	} {
		_, err := rest.GetBillingUsage(ctx, bounds[0], bounds[1])
		assert.ErrorIs(t, err, types.ErrValidation, name)
	}
	assert.Len(t, e.srv.Requests(tinkertest.Match{}), before, "nothing sent")

	for name, body := range map[string]string{
		"no data":       `{"sessions":{}}`,
		"no bucket":     `{"data":[{"bucket_end":"2026-01-01T01:00:00Z","event_info":{"type":"training","token_count":3}}]}`,
		"no event type": `{"data":[{"bucket_start":"2026-01-01T00:00:00Z","bucket_end":"2026-01-01T01:00:00Z","event_info":{}}]}`,
	} {
		e.srv.Inject(tinkertest.Fault{Endpoint: tinkertest.EndpointBillingUsage, Status: http.StatusOK, Body: body, Times: 1})
		_, err := rest.GetBillingUsage(ctx, from, to)
		assert.ErrorIs(t, err, types.ErrValidation, name)
	}
	e.srv.Inject(tinkertest.Fault{Endpoint: tinkertest.EndpointBillingUsage, Status: http.StatusOK, Times: 1,
		Body: `{"data":[{"bucket_start":"2026-01-01T00:00:00Z","bucket_end":"2026-01-01T01:00:00Z","estimated_cost_usd":0.25,` +
			`"effective_rate_usd_per_million_tokens":2.5,"event_info":{"type":"sampling_prefill","cached":true,"token_count":100000}}],` +
			`"cost_data_through":"2026-01-01T00:00:00Z"}`})
	priced, err := rest.GetBillingUsage(ctx, from, to)
	require.NoError(t, err)
	require.Len(t, priced.Data, 1)
	ev := priced.Data[0]
	assert.Equal(t, BillingEventInfo{Type: BillingSamplingPrefill, Cached: true, TokenCount: 100000}, ev.EventInfo)
	require.NotNil(t, ev.EstimatedCostUSD)
	assert.InDelta(t, 0.25, *ev.EstimatedCostUSD, 1e-12)
	require.NotNil(t, priced.CostDataThrough)
	assert.Equal(t, 2026, priced.CostDataThrough.Year())
}

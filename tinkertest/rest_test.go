package tinkertest

import (
	"archive/tar"
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tinkex-go/tinkex/types"
)

// saved creates a session, a model and n named training checkpoints
// ("c0", "c1", ...) and returns the session and model ids.
func (c *tc) saved(n int) (string, string) {
	c.t.Helper()
	sid := c.session()
	model := c.model(sid, 0)
	for i := 0; i < n; i++ {
		sv := c.ok(EndpointSaveWeights, map[string]any{"model_id": model, "path": "c" + string(rune('0'+i)), "seq_id": i + 1,
			"overwrite": false, "type": "save_weights"})
		c.result(sv["request_id"].(string))
	}
	return sid, model
}

func TestRESTQueryIsStrict(t *testing.T) {
	srv := newServer(t)
	c := client(t, srv, keyA)
	_, model := c.saved(1)
	for _, q := range []string{
		"training_runs?limit=1&page=2",
		"training_runs?limit=1&limit=2",
		"training_runs/" + model + "?limit=1",
		"training_runs/" + model + "/checkpoints?access_scope=owned",
		"checkpoints?project_id=p",
		"get_server_capabilities?x=1",
		"sessions?limit=%zz",
		"audit?event_type=everything",
		"billing/usage/events?starting_on=2026-01-01T00:00:00Z",
		"billing/usage/events?starting_on=2026-01-02&ending_before=2026-01-03",
		"billing/usage/events?starting_on=2026-01-02T00:00:00Z&ending_before=2026-01-01T00:00:00Z",
		"billing/usage/events?starting_on=2026-01-01T00:00:00Z&ending_before=2026-01-02T00:00:00Z&limit=5",
	} {
		r := c.get(q)
		assert.Equal(t, http.StatusBadRequest, r.status, "%s: %s", q, r.body)
		assert.Contains(t, r.json(t), "detail", q)
	}
	assert.Equal(t, http.StatusOK, c.get("training_runs?limit=1&offset=0&access_scope=accessible&project_id=p").status)
	assert.Equal(t, http.StatusOK, c.get("billing/usage/events?starting_on=2026-01-01T00:00:00Z&ending_before=2026-01-02T00:00:00%2B01:00").status)
}

// A "." or ".." path segment is no id: a normalizing proxy or server
// resolves it (RFC 3986 §5.2.4) and the request lands on another route, so
// the fake routes it nowhere (404, no endpoint in the log) rather than
// treating ".." as a run, session, sampler or checkpoint name.
func TestRESTDotSegmentsRouteNowhere(t *testing.T) {
	srv := newServer(t)
	c := client(t, srv, keyA)
	_, model := c.saved(1)
	for _, p := range []string{
		"training_runs/..",
		"training_runs/./checkpoints",
		"training_runs/" + model + "/checkpoints/weights/..",
		"training_runs/" + model + "/checkpoints/weights/%2E%2E/archive",
		"sessions/../trace_export",
		"samplers/.",
	} {
		before := len(srv.Requests(Match{}))
		r := c.get(p)
		assert.Equal(t, http.StatusNotFound, r.status, "%s: %s", p, r.body)
		logged := srv.Requests(Match{})
		require.Len(t, logged, before+1, p)
		assert.Empty(t, logged[before].Endpoint, "%s reached no route", p)
	}
}

func TestRESTPagesAreCapped(t *testing.T) {
	srv := newServer(t, WithMaxPageSize(2))
	c := client(t, srv, keyA)
	_, model := c.saved(5)
	m := c.get("training_runs/" + model + "/checkpoints").json(t)
	assert.Len(t, m["checkpoints"], 2, "the cap pages a per-run list asked without limit")
	assert.Equal(t, map[string]any{"offset": 0.0, "limit": 2.0, "total_count": 5.0}, m["cursor"])
	m = c.get("training_runs/" + model + "/checkpoints?limit=10&offset=4").json(t)
	assert.Len(t, m["checkpoints"], 1)
	assert.Equal(t, map[string]any{"offset": 4.0, "limit": 2.0, "total_count": 5.0}, m["cursor"])
	assert.Len(t, c.get("checkpoints?limit=100").json(t)["checkpoints"], 2)

	uncapped := newServer(t)
	u := client(t, uncapped, keyA)
	_, model = u.saved(3)
	m = u.get("training_runs/" + model + "/checkpoints").json(t)
	assert.Len(t, m["checkpoints"], 3)
	assert.NotContains(t, m, "cursor", "the SDK's unpaged per-run list gets no cursor")
}

func TestRESTAccessibleScope(t *testing.T) {
	srv := newServer(t)
	a, b := client(t, srv, keyA), client(t, srv, keyB)
	_, model := a.saved(1)
	assert.Equal(t, http.StatusNotFound, b.get("training_runs/"+model+"?access_scope=accessible").status)
	require.Equal(t, http.StatusOK, a.do(http.MethodPost, "training_runs/"+model+"/checkpoints/weights/c0/publish", nil, nil).status)
	assert.Equal(t, http.StatusNotFound, b.get("training_runs/"+model).status, "owned scope hides others' runs")
	assert.Equal(t, http.StatusOK, b.get("training_runs/"+model+"?access_scope=accessible").status)
	assert.Len(t, b.get("training_runs?access_scope=accessible").json(t)["training_runs"], 1)
	assert.Len(t, b.get("training_runs").json(t)["training_runs"], 0)
}

func TestArchiveHost(t *testing.T) {
	srv := newServer(t, WithArchives(ArchiveOptions{Size: 100_000, ChunkSize: 4096}))
	c := client(t, srv, keyA)
	_, model := c.saved(1)
	path := "tinker://" + model + "/weights/c0"
	m := c.get("training_runs/" + model + "/checkpoints/weights/c0/archive").json(t)
	u := m["url"].(string)
	require.True(t, strings.HasPrefix(u, srv.ArchiveURL()+"/archives/"), u)
	assert.NotEqual(t, srv.URL(), srv.ArchiveURL(), "archives live on another origin")
	_, err := types.ParseTimestamp(m["expires"].(string))
	require.NoError(t, err)

	get := func(url, rg string) (int, http.Header, []byte) {
		req, err := http.NewRequest(http.MethodGet, url, nil)
		require.NoError(t, err)
		if rg != "" {
			req.Header.Set("Range", rg)
		}
		res, err := c.http.Do(req)
		require.NoError(t, err)
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		require.NoError(t, err)
		return res.StatusCode, res.Header, b
	}
	want := srv.ArchiveBytes(path)
	require.Len(t, want, 100_000)
	st, h, body := get(u, "")
	assert.Equal(t, http.StatusOK, st)
	assert.Equal(t, "bytes", h.Get("Accept-Ranges"))
	assert.True(t, bytes.Equal(want, body))
	tr := tar.NewReader(bytes.NewReader(body))
	var names []string
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		names = append(names, hdr.Name)
		b, err := io.ReadAll(tr)
		require.NoError(t, err)
		if hdr.Name == "adapter_config.json" {
			assert.Contains(t, string(b), `"base_model_name_or_path": "meta-llama/Llama-3.2-1B"`)
		} else {
			assert.Greater(t, len(b), 90_000, "the weights fill the archive")
		}
	}
	assert.Equal(t, []string{"adapter_config.json", "adapter_model.safetensors"}, names, "the archive is a tar file")
	st, h, body = get(u, "bytes=99000-")
	assert.Equal(t, http.StatusPartialContent, st)
	assert.Equal(t, "bytes 99000-99999/100000", h.Get("Content-Range"))
	assert.True(t, bytes.Equal(want[99000:], body))
	st, _, _ = get(u, "bytes=100000-")
	assert.Equal(t, http.StatusRequestedRangeNotSatisfiable, st)
	st, _, _ = get(strings.Replace(u, "signature=", "signature=0", 1), "")
	assert.Equal(t, http.StatusForbidden, st, "a tampered signature is refused")
	for _, r := range srv.ArchiveRequests() {
		assert.Empty(t, r.APIKeyFingerprint)
	}
	assert.Equal(t, 4, len(srv.ArchiveRequests()))

	redirect := newServer(t, WithArchives(ArchiveOptions{Redirect: true}))
	rc := client(t, redirect, keyA)
	rc.http.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	_, model = rc.saved(1)
	r := rc.get("training_runs/" + model + "/checkpoints/weights/c0/archive")
	assert.Equal(t, http.StatusFound, r.status)
	assert.True(t, strings.HasPrefix(r.header.Get("Location"), redirect.ArchiveURL()))
	_, err = http.ParseTime(r.header.Get("Expires"))
	assert.NoError(t, err)
}

func TestSessionProjectTraceAndAudit(t *testing.T) {
	srv := newServer(t, WithTraceExport(2, ""))
	c := client(t, srv, keyA)
	sid, model := c.saved(1)
	r := c.do(http.MethodPut, "sessions/"+sid+"/project", []byte(`{"project_id":"proj-1"}`), nil)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	assert.Equal(t, "proj-1", srv.Sessions()[0].ProjectID)
	assert.Equal(t, http.StatusBadRequest, c.do(http.MethodPut, "sessions/"+sid+"/project", []byte(`{"project_id":"p","x":1}`), nil).status)
	assert.Equal(t, http.StatusNotFound, client(t, srv, keyB).do(http.MethodPut, "sessions/"+sid+"/project", []byte(`{"project_id":"p"}`), nil).status)
	assert.Len(t, c.get("training_runs?project_id=proj-1").json(t)["training_runs"], 1)

	for _, want := range []string{"pending", "pending", "ready"} {
		assert.Equal(t, want, c.get("sessions/" + sid + "/trace_export").json(t)["status"])
	}

	require.Equal(t, http.StatusOK, c.do(http.MethodPost, "training_runs/"+model+"/checkpoints/weights/c0/publish", nil, nil).status)
	all := c.get("audit?event_type=all").json(t)["entries"].([]any)
	require.Len(t, all, 2)
	assert.Equal(t, "session_project_assigned", all[0].(map[string]any)["event"])
	cks := c.get("audit?event_type=checkpoints").json(t)["entries"].([]any)
	require.Len(t, cks, 1)
	assert.Equal(t, "tinker://"+model+"/weights/c0", cks[0].(map[string]any)["tinker_path"])
	assert.Len(t, c.get("audit?event_type=all&day=2001-01-01").json(t)["entries"], 0)
	assert.Equal(t, http.StatusBadRequest, c.get("audit?event_type=all&day=yesterday").status)
}

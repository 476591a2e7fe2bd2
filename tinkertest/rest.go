package tinkertest

import (
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// REST reads (and the checkpoint writes) of the RestClient. Training run id
// = model id; checkpoint ids are "weights/<name>" or
// "sampler_weights/<name>".

// restState is what only the REST side keeps, guarded by Server.mu.
type restState struct {
	audit      []auditEntry
	tracePolls map[string]int // trace_export polls per session
}

func (r *restState) init() { r.tracePolls = map[string]int{} }

type auditEntry struct {
	time                      time.Time
	owner, event, model, path string
}

// audit records an event of the caller's audit log. Under mu.
func (c *call) audit(event, model, path string) {
	c.s.rest.audit = append(c.s.rest.audit, auditEntry{time: c.s.now(), owner: c.owner, event: event, model: model, path: path})
}

// checkQuery refuses query parameters the route does not take, repeated
// ones and a query that does not parse: the SDK sends only what it names.
func checkQuery(r *http.Request, rt *routeDef) (reply, bool) {
	if r.URL.RawQuery == "" {
		return reply{}, true
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return detailReply(http.StatusBadRequest, "query: %v", err), false
	}
	for k, vs := range q {
		if !slices.Contains(rt.query, k) {
			if len(rt.query) == 0 {
				return detailReply(http.StatusBadRequest, "query parameter %q: %s takes no query parameters", k, rt.endpoint), false
			}
			return detailReply(http.StatusBadRequest, "query parameter %q: unknown (%s takes %s)", k, rt.endpoint, strings.Join(rt.query, ", ")), false
		}
		if len(vs) > 1 {
			return detailReply(http.StatusBadRequest, "query parameter %q given %d times", k, len(vs)), false
		}
	}
	return reply{}, true
}

const timeFormat = "2006-01-02T15:04:05.000000Z07:00"

func secondsDur(n int64) time.Duration { return time.Duration(n) * time.Second }

func (c *call) page(defLimit int) (limit, offset int, rep reply, ok bool) {
	q := c.r.URL.Query()
	limit, offset = defLimit, 0
	for _, p := range []struct {
		name string
		dst  *int
		min  int
	}{{"limit", &limit, 1}, {"offset", &offset, 0}} {
		if v := q.Get(p.name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < p.min {
				return 0, 0, detailReply(http.StatusBadRequest, "%s: must be an integer >= %d, got %q", p.name, p.min, v), false
			}
			*p.dst = n
		}
	}
	if sc := q.Get("access_scope"); sc != "" && sc != "owned" && sc != "accessible" {
		return 0, 0, detailReply(http.StatusBadRequest, "access_scope: must be owned or accessible, got %q", sc), false
	}
	if m := c.s.cfg.maxPageSize; m > 0 && (limit > m || limit < 0) {
		limit = m
	}
	return limit, offset, reply{}, true
}

// accessible reports whether the request asked for access_scope=accessible.
func (c *call) accessible() bool { return c.r.URL.Query().Get("access_scope") == "accessible" }

func window[T any](xs []T, limit, offset int) []T {
	if offset >= len(xs) {
		return []T{}
	}
	return xs[offset:min(len(xs), offset+limit)]
}

func (ck *checkpoint) json() map[string]any {
	m := map[string]any{"checkpoint_id": ck.id, "checkpoint_type": ck.ctype, "time": ck.time.UTC().Format(timeFormat),
		"tinker_path": ck.path, "size_bytes": ck.size, "public": ck.public}
	if ck.expiresAt != nil {
		m["expires_at"] = ck.expiresAt.UTC().Format(timeFormat)
	}
	return m
}

func (m *model) json() map[string]any {
	out := map[string]any{"training_run_id": m.id, "base_model": m.baseModel, "model_owner": "user:" + m.owner,
		"is_lora": true, "corrupted": false, "lora_rank": m.lora.Rank,
		"last_request_time": m.lastRequest.UTC().Format(timeFormat)}
	if m.lastCkpt != nil {
		out["last_checkpoint"] = m.lastCkpt.json()
	}
	if m.lastSCkpt != nil {
		out["last_sampler_checkpoint"] = m.lastSCkpt.json()
	}
	if m.userMetadata != nil {
		out["user_metadata"] = m.userMetadata
	}
	return out
}

func (c *call) listTrainingRuns() reply {
	limit, offset, rep, ok := c.page(20)
	if !ok {
		return rep
	}
	project := c.r.URL.Query().Get("project_id")
	s := c.s
	s.mu.Lock()
	defer s.mu.Unlock()
	var runs []map[string]any
	for _, m := range s.st.modelOrder {
		if c.visibleRun(m) == nil {
			continue
		}
		if project != "" && s.st.sessions[m.sessionID].ProjectID != project {
			continue
		}
		runs = append(runs, m.json())
	}
	return okJSON(map[string]any{"training_runs": window(runs, limit, offset),
		"cursor": map[string]int{"offset": offset, "limit": limit, "total_count": len(runs)}})
}

// runFor returns the caller's training run (unloaded runs included).
func (c *call) runFor(id string) *model {
	m := c.s.st.models[id]
	if m == nil || m.owner != c.owner {
		return nil
	}
	return m
}

// visibleRun returns m if the caller owns it, or asked for
// access_scope=accessible and m has a public checkpoint. Under mu.
func (c *call) visibleRun(m *model) *model {
	if m == nil {
		return nil
	}
	if m.owner == c.owner {
		return m
	}
	if c.accessible() {
		for _, ck := range c.s.st.ckptOrder {
			if ck.runID == m.id && ck.public && c.s.live(ck) {
				return m
			}
		}
	}
	return nil
}

func (c *call) getTrainingRun() reply {
	if _, _, rep, ok := c.page(1); !ok {
		return rep
	}
	id := c.params[0]
	c.note(func(e *Entry) { e.ModelID = id })
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	m := c.visibleRun(c.s.st.models[id])
	if m == nil {
		return detailReply(http.StatusNotFound, "training run %s not found", id)
	}
	return okJSON(m.json())
}

// listCheckpoints lists a run's checkpoints: all of them without limit and
// offset (as the SDK asks), a page with a cursor when asked for one or when
// WithMaxPageSize caps the list.
func (c *call) listCheckpoints() reply {
	id := c.params[0]
	c.note(func(e *Entry) { e.ModelID = id })
	limit, offset, rep, ok := c.page(-1)
	if !ok {
		return rep
	}
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	if c.runFor(id) == nil {
		return detailReply(http.StatusNotFound, "training run %s not found", id)
	}
	cks := []map[string]any{}
	for _, ck := range c.s.st.ckptOrder {
		if ck.runID == id && c.s.live(ck) {
			cks = append(cks, ck.json())
		}
	}
	if limit < 0 && offset == 0 {
		return okJSON(map[string]any{"checkpoints": cks})
	}
	if limit < 0 {
		limit = len(cks)
	}
	return okJSON(map[string]any{"checkpoints": window(cks, limit, offset),
		"cursor": map[string]int{"offset": offset, "limit": limit, "total_count": len(cks)}})
}

func (c *call) listUserCheckpoints() reply {
	limit, offset, rep, ok := c.page(100)
	if !ok {
		return rep
	}
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	cks := []map[string]any{}
	for _, ck := range c.s.st.ckptOrder {
		if ck.owner == c.owner && c.s.live(ck) {
			cks = append(cks, ck.json())
		}
	}
	return okJSON(map[string]any{"checkpoints": window(cks, limit, offset),
		"cursor": map[string]int{"offset": offset, "limit": limit, "total_count": len(cks)}})
}

// checkpointFor finds the caller's checkpoint named by the route. Under mu.
func (c *call) checkpointFor() (*checkpoint, reply) {
	run, id := c.params[0], c.params[1]
	c.note(func(e *Entry) { e.ModelID = run })
	if c.runFor(run) == nil {
		return nil, detailReply(http.StatusNotFound, "training run %s not found", run)
	}
	for _, ck := range c.s.st.ckptOrder {
		if ck.runID == run && ck.id == id && c.s.live(ck) {
			return ck, reply{}
		}
	}
	return nil, detailReply(http.StatusNotFound, "checkpoint %s of %s not found", id, run)
}

func (c *call) deleteCheckpoint() reply {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	ck, rep := c.checkpointFor()
	if ck == nil {
		return rep
	}
	c.s.removeCheckpoint(ck)
	c.audit("checkpoint_deleted", ck.runID, ck.path)
	return okJSON(map[string]any{})
}

func (c *call) checkpointArchive() reply {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	ck, rep := c.checkpointFor()
	if ck == nil {
		return rep
	}
	c.audit("checkpoint_downloaded", ck.runID, ck.path)
	expires := c.s.now().Add(archiveURLLifetime)
	u := c.s.archives.signedURL(ck.path, expires)
	if c.s.cfg.archive.Redirect {
		return reply{status: http.StatusFound, header: http.Header{"Location": {u}, "Expires": {expires.UTC().Format(http.TimeFormat)}}}
	}
	return okJSON(map[string]string{"url": u, "expires": expires.UTC().Format(timeFormat)})
}

func (c *call) publishCheckpoint() reply {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	ck, rep := c.checkpointFor()
	if ck == nil {
		return rep
	}
	ck.public = c.r.Method == http.MethodPost
	c.audit(map[bool]string{true: "checkpoint_published", false: "checkpoint_unpublished"}[ck.public], ck.runID, ck.path)
	return okJSON(map[string]any{})
}

func (c *call) checkpointTTL() reply {
	o, rep, ok := c.parse()
	if !ok {
		return rep
	}
	if !o.has("ttl_seconds") {
		return detailReply(http.StatusBadRequest, "ttl_seconds: field required (null clears the TTL)")
	}
	var ttl int64
	has := string(o.fields["ttl_seconds"]) != "null"
	if has {
		ttl, _ = o.integer("ttl_seconds", true)
	} else {
		o.seen["ttl_seconds"] = true
	}
	if err := o.finish(); err != nil {
		return detailReply(http.StatusBadRequest, "%v", err)
	}
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	ck, rep := c.checkpointFor()
	if ck == nil {
		return rep
	}
	ck.expiresAt = nil
	if has {
		exp := c.s.now().Add(secondsDur(ttl))
		ck.expiresAt = &exp
	}
	c.audit("checkpoint_ttl_set", ck.runID, ck.path)
	return okJSON(map[string]any{})
}

func (c *call) listSessions() reply {
	limit, offset, rep, ok := c.page(20)
	if !ok {
		return rep
	}
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	ids := []string{}
	for _, ss := range c.s.st.sessionOrder {
		if ss.KeyFingerprint == c.owner {
			ids = append(ids, ss.ID)
		}
	}
	return okJSON(map[string]any{"sessions": window(ids, limit, offset)})
}

func (c *call) getSession() reply {
	if _, _, rep, ok := c.page(1); !ok {
		return rep
	}
	id := c.params[0]
	c.note(func(e *Entry) { e.SessionID = id })
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	if c.s.sessionFor(c.owner, id) == nil {
		return detailReply(http.StatusNotFound, "session %s not found", id)
	}
	runs, samplers := []string{}, []string{}
	for _, m := range c.s.st.modelOrder {
		if m.sessionID == id {
			runs = append(runs, m.id)
		}
	}
	for _, sp := range c.s.st.samplers {
		if sp.sessionID == id {
			samplers = append(samplers, sp.id)
		}
	}
	sort.Strings(samplers)
	return okJSON(map[string]any{"training_run_ids": runs, "sampler_ids": samplers})
}

func (c *call) assignSessionProject() reply {
	o, rep, ok := c.parse()
	if !ok {
		return rep
	}
	project := o.str("project_id", true)
	if err := o.finish(); err != nil {
		return detailReply(http.StatusBadRequest, "%v", err)
	}
	id := c.params[0]
	c.note(func(e *Entry) { e.SessionID = id })
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	ss := c.s.sessionFor(c.owner, id)
	if ss == nil {
		return detailReply(http.StatusNotFound, "session %s not found", id)
	}
	ss.ProjectID = project
	c.audit("session_project_assigned", "", "")
	return okJSON(map[string]any{})
}

// traceExport answers pending to the session's first polls (WithTraceExport),
// then ready with a URL, or failed.
func (c *call) traceExport() reply {
	id := c.params[0]
	c.note(func(e *Entry) { e.SessionID = id })
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	if c.s.sessionFor(c.owner, id) == nil {
		return detailReply(http.StatusNotFound, "session %s not found", id)
	}
	c.s.rest.tracePolls[id]++
	switch {
	case c.s.rest.tracePolls[id] <= c.s.cfg.tracePending:
		return okJSON(map[string]string{"status": "pending"})
	case c.s.cfg.traceFailure != "":
		return okJSON(map[string]string{"status": "failed", "error": c.s.cfg.traceFailure})
	}
	return okJSON(map[string]string{"status": "ready", "url": c.s.ArchiveURL() + "/traces/" + url.PathEscape(id) + ".json"})
}

// auditLog answers the caller's audit entries: event_type all or
// checkpoints (required, as the SDK always sends it), day YYYY-MM-DD (UTC)
// optional.
func (c *call) auditLog() reply {
	q := c.r.URL.Query()
	kind := q.Get("event_type")
	if kind != "all" && kind != "checkpoints" {
		return detailReply(http.StatusBadRequest, "event_type: must be all or checkpoints, got %q", kind)
	}
	var day time.Time
	if d := q.Get("day"); d != "" {
		t, err := time.Parse(time.DateOnly, d)
		if err != nil {
			return detailReply(http.StatusBadRequest, "day: must be YYYY-MM-DD, got %q", d)
		}
		day = t
	}
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	entries := []map[string]any{}
	for _, a := range c.s.rest.audit {
		if a.owner != c.owner || kind == "checkpoints" && !strings.HasPrefix(a.event, "checkpoint_") {
			continue
		}
		if !day.IsZero() && a.time.UTC().Format(time.DateOnly) != day.Format(time.DateOnly) {
			continue
		}
		e := map[string]any{"timestamp": a.time.UTC().Format(timeFormat), "event": a.event}
		if a.model != "" {
			e["model_id"] = a.model
		}
		if a.path != "" {
			e["tinker_path"] = a.path
		}
		entries = append(entries, e)
	}
	return okJSON(map[string]any{"entries": entries})
}

package tinkertest

import (
	"net/http"
	"sort"
	"strconv"
	"time"
)

// REST reads (and the checkpoint writes) of the RestClient. Training run id
// = model id; checkpoint ids are "weights/<name>" or
// "sampler_weights/<name>".

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
	return limit, offset, reply{}, true
}

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
		if m.owner != c.owner {
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

func (c *call) getTrainingRun() reply {
	if _, _, rep, ok := c.page(1); !ok {
		return rep
	}
	id := c.params[0]
	c.note(func(e *Entry) { e.ModelID = id })
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	m := c.runFor(id)
	if m == nil {
		return detailReply(http.StatusNotFound, "training run %s not found", id)
	}
	return okJSON(m.json())
}

func (c *call) listCheckpoints() reply {
	id := c.params[0]
	c.note(func(e *Entry) { e.ModelID = id })
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
	return okJSON(map[string]any{"checkpoints": cks})
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
	return okJSON(map[string]any{})
}

func (c *call) checkpointArchive() reply {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	ck, rep := c.checkpointFor()
	if ck == nil {
		return rep
	}
	return okJSON(map[string]string{"url": c.s.URL() + "/archives/" + ck.runID + "/" + ck.id + ".tar",
		"expires": c.s.now().Add(15 * time.Minute).UTC().Format(timeFormat)})
}

func (c *call) publishCheckpoint() reply {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	ck, rep := c.checkpointFor()
	if ck == nil {
		return rep
	}
	ck.public = c.r.Method == http.MethodPost
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

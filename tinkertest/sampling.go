package tinkertest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// Sampling. Samplers are "<session>:sample:<sampling_session_seq_id>";
// sample request ids are "<sampler_id>:<seq_id>". Sampling seq ids are
// recorded per sampler (Sampler(id).SeqIDs); a seq id resubmitted while its
// future is still held answers the same request id.

// SamplerInfo describes a sampler for tests.
type SamplerInfo struct {
	ID, SessionID, BaseModel, ModelPath string
	KeyFingerprint                      string
	// SeqIDs are the seq_ids of accepted asample requests, in arrival order
	// (the newest 100,000).
	SeqIDs   []int64
	Requests int
}

// Sampler returns what the server knows about sampler id.
func (s *Server) Sampler(id string) (SamplerInfo, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sp := s.st.samplers[id]
	if sp == nil {
		return SamplerInfo{}, false
	}
	return SamplerInfo{ID: sp.id, SessionID: sp.sessionID, BaseModel: sp.baseModel, ModelPath: sp.modelPath,
		KeyFingerprint: sp.owner, SeqIDs: append([]int64(nil), sp.seqIDs...), Requests: sp.requests}, true
}

func (c *call) createSamplingSession() reply {
	o, rep, ok := c.parse()
	if !ok {
		return rep
	}
	sid := o.str("session_id", true)
	sseq, _ := o.integer("sampling_session_seq_id", true)
	base := o.str("base_model", false)
	path := o.str("model_path", false)
	o.literal("type", "create_sampling_session")
	if err := o.finish(); err != nil {
		return detailReply(http.StatusBadRequest, "%v", err)
	}
	id := fmt.Sprintf("%s:sample:%d", sid, sseq)
	c.note(func(e *Entry) { e.SessionID, e.SamplerID, e.SeqID, e.HasSeqID = sid, id, sseq, true })
	if base == "" && path == "" {
		return detailReply(http.StatusBadRequest, "one of base_model and model_path is required")
	}
	if sseq < 0 {
		return detailReply(http.StatusBadRequest, "sampling_session_seq_id must be >= 0")
	}
	s := c.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sessionFor(c.owner, sid) == nil {
		return detailReply(http.StatusNotFound, "session %s not found", sid)
	}
	if old := s.st.samplers[id]; old != nil {
		s.st.duplicates++
		c.note(func(e *Entry) { e.Duplicate = true })
		return okJSON(map[string]string{"sampling_session_id": id, "type": "create_sampling_session"})
	}
	if path != "" {
		_, kind, _, ok := parseTinkerPath(path)
		if !ok || kind != "sampler_weights" {
			return detailReply(http.StatusBadRequest, "model_path %q is not a tinker://<model_id>/sampler_weights/<name> path", path)
		}
		ck := c.visibleCheckpoint(path)
		if ck == nil {
			return detailReply(http.StatusNotFound, "checkpoint %s not found", path)
		}
		if base != "" && base != ck.baseModel {
			return detailReply(http.StatusBadRequest, "base_model %q does not match the checkpoint's %q", base, ck.baseModel)
		}
		base = ck.baseModel
	} else if _, ok := s.baseModel(base); !ok {
		return detailReply(http.StatusBadRequest, "base_model %q is not supported (see get_server_capabilities)", base)
	}
	s.st.samplers[id] = &sampler{id: id, owner: c.owner, sessionID: sid, baseModel: base, modelPath: path}
	return okJSON(map[string]string{"sampling_session_id": id, "type": "create_sampling_session"})
}

func (c *call) getSampler() reply {
	id := c.params[0]
	c.note(func(e *Entry) { e.SamplerID = id })
	s := c.s
	s.mu.Lock()
	defer s.mu.Unlock()
	sp := s.st.samplers[id]
	if sp == nil || sp.owner != c.owner {
		return detailReply(http.StatusNotFound, "sampler %s not found", id)
	}
	out := map[string]any{"sampler_id": id, "base_model": sp.baseModel}
	if sp.modelPath != "" {
		out["model_path"] = sp.modelPath
	}
	return okJSON(out)
}

func parseStop(raw json.RawMessage) (strs []string, toks []int64, err error) {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return []string{s}, nil, nil
	}
	var items []json.RawMessage
	if json.Unmarshal(raw, &items) != nil {
		return nil, nil, fmt.Errorf("sampling_params.stop: must be a string, a list of strings or a list of token ids")
	}
	for _, it := range items {
		if json.Unmarshal(it, &s) == nil && toks == nil {
			strs = append(strs, s)
			continue
		}
		n, ierr := jsonInt(it)
		if ierr != nil || strs != nil {
			return nil, nil, fmt.Errorf("sampling_params.stop: must be a list of only strings or only token ids")
		}
		toks = append(toks, n)
	}
	return strs, toks, nil
}

// parseSample reads an asample body strictly; a non-nil error is a 400.
func parseSample(o *object) (req SampleRequest, sid string, seq int64, err error) {
	sid = o.str("sampling_session_id", true)
	seq, _ = o.integer("seq_id", true)
	n, _ := o.integer("num_samples", true)
	req.NumSamples = int(n)
	req.Prompt = parseModelInput(o, "prompt")
	sp := o.object("sampling_params", true)
	if sp != nil {
		if mt, ok := sp.integer("max_tokens", false); ok {
			if mt < 1 {
				sp.fail("sampling_params.max_tokens: must be >= 1")
			}
			req.MaxTokens = int(mt)
		}
		req.Seed, _ = sp.integer("seed", false)
		if raw := sp.raw("stop", false); raw != nil {
			var err error
			if req.StopStrings, req.StopTokens, err = parseStop(raw); err != nil {
				sp.fail("%v", err)
			}
		}
		req.Temperature, _ = sp.number("temperature", true)
		k, _ := sp.integer("top_k", true)
		req.TopK = int(k)
		req.TopP, _ = sp.number("top_p", true)
		o.child(sp)
	}
	req.PromptLogprobs = o.boolean("prompt_logprobs", true)
	tk, _ := o.integer("topk_prompt_logprobs", true)
	req.TopKPromptLogprobs = int(tk)
	// The SamplingClient never sends these, but they are on SampleRequest.
	o.str("base_model", false)
	o.str("model_path", false)
	o.literal("type", "sample")
	if err := o.finish(); err != nil {
		return req, sid, seq, err
	}
	switch {
	case req.Temperature < 0:
		err = fmt.Errorf("sampling_params.temperature must be >= 0")
	case req.TopP <= 0 || req.TopP > 1:
		err = fmt.Errorf("sampling_params.top_p must be in (0, 1]")
	case req.TopK != -1 && req.TopK < 1:
		err = fmt.Errorf("sampling_params.top_k must be -1 or >= 1")
	case tk < 0:
		err = fmt.Errorf("topk_prompt_logprobs must be >= 0")
	}
	return req, sid, seq, err
}

func (c *call) asample() reply {
	o, rep, ok := c.parse()
	if !ok {
		return rep
	}
	req, sid, seq, err := parseSample(o)
	if err != nil {
		return detailReply(http.StatusBadRequest, "%v", err)
	}
	rid := fmt.Sprintf("%s:%d", sid, seq)
	c.note(func(e *Entry) { e.SamplerID, e.SeqID, e.HasSeqID = sid, seq, true })
	if !strings.Contains(sid, ":sample:") {
		return detailReply(http.StatusNotFound, "sampler %s not found", sid)
	}
	s := c.s
	s.mu.Lock()
	defer s.mu.Unlock()
	smp := s.st.samplers[sid]
	if smp == nil || smp.owner != c.owner {
		return detailReply(http.StatusNotFound, "sampler %s not found", sid)
	}
	if seq < 0 {
		return detailReply(http.StatusBadRequest, "seq_id must be >= 0")
	}
	f, fresh := s.newFuture(rid, c.owner, "Sample")
	f.samplerID, f.seq = sid, seq
	c.note(func(e *Entry) { e.RequestID = rid })
	if !fresh {
		s.st.duplicates++
		c.note(func(e *Entry) { e.Duplicate = true })
		return submitReply(rid)
	}
	smp.requests++
	smp.seqIDs = append(smp.seqIDs, seq)
	if len(smp.seqIDs) > samplerSeqLimit {
		smp.seqIDs = append([]int64(nil), smp.seqIDs[len(smp.seqIDs)-samplerSeqLimit:]...)
	}
	bm, _ := s.baseModel(smp.baseModel)
	s.startOp(&op{fut: f, endpoint: EndpointAsample, run: c.faultRun(func() (any, error) {
		switch {
		case len(req.Prompt) == 0:
			return nil, userErr("prompt is empty")
		case req.NumSamples < 1:
			return nil, userErr("num_samples must be >= 1, got %d", req.NumSamples)
		case bm.MaxContextLength > 0 && len(req.Prompt)+effectiveMaxTokens(req.MaxTokens) > bm.MaxContextLength:
			return nil, userErr("prompt of %d tokens plus max_tokens exceeds the context length %d of %s", len(req.Prompt), bm.MaxContextLength, bm.Name)
		}
		return ExpectedSample(req), nil
	})})
	return submitReply(rid)
}

func effectiveMaxTokens(n int) int {
	if n <= 0 {
		return DefaultMaxTokens
	}
	return n
}

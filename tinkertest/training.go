package tinkertest

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
)

// Training. Every model has a queue ordered by seq_id: op 0 is its creation
// (create_model, or load_weights with session addressing), then the
// TrainingClient's requests from seq_id 1. A request whose seq_id is ahead
// of the next expected one is accepted (answered with its request id) but
// held until the gap fills; a seq_id already seen answers the same request
// id again (Duplicate in the log) without doing the work twice. Request ids
// are "<model_id>:<seq_id>".

// submitReply is a submit's answer: the future to poll.
func submitReply(requestID string) reply {
	return okJSON(map[string]string{"request_id": requestID})
}

// faultRun wraps run so a FutureError fault fails the future instead.
func (c *call) faultRun(run func() (any, error)) func() (any, error) {
	if c.fault != nil && c.fault.f.FutureError != "" {
		f := c.fault.f
		return func() (any, error) { return nil, &opError{msg: f.FutureError, category: f.Category} }
	}
	return run
}

// submitTraining queues one legacy-addressed training request. check runs
// under mu before the future is created (after dedupe) and may refuse the
// request; prepare returns the work.
func (c *call) submitTraining(modelID string, seq int64, endpoint, requestType string,
	check func(m *model) (reply, bool), prepare func(m *model) func() (any, error)) reply {
	c.note(func(e *Entry) { e.ModelID, e.SeqID, e.HasSeqID = modelID, seq, true })
	s := c.s
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.modelFor(c.owner, modelID)
	if m == nil {
		return detailReply(http.StatusNotFound, "model %s not found", modelID)
	}
	if seq < 1 {
		return detailReply(http.StatusBadRequest, "seq_id must be >= 1 for %s, got %d", endpoint, seq)
	}
	if seq > m.nextSeq+100_000 {
		return detailReply(http.StatusBadRequest, "seq_id %d is too far ahead of the model's next seq_id %d", seq, m.nextSeq)
	}
	id := trainRequestID(modelID, seq)
	if m.isDuplicate(seq) {
		if d, ok := m.bodies[seq]; ok && d != c.digest() {
			return detailReply(http.StatusConflict, "seq_id %d of model %s was already used by a different request", seq, modelID)
		}
		s.st.duplicates++
		c.note(func(e *Entry) { e.RequestID, e.Duplicate = id, true })
		return submitReply(id)
	}
	if check != nil {
		if rep, ok := check(m); !ok {
			s.spendSeq(c, m, seq, rep.status)
			return rep
		}
	}
	f, _ := s.newFuture(id, c.owner, requestType)
	f.modelID, f.seq = modelID, seq
	m.bodies[seq] = c.digest()
	m.lastRequest = s.now()
	s.enqueue(m, &op{fut: f, model: m, seq: seq, endpoint: endpoint, run: c.faultRun(prepare(m))})
	c.note(func(e *Entry) { e.RequestID = id })
	return submitReply(id)
}

func parseLora(o *object) loraConfig {
	lc := o.object("lora_config", true)
	if lc == nil {
		return loraConfig{}
	}
	var l loraConfig
	l.Rank, _ = lc.integer("rank", true)
	if seed, ok := lc.integer("seed", false); ok {
		l.Seed = &seed
	}
	l.TrainUnembed = lc.boolean("train_unembed", true)
	l.TrainMLP = lc.boolean("train_mlp", true)
	l.TrainAttn = lc.boolean("train_attn", true)
	o.child(lc)
	return l
}

func (c *call) createModel() reply {
	o, rep, ok := c.parse()
	if !ok {
		return rep
	}
	sid := o.str("session_id", true)
	mseq, _ := o.integer("model_seq_id", true)
	base := o.str("base_model", true)
	meta := o.anyObject("user_metadata", false)
	lora := parseLora(o)
	o.literal("type", "create_model")
	if err := o.finish(); err != nil {
		return detailReply(http.StatusBadRequest, "%v", err)
	}
	if lora.Rank < 1 {
		return detailReply(http.StatusBadRequest, "lora_config.rank must be >= 1, got %d", lora.Rank)
	}
	if !lora.TrainAttn && !lora.TrainMLP && !lora.TrainUnembed {
		return detailReply(http.StatusBadRequest, "lora_config: at least one of train_attn, train_mlp, train_unembed must be true")
	}
	return c.createModelOp(sid, mseq, base, meta, lora, false, "", EndpointCreateModel)
}

// createModelOp creates model "<session>:train:<model_seq_id>" and queues
// its op 0 (create_model, or create-via-load with loadPath).
func (c *call) createModelOp(sid string, mseq int64, base string, meta map[string]any, lora loraConfig, viaLoad bool, loadPath, endpoint string) reply {
	modelID := fmt.Sprintf("%s:train:%d", sid, mseq)
	c.note(func(e *Entry) { e.SessionID, e.ModelID, e.SeqID, e.HasSeqID = sid, modelID, mseq, true })
	s := c.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sessionFor(c.owner, sid) == nil {
		return detailReply(http.StatusNotFound, "session %s not found", sid)
	}
	if mseq < 0 {
		return detailReply(http.StatusBadRequest, "model_seq_id must be >= 0")
	}
	id := trainRequestID(modelID, 0)
	if m := s.st.models[modelID]; m != nil {
		if m.viaLoad != viaLoad {
			return detailReply(http.StatusConflict, "model_seq_id %d of session %s is already used by another request", mseq, sid)
		}
		s.st.duplicates++
		c.note(func(e *Entry) { e.RequestID, e.Duplicate = id, true })
		return submitReply(id)
	}
	var ck *checkpoint
	if viaLoad {
		var rep reply
		if ck, rep = c.loadableCheckpoint(loadPath); ck == nil {
			return rep
		}
		if base == "" {
			base = ck.baseModel
		}
		lora = ck.lora
	}
	if _, ok := s.baseModel(base); !ok {
		return detailReply(http.StatusBadRequest, "base_model %q is not supported (see get_server_capabilities)", base)
	}
	m := &model{id: modelID, owner: c.owner, sessionID: sid, baseModel: base, lora: lora, userMetadata: meta,
		created: s.now(), lastRequest: s.now(), viaLoad: viaLoad, pending: map[int64]*op{}, pendingSaves: map[string]bool{},
		bodies: map[int64][32]byte{}}
	s.st.models[modelID] = m
	s.st.modelOrder = append(s.st.modelOrder, m)
	f, _ := s.newFuture(id, c.owner, map[bool]string{false: "CreateModel", true: "LoadWeights"}[viaLoad])
	f.modelID = modelID
	run := func() (any, error) { return map[string]string{"model_id": modelID, "type": "create_model"}, nil }
	if viaLoad {
		run = func() (any, error) {
			return map[string]string{"model_id": modelID, "path": loadPath, "type": "load_weights"}, nil
		}
	}
	s.enqueue(m, &op{fut: f, model: m, seq: 0, endpoint: endpoint, run: c.faultRun(run)})
	c.note(func(e *Entry) { e.RequestID = id })
	return submitReply(id)
}

// modelIDBody reads a {"model_id", "type": literal} body.
func (c *call) modelIDBody(literal string) (string, reply, bool) {
	o, rep, ok := c.parse()
	if !ok {
		return "", rep, false
	}
	id := o.str("model_id", true)
	o.literal("type", literal)
	if err := o.finish(); err != nil {
		return "", detailReply(http.StatusBadRequest, "%v", err), false
	}
	c.note(func(e *Entry) { e.ModelID = id })
	return id, reply{}, true
}

func (c *call) getInfo() reply {
	id, rep, ok := c.modelIDBody("get_info")
	if !ok {
		return rep
	}
	s := c.s
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.modelFor(c.owner, id)
	if m == nil {
		return detailReply(http.StatusNotFound, "model %s not found", id)
	}
	bm, _ := s.baseModel(m.baseModel)
	return okJSON(map[string]any{
		"model_id":   id,
		"model_data": map[string]any{"arch": bm.Arch, "model_name": m.baseModel, "tokenizer_id": m.baseModel},
		"is_lora":    true,
		"lora_rank":  m.lora.Rank,
		"model_name": m.baseModel,
		"type":       "get_info",
	})
}

// forwardBackward accepts the 0.25 protobuf body (optionally zstd) and the
// ≤0.24 JSON body, by Content-Type.
func (c *call) forwardBackward() reply {
	ct := strings.ToLower(c.r.Header.Get("Content-Type"))
	if strings.HasPrefix(ct, "application/json") {
		return c.fwdbwdJSON("forward_backward_input", false)
	}
	if !strings.HasPrefix(ct, "application/x-protobuf") {
		return detailReply(http.StatusUnsupportedMediaType, "forward_backward takes application/x-protobuf (or the legacy application/json), got %q", ct)
	}
	req, err := decodeFwdBwdProto(c.body)
	if err != nil {
		return detailReply(http.StatusBadRequest, "invalid ForwardBackwardRequest protobuf: %v", err)
	}
	c.note(func(e *Entry) { e.Body = fwdbwdSummary(req) })
	if req.ModelID == "" {
		return detailReply(http.StatusBadRequest, "model_id: field required")
	}
	if req.LossFn == "" {
		return detailReply(http.StatusBadRequest, "loss_fn: field required")
	}
	return c.submitFwdBwd(req)
}

func fwdbwdSummary(r *fwdbwdRequest) map[string]any {
	return map[string]any{"model_id": r.ModelID, "seq_id": r.SeqID, "loss_fn": r.LossFn,
		"loss_fn_config": r.LossFnConfig, "forward_only": r.ForwardOnly, "num_datums": len(r.Data)}
}

// forwardLegacy is the ≤0.24 POST /api/v1/forward.
func (c *call) forwardLegacy() reply { return c.fwdbwdJSON("forward_input", true) }

func (c *call) fwdbwdJSON(inputField string, forwardOnly bool) reply {
	o, rep, ok := c.parse()
	if !ok {
		return rep
	}
	req := &fwdbwdRequest{ForwardOnly: forwardOnly, LossFnConfig: map[string]float64{}}
	req.ModelID = o.str("model_id", true)
	req.SeqID, _ = o.integer("seq_id", true)
	if o.has("type") {
		o.str("type", false)
	}
	in := o.object(inputField, true)
	if in != nil {
		req.LossFn = in.str("loss_fn", true)
		if cfg := in.object("loss_fn_config", false); cfg != nil {
			for k := range cfg.fields {
				req.LossFnConfig[k], _ = cfg.number(k, true)
			}
			in.child(cfg)
		}
		for i, raw := range in.array("data", true) {
			d, err := parseObject(fmt.Sprintf("%s.data[%d]", inputField, i), raw)
			if err != nil {
				in.fail("%v", err)
				break
			}
			dat := Datum{Tokens: parseModelInput(d, "model_input"), Inputs: map[string]Tensor{}}
			if lfi := d.object("loss_fn_inputs", true); lfi != nil {
				for k, v := range lfi.fields {
					lfi.seen[k] = true
					t, err := parseTensorJSON(lfi.name(k), v)
					if err != nil {
						lfi.fail("%v", err)
						continue
					}
					dat.Inputs[k] = t
				}
				d.child(lfi)
			}
			in.child(d)
			req.Data = append(req.Data, dat)
		}
		o.child(in)
	}
	if err := o.finish(); err != nil {
		return detailReply(http.StatusBadRequest, "%v", err)
	}
	return c.submitFwdBwd(req)
}

func (c *call) submitFwdBwd(req *fwdbwdRequest) reply {
	rt := "ForwardBackward"
	if req.ForwardOnly {
		rt = "Forward"
	}
	return c.submitTraining(req.ModelID, req.SeqID, EndpointForwardBackward, rt, nil, func(m *model) func() (any, error) {
		return func() (any, error) {
			res, err := ExpectedForwardBackward(req.Data, req.LossFn, req.LossFnConfig)
			if err != nil {
				return nil, userErr("%v", err)
			}
			if !req.ForwardOnly {
				m.accumulated += abs(res.Metrics["loss:sum"])
			}
			return res, nil
		}
	})
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

func (c *call) optimStep() reply {
	o, rep, ok := c.parse()
	if !ok {
		return rep
	}
	ap := o.object("adam_params", true)
	var p AdamParams
	if ap != nil {
		p.LearningRate, _ = ap.number("learning_rate", true)
		p.Beta1, _ = ap.number("beta1", true)
		p.Beta2, _ = ap.number("beta2", true)
		p.Eps, _ = ap.number("eps", true)
		p.WeightDecay, _ = ap.number("weight_decay", true)
		p.GradClipNorm, _ = ap.number("grad_clip_norm", true)
		o.child(ap)
	}
	id := o.str("model_id", true)
	seq, _ := o.integer("seq_id", true)
	o.literal("type", "optim_step")
	if err := o.finish(); err != nil {
		return detailReply(http.StatusBadRequest, "%v", err)
	}
	if p.LearningRate < 0 || p.Beta1 < 0 || p.Beta1 >= 1 || p.Beta2 < 0 || p.Beta2 >= 1 || p.Eps < 0 || p.WeightDecay < 0 || p.GradClipNorm < 0 {
		return detailReply(http.StatusBadRequest, "adam_params out of range: %+v", p)
	}
	return c.submitTraining(id, seq, EndpointOptimStep, "OptimStep", nil, func(m *model) func() (any, error) {
		return func() (any, error) {
			m.step++
			metrics := ExpectedOptimStep(m.step, p, m.accumulated)
			m.accumulated = 0
			return map[string]any{"metrics": metrics, "type": "optim_step"}, nil
		}
	})
}

var checkpointName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

func (c *call) saveWeights() reply {
	o, rep, ok := c.parse()
	if !ok {
		return rep
	}
	id := o.str("model_id", true)
	name := o.str("path", true)
	seq, _ := o.integer("seq_id", true)
	ttl, hasTTL := o.integer("ttl_seconds", false)
	overwrite := o.boolean("overwrite", true)
	o.literal("type", "save_weights")
	if err := o.finish(); err != nil {
		return detailReply(http.StatusBadRequest, "%v", err)
	}
	if !checkpointName.MatchString(name) {
		return detailReply(http.StatusBadRequest, "path: %q is not a valid checkpoint name (letters, digits, '.', '_', '-')", name)
	}
	if hasTTL && ttl <= 0 {
		return detailReply(http.StatusBadRequest, "ttl_seconds must be > 0")
	}
	path := fmt.Sprintf("tinker://%s/weights/%s", id, name)
	check := func(m *model) (reply, bool) {
		if ck := c.s.st.checkpoints[path]; !overwrite && (ck != nil && c.s.live(ck) || m.pendingSaves[path]) {
			return detailReply(http.StatusConflict, "checkpoint %s already exists; pass overwrite=true to replace it", path), false
		}
		m.pendingSaves[path] = true
		return reply{}, true
	}
	return c.submitTraining(id, seq, EndpointSaveWeights, "SaveWeights", check, func(m *model) func() (any, error) {
		return func() (any, error) {
			delete(m.pendingSaves, path)
			ck := c.s.addCheckpoint(m, "training", "weights/"+name, path, ttl, hasTTL)
			m.lastCkpt = ck
			return map[string]string{"path": path, "type": "save_weights"}, nil
		}
	})
}

func (c *call) saveWeightsForSampler() reply {
	o, rep, ok := c.parse()
	if !ok {
		return rep
	}
	id := o.str("model_id", true)
	name := o.str("path", false)
	sseq, unnamed := o.integer("sampling_session_seq_id", false)
	seq, _ := o.integer("seq_id", true)
	ttl, hasTTL := o.integer("ttl_seconds", false)
	o.literal("type", "save_weights_for_sampler")
	if err := o.finish(); err != nil {
		return detailReply(http.StatusBadRequest, "%v", err)
	}
	named := o.has("path")
	switch {
	case named == unnamed:
		return detailReply(http.StatusBadRequest, "exactly one of path (named save) and sampling_session_seq_id (unnamed save) is required")
	case named && !checkpointName.MatchString(name):
		return detailReply(http.StatusBadRequest, "path: %q is not a valid checkpoint name", name)
	case unnamed && sseq < 0:
		return detailReply(http.StatusBadRequest, "sampling_session_seq_id must be >= 0")
	case hasTTL && ttl <= 0:
		return detailReply(http.StatusBadRequest, "ttl_seconds must be > 0")
	}
	return c.submitTraining(id, seq, EndpointSaveWeightsForSampler, "SaveWeightsForSampler", nil, func(m *model) func() (any, error) {
		return func() (any, error) {
			s := c.s
			if named {
				path := fmt.Sprintf("tinker://%s/sampler_weights/%s", m.id, name)
				m.lastSCkpt = s.addCheckpoint(m, "sampler", "sampler_weights/"+name, path, ttl, hasTTL)
				return map[string]string{"path": path, "type": "save_weights_for_sampler"}, nil
			}
			sid := fmt.Sprintf("%s:sample:%d", m.sessionID, sseq)
			if old := s.st.samplers[sid]; old == nil {
				s.st.samplers[sid] = &sampler{id: sid, owner: m.owner, sessionID: m.sessionID, baseModel: m.baseModel,
					modelPath: fmt.Sprintf("tinker://%s/sampler_weights/ephemeral-%d", m.id, sseq)}
			}
			return map[string]string{"sampling_session_id": sid, "type": "save_weights_for_sampler"}, nil
		}
	})
}

func (s *Server) addCheckpoint(m *model, ctype, id, path string, ttl int64, hasTTL bool) *checkpoint {
	now := s.now()
	ck := &checkpoint{runID: m.id, id: id, ctype: ctype, path: path, owner: m.owner, baseModel: m.baseModel,
		lora: m.lora, time: now, size: 1 << 20 * m.lora.Rank}
	if hasTTL {
		exp := now.Add(secondsDur(ttl))
		ck.expiresAt = &exp
	}
	if old := s.st.checkpoints[path]; old != nil {
		s.removeCheckpoint(old)
	}
	s.st.checkpoints[path] = ck
	s.st.ckptOrder = append(s.st.ckptOrder, ck)
	return ck
}

func (s *Server) removeCheckpoint(ck *checkpoint) {
	delete(s.st.checkpoints, ck.path)
	for i, o := range s.st.ckptOrder {
		if o == ck {
			s.st.ckptOrder = append(s.st.ckptOrder[:i], s.st.ckptOrder[i+1:]...)
			return
		}
	}
}

// live reports whether ck has not passed its TTL.
func (s *Server) live(ck *checkpoint) bool {
	return ck.expiresAt == nil || s.now().Before(*ck.expiresAt)
}

// visibleCheckpoint returns the checkpoint at path if it exists, has not
// expired, and the caller owns it or it is public. Under mu.
func (c *call) visibleCheckpoint(path string) *checkpoint {
	ck := c.s.st.checkpoints[path]
	if ck == nil || !c.s.live(ck) || ck.owner != c.owner && !ck.public {
		return nil
	}
	return ck
}

// parseTinkerPath splits tinker://<model_id>/<weights|sampler_weights>/<name>.
func parseTinkerPath(p string) (run, kind, name string, ok bool) {
	rest, found := strings.CutPrefix(p, "tinker://")
	if !found {
		return "", "", "", false
	}
	parts := strings.Split(rest, "/")
	if len(parts) != 3 || parts[0] == "" || parts[2] == "" || parts[1] != "weights" && parts[1] != "sampler_weights" {
		return "", "", "", false
	}
	return parts[0], parts[1], parts[2], true
}

// loadableCheckpoint finds a training checkpoint the caller may load.
// Under mu.
func (c *call) loadableCheckpoint(path string) (*checkpoint, reply) {
	_, kind, _, ok := parseTinkerPath(path)
	if !ok {
		return nil, detailReply(http.StatusBadRequest, "path %q is not a tinker://<model_id>/weights/<name> path", path)
	}
	if kind != "weights" {
		return nil, detailReply(http.StatusBadRequest, "path %q holds sampler weights, which cannot be loaded for training", path)
	}
	ck := c.visibleCheckpoint(path)
	if ck == nil {
		return nil, detailReply(http.StatusNotFound, "checkpoint %s not found", path)
	}
	return ck, reply{}
}

func (c *call) loadWeights() reply {
	o, rep, ok := c.parse()
	if !ok {
		return rep
	}
	path := o.str("path", true)
	o.boolean("optimizer", true)
	o.str("weights_access_token", false)
	o.literal("type", "load_weights")
	if o.has("session_id") || o.has("model_seq_id") {
		sid := o.str("session_id", true)
		mseq, _ := o.integer("model_seq_id", true)
		base := o.str("base_model", false)
		meta := o.anyObject("user_metadata", false)
		if err := o.finish(); err != nil {
			return detailReply(http.StatusBadRequest, "%v", err)
		}
		return c.createModelOp(sid, mseq, base, meta, loraConfig{}, true, path, EndpointLoadWeights)
	}
	id := o.str("model_id", true)
	seq, _ := o.integer("seq_id", true)
	if err := o.finish(); err != nil {
		return detailReply(http.StatusBadRequest, "%v", err)
	}
	check := func(m *model) (reply, bool) {
		if _, rep := c.loadableCheckpoint(path); rep.status != 0 {
			return rep, false
		}
		return reply{}, true
	}
	return c.submitTraining(id, seq, EndpointLoadWeights, "LoadWeights", check, func(m *model) func() (any, error) {
		return func() (any, error) {
			if c.visibleCheckpoint(path) == nil {
				return nil, userErr("checkpoint %s not found", path)
			}
			return map[string]string{"path": path, "type": "load_weights"}, nil
		}
	})
}

func (c *call) unloadModel() reply {
	id, rep, ok := c.modelIDBody("unload_model")
	if !ok {
		return rep
	}
	s := c.s
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.modelFor(c.owner, id)
	if m == nil {
		return detailReply(http.StatusNotFound, "model %s not found", id)
	}
	rid := id + ":unload"
	f, _ := s.newFuture(rid, c.owner, "UnloadModel")
	c.note(func(e *Entry) { e.RequestID = rid })
	s.startOp(&op{fut: f, endpoint: EndpointUnloadModel, run: c.faultRun(func() (any, error) {
		m.unloaded = true
		for seq, p := range m.pending {
			delete(m.pending, seq)
			s.complete(p.fut, nil, userErr("model %s was unloaded", id))
		}
		return map[string]string{"model_id": id, "type": "unload_model"}, nil
	})})
	return okJSON(map[string]string{"request_id": rid, "model_id": id})
}

func (c *call) weightsInfo() reply {
	o, rep, ok := c.parse()
	if !ok {
		return rep
	}
	path := o.str("tinker_path", true)
	if err := o.finish(); err != nil {
		return detailReply(http.StatusBadRequest, "%v", err)
	}
	if _, _, _, ok := parseTinkerPath(path); !ok {
		return detailReply(http.StatusBadRequest, "tinker_path %q is not a tinker:// checkpoint path", path)
	}
	s := c.s
	s.mu.Lock()
	defer s.mu.Unlock()
	ck := c.visibleCheckpoint(path)
	if ck == nil {
		return detailReply(http.StatusNotFound, "checkpoint %s not found", path)
	}
	return okJSON(map[string]any{"base_model": ck.baseModel, "is_lora": true, "lora_rank": ck.lora.Rank,
		"train_unembed": ck.lora.TrainUnembed, "train_mlp": ck.lora.TrainMLP, "train_attn": ck.lora.TrainAttn})
}

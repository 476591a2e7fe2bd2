package tinkertest

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestStartupEndpoints(t *testing.T) {
	srv := newServer(t, WithClientConfig(map[string]any{"proto_compress_fwdbwd": true}), WithRefreshInterval(42))
	c := client(t, srv, keyA)

	h := client(t, srv, "").get(EndpointHealthz)
	assert.Equal(t, http.StatusOK, h.status, "healthz needs no key")
	assert.Equal(t, "ok", h.json(t)["status"])

	caps := c.get(EndpointCapabilities)
	require.Equal(t, http.StatusOK, caps.status)
	models := caps.json(t)["supported_models"].([]any)
	assert.Len(t, models, len(DefaultModels))
	assert.Equal(t, DefaultModels[0].Name, models[0].(map[string]any)["model_name"])

	cfg := c.ok(EndpointClientConfig, map[string]any{"sdk_version": "0.25.0"})
	assert.Equal(t, true, cfg["proto_compress_fwdbwd"])
	assert.Contains(t, cfg, "tinkertest_unknown_field", "clients must cope with unknown fields")

	dyn := c.ok(EndpointDynamicConfig, map[string]any{"sdk_version": "0.25.0"})
	assert.EqualValues(t, 42, dyn["refresh_interval_sec"])

	sid := c.session()
	sessions := srv.Sessions()
	require.Len(t, sessions, 1)
	assert.Equal(t, sid, sessions[0].ID)
	assert.Equal(t, "0.25.0", sessions[0].SDKVersion)

	for range 3 {
		c.ok(EndpointHeartbeat, map[string]any{"session_id": sid, "type": "session_heartbeat"})
	}
	assert.Equal(t, 3, srv.Heartbeats(sid))
	r := c.post(EndpointHeartbeat, map[string]any{"session_id": "nope", "type": "session_heartbeat"})
	assert.Equal(t, http.StatusNotFound, r.status)

	// Another key cannot heartbeat this session.
	r = client(t, srv, keyB).post(EndpointHeartbeat, map[string]any{"session_id": sid, "type": "session_heartbeat"})
	assert.Equal(t, http.StatusNotFound, r.status)
}

func TestSessionMessages(t *testing.T) {
	srv := newServer(t, WithSessionMessages("hello", "careful", ""))
	m := client(t, srv, keyA).ok(EndpointCreateSession, sessionBody)
	assert.Equal(t, "hello", m["info_message"])
	assert.Equal(t, "careful", m["warning_message"])
	assert.NotContains(t, m, "error_message")
}

func TestDynamicConfigCanBeAbsent(t *testing.T) {
	srv := newServer(t, WithoutDynamicConfig())
	r := client(t, srv, keyA).post(EndpointDynamicConfig, map[string]any{"sdk_version": "0.25.0"})
	assert.Equal(t, http.StatusNotFound, r.status)
}

func TestTelemetryValidation(t *testing.T) {
	srv := newServer(t)
	c := client(t, srv, keyA)
	ev := func(kind string) map[string]any {
		return map[string]any{"event": kind, "event_id": "x", "event_session_index": 1, "severity": "WARNING",
			"timestamp": "2026-11-26T17:00:00+00:00", "event_name": "user_error", "event_data": map[string]any{"a": 1}}
	}
	batch := func(events ...any) map[string]any {
		return map[string]any{"events": events, "platform": "Linux", "sdk_version": "0.25.0", "session_id": "s"}
	}
	c.ok(EndpointTelemetry, batch(ev("GENERIC_EVENT")))
	bad := ev("NOT_AN_EVENT")
	delete(bad, "event_name")
	delete(bad, "event_data")
	assert.Equal(t, http.StatusBadRequest, c.post(EndpointTelemetry, batch(bad)).status)
	noTS := ev("GENERIC_EVENT")
	delete(noTS, "timestamp")
	assert.Equal(t, http.StatusBadRequest, c.post(EndpointTelemetry, batch(noTS)).status)
	many := make([]any, maxTelemetryEvents+1)
	for i := range many {
		many[i] = ev("GENERIC_EVENT")
	}
	assert.Equal(t, http.StatusBadRequest, c.post(EndpointTelemetry, batch(many...)).status)
	batches := srv.TelemetryBatches()
	require.Len(t, batches, 1, "rejected batches are not stored")
	assert.Equal(t, "user_error", batches[0].Events[0]["event_name"])
}

func TestTrainingEndpoints(t *testing.T) {
	srv := newServer(t)
	c := client(t, srv, keyA)
	sid := c.session()
	model := c.model(sid, 0)
	assert.Equal(t, sid+":train:0", model)

	info := c.ok(EndpointGetInfo, map[string]any{"model_id": model, "type": "get_info"})
	assert.Equal(t, "meta-llama/Llama-3.2-1B", info["model_name"])
	assert.EqualValues(t, 8, info["lora_rank"])
	assert.Equal(t, "llama", info["model_data"].(map[string]any)["arch"])

	// save_weights, then its conflict without overwrite.
	sv := c.ok(EndpointSaveWeights, map[string]any{"model_id": model, "path": "ckpt", "seq_id": 1, "overwrite": false, "type": "save_weights"})
	path := c.result(sv["request_id"].(string))["path"].(string)
	assert.Equal(t, "tinker://"+model+"/weights/ckpt", path)
	r := c.post(EndpointSaveWeights, map[string]any{"model_id": model, "path": "ckpt", "seq_id": 2, "overwrite": false, "type": "save_weights"})
	assert.Equal(t, http.StatusConflict, r.status, "%s", r.body)
	// The refusal spent seq_id 2 (the model does not wait for it); the
	// overwrite is the next request.
	sv = c.ok(EndpointSaveWeights, map[string]any{"model_id": model, "path": "ckpt", "seq_id": 3, "overwrite": true, "ttl_seconds": 60, "type": "save_weights"})
	c.result(sv["request_id"].(string))

	wi := c.ok(EndpointWeightsInfo, map[string]any{"tinker_path": path})
	assert.Equal(t, "meta-llama/Llama-3.2-1B", wi["base_model"])
	assert.Equal(t, true, wi["is_lora"])
	assert.Equal(t, http.StatusNotFound, c.post(EndpointWeightsInfo, map[string]any{"tinker_path": "tinker://x:train:0/weights/none"}).status)
	assert.Equal(t, http.StatusNotFound, client(t, srv, keyB).post(EndpointWeightsInfo, map[string]any{"tinker_path": path}).status)

	// Legacy load.
	ld := c.ok(EndpointLoadWeights, map[string]any{"model_id": model, "seq_id": 4, "path": path, "optimizer": true, "type": "load_weights"})
	assert.Equal(t, path, c.result(ld["request_id"].(string))["path"])

	// Unnamed save for sampler creates a sampler.
	us := c.ok(EndpointSaveWeightsForSampler, map[string]any{"model_id": model, "sampling_session_seq_id": 4, "seq_id": 5, "type": "save_weights_for_sampler"})
	smp := c.result(us["request_id"].(string))["sampling_session_id"].(string)
	assert.Equal(t, sid+":sample:4", smp)
	got := c.get("samplers/" + url.PathEscape(smp))
	require.Equal(t, http.StatusOK, got.status, "%s", got.body)
	assert.Equal(t, "meta-llama/Llama-3.2-1B", got.json(t)["base_model"])

	// Both or neither of path and sampling_session_seq_id: 400.
	assert.Equal(t, http.StatusBadRequest, c.post(EndpointSaveWeightsForSampler, map[string]any{"model_id": model, "seq_id": 6, "type": "save_weights_for_sampler"}).status)

	// Create-via-load: model <session>:train:<n>, op seq 0, then seq 1 on.
	vl := c.ok(EndpointLoadWeights, map[string]any{"session_id": sid, "model_seq_id": 1, "path": path, "optimizer": false, "type": "load_weights"})
	res := c.result(vl["request_id"].(string))
	assert.Equal(t, sid+":train:1", res["model_id"])
	assert.Equal(t, sid+":train:1:0", vl["request_id"])
	o := c.ok(EndpointOptimStep, optimBody(sid+":train:1", 1, 1e-3))
	assert.EqualValues(t, 1, c.result(o["request_id"].(string))["metrics"].(map[string]any)["step:max"])
	assert.Equal(t, http.StatusBadRequest, c.post(EndpointOptimStep, optimBody(sid+":train:1", 0, 1e-3)).status, "seq 0 is rejected on the legacy path")

	// Unload: the model is gone afterwards.
	ul := c.ok(EndpointUnloadModel, map[string]any{"model_id": model, "type": "unload_model"})
	assert.Equal(t, model, c.result(ul["request_id"].(string))["model_id"])
	assert.Equal(t, http.StatusNotFound, c.post(EndpointGetInfo, map[string]any{"model_id": model, "type": "get_info"}).status)
	assert.Equal(t, http.StatusNotFound, c.post(EndpointOptimStep, optimBody(model, 5, 1e-3)).status)
}

func TestRESTReads(t *testing.T) {
	srv := newServer(t)
	c := client(t, srv, keyA)
	sid := c.session()
	model := c.model(sid, 0)
	c.model(sid, 1)
	sv := c.ok(EndpointSaveWeights, map[string]any{"model_id": model, "path": "a", "seq_id": 1, "overwrite": false, "type": "save_weights"})
	c.result(sv["request_id"].(string))
	sv = c.ok(EndpointSaveWeightsForSampler, map[string]any{"model_id": model, "path": "b", "seq_id": 2, "type": "save_weights_for_sampler"})
	c.result(sv["request_id"].(string))

	runs := c.get("training_runs?limit=1&offset=1&access_scope=owned")
	require.Equal(t, http.StatusOK, runs.status, "%s", runs.body)
	m := runs.json(t)
	assert.Len(t, m["training_runs"], 1)
	assert.EqualValues(t, 2, m["cursor"].(map[string]any)["total_count"])
	assert.Equal(t, http.StatusBadRequest, c.get("training_runs?limit=zero").status)
	assert.Equal(t, 0, len(client(t, srv, keyB).get("training_runs").json(t)["training_runs"].([]any)), "runs are per key")

	run := c.get("training_runs/" + model)
	require.Equal(t, http.StatusOK, run.status)
	assert.Equal(t, model, run.json(t)["training_run_id"])
	assert.Equal(t, "tinker://"+model+"/weights/a", run.json(t)["last_checkpoint"].(map[string]any)["tinker_path"])
	assert.Equal(t, http.StatusNotFound, c.get("training_runs/nope").status)

	cks := c.get("training_runs/" + model + "/checkpoints").json(t)["checkpoints"].([]any)
	require.Len(t, cks, 2)
	assert.Equal(t, "weights/a", cks[0].(map[string]any)["checkpoint_id"])
	assert.Equal(t, "sampler", cks[1].(map[string]any)["checkpoint_type"])

	all := c.get("checkpoints?limit=10").json(t)
	assert.Len(t, all["checkpoints"], 2)

	// Checkpoint ids contain a slash: raw or %2F-escaped both route.
	arch := c.get("training_runs/" + model + "/checkpoints/weights/a/archive")
	assert.Equal(t, http.StatusOK, arch.status, "%s", arch.body)
	assert.Equal(t, http.StatusOK, c.do(http.MethodPost, "training_runs/"+model+"/checkpoints/weights%2Fa/publish", nil, nil).status)
	assert.Equal(t, http.StatusOK, c.do(http.MethodPut, "training_runs/"+model+"/checkpoints/weights/a/ttl", []byte(`{"ttl_seconds":null}`), nil).status)
	assert.Equal(t, http.StatusOK, c.do(http.MethodDelete, "training_runs/"+model+"/checkpoints/sampler_weights/b", nil, nil).status)
	assert.Len(t, c.get("training_runs/" + model + "/checkpoints").json(t)["checkpoints"], 1)
	assert.Equal(t, http.StatusNotFound, c.do(http.MethodDelete, "training_runs/"+model+"/checkpoints/sampler_weights/b", nil, nil).status)

	sess := c.get("sessions/" + sid).json(t)
	assert.Len(t, sess["training_run_ids"], 2)
	assert.Equal(t, []any{sid}, c.get("sessions").json(t)["sessions"])
}

func TestRoutingErrors(t *testing.T) {
	srv := newServer(t)
	c := client(t, srv, keyA)
	r := c.get("no_such_endpoint")
	assert.Equal(t, http.StatusNotFound, r.status)
	assert.Contains(t, r.json(t), "detail")
	r = c.get(EndpointCreateSession)
	assert.Equal(t, http.StatusMethodNotAllowed, r.status)
	assert.Equal(t, "POST", r.header.Get("Allow"))
	r = c.post(EndpointHealthz, map[string]any{})
	assert.Equal(t, http.StatusMethodNotAllowed, r.status)
	r = c.do(http.MethodGet, "../healthz", nil, nil)
	assert.Equal(t, http.StatusNotFound, r.status)
}

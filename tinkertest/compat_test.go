package tinkertest

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tinkex-go/tinkex/types"
)

// TestTypesRequestsAreAccepted posts every request body the types package
// builds to the fake's strict schema: a field the fake does not know, a
// missing field or a wrong literal would fail here.
func TestTypesRequestsAreAccepted(t *testing.T) {
	srv := newServer(t, WithJWT(time.Hour))
	raw := client(t, srv, keyA)
	raw.ok(EndpointClientConfig, types.ClientConfigRequest{SDKVersion: "0.25.0"})
	jwt := raw.ok(EndpointAuthToken, types.AuthTokenRequest{})["jwt"].(string)
	c := client(t, srv, jwt)
	c.ok(EndpointDynamicConfig, types.DynamicConfigRequest{SDKVersion: "0.25.0"})
	sid := c.ok(EndpointCreateSession, types.CreateSessionRequest{SDKVersion: "0.25.0", ProjectID: "p"})["session_id"].(string)
	c.ok(EndpointTelemetry, types.TelemetrySendRequest{SessionID: sid, SDKVersion: "0.25.0", Platform: "Linux", ProcessUUID: "u",
		Events: []types.TelemetryEvent{
			{Event: types.TelemetrySessionStart, EventID: "1", Severity: types.SeverityInfo, Timestamp: time.Now().UTC()},
			{Event: types.TelemetryGenericEvent, EventID: "2", EventSessionIndex: 1, Severity: types.SeverityWarning, Timestamp: time.Now(),
				EventName: "user_error", EventData: map[string]any{"status_code": 400}},
			{Event: types.TelemetryUnhandledException, EventID: "3", EventSessionIndex: 2, Severity: types.SeverityError, Timestamp: time.Now(),
				ErrorType: "ValueError", ErrorMessage: "x"},
			{Event: types.TelemetrySessionEnd, EventID: "4", EventSessionIndex: 3, Severity: types.SeverityInfo, Timestamp: time.Now(),
				Duration: types.FormatTelemetryDuration(time.Minute)},
		}})

	cm := c.ok(EndpointCreateModel, types.CreateModelRequest{SessionID: sid, BaseModel: "Qwen/Qwen3-8B", LoraConfig: types.NewLoraConfig(4),
		UserMetadata: map[string]any{"k": "v"}})
	model := c.result(cm["request_id"].(string))["model_id"].(string)
	c.ok(EndpointGetInfo, types.GetInfoRequest{ModelID: model})

	ttl := int64(3600)
	sv := c.ok(EndpointSaveWeights, types.SaveWeightsRequest{ModelID: model, Path: "w1", SeqID: 1, TTLSeconds: &ttl})
	path := c.result(sv["request_id"].(string))["path"].(string)
	c.ok(EndpointWeightsInfo, types.WeightsInfoRequest{TinkerPath: path})
	ld := c.ok(EndpointLoadWeights, types.LoadWeightsRequest{ModelID: model, SeqID: 2, Path: path, Optimizer: true})
	c.result(ld["request_id"].(string))
	sseq := int64(3)
	us := c.ok(EndpointSaveWeightsForSampler, types.SaveWeightsForSamplerRequest{ModelID: model, SamplingSessionSeqID: &sseq, SeqID: 3})
	assert.Equal(t, sid+":sample:3", c.result(us["request_id"].(string))["sampling_session_id"])

	vl := c.ok(EndpointLoadWeights, types.CreateModelFromWeightsRequest{SessionID: sid, ModelSeqID: 1, Path: path})
	assert.Equal(t, sid+":train:1", c.result(vl["request_id"].(string))["model_id"])

	maxTok, seed := 3, int64(9)
	sp := types.DefaultSamplingParams()
	sp.MaxTokens, sp.Seed, sp.Stop = &maxTok, &seed, types.StopTokens(1, 2)
	smp := c.ok(EndpointCreateSamplingSession, types.CreateSamplingSessionRequest{SessionID: sid, SamplingSessionSeqID: 0, BaseModel: "Qwen/Qwen3-8B"})["sampling_session_id"].(string)
	sreq := types.SampleRequest{SamplingSessionID: smp, NumSamples: 1, Prompt: types.ModelInputFromInts([]int{1, 2, 3}),
		SamplingParams: sp, TopkPromptLogprobs: 2}
	id := c.ok(EndpointAsample, sreq)["request_id"].(string)
	r := c.do(http.MethodPost, EndpointRetrieveFuture, mustBytes(t, types.RetrieveFutureRequest{RequestID: id, AllowMetadataOnly: true}),
		map[string]string{"Accept": "application/x-protobuf"})
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	got, err := types.DecodeSampleResponse(r.body)
	require.NoError(t, err)
	want, err := ExpectedSampleResponse(sreq)
	require.NoError(t, err)
	assert.Equal(t, want.Sequences, got.Sequences)
	assert.Equal(t, want.TopkPromptLogprobs, got.TopkPromptLogprobs)
	require.Len(t, got.TopkPromptLogprobs, 3)
	assert.Nil(t, got.TopkPromptLogprobs[0], "the first row is the sentinel")
	assert.Len(t, got.TopkPromptLogprobs[1], 2)

	c.ok(EndpointUnloadModel, types.UnloadModelRequest{ModelID: model})
	assert.Zero(t, srv.Count(Match{Status: http.StatusBadRequest}), "no request was rejected")
}

func mustBytes(t *testing.T, v any) []byte { return []byte(mustJSON(t, v)) }

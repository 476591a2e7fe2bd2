package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/tinkex-go/tinkex/httpclient"
	"github.com/tinkex-go/tinkex/types"
)

// rawClient is the baseline: the least a correct client must do on the
// wire, written directly on net/http. Its transports have the same
// per-host connection limits and dial settings as tinkex's pools
// (httpclient.Transports), so the stacks differ only in what runs above
// the transport.
type rawClient struct {
	base, key string
	sampling  *http.Client // asample submits (tinkex: PoolSampling)
	futures   *http.Client // retrieve_future polls (tinkex: PoolFutures)
	training  *http.Client // training submits and setup calls (tinkex: PoolTraining)
	// sdk holds, by request path, the headers of the SDK's wire traffic
	// (see sdkWireHeaders); nil for rawhttp, which sends three headers.
	sdk      map[string]http.Header
	keyValue []string // the X-API-Key value, for sdk
}

func newRawClient(base, key string) *rawClient {
	// The very transports tinkex builds for these pools (plain
	// *http.Client/*http.Transport values), so the stacks differ only in
	// what runs above the transport.
	tr := httpclient.NewTransports(nil)
	return &rawClient{
		base:     base,
		key:      key,
		sampling: tr.Client(base, httpclient.PoolSampling),
		futures:  tr.Client(base, httpclient.PoolFutures),
		training: tr.Client(base, httpclient.PoolTraining),
		keyValue: []string{key},
	}
}

func (c *rawClient) close() {
	c.sampling.CloseIdleConnections()
	c.futures.CloseIdleConnections()
	c.training.CloseIdleConnections()
}

// post sends one POST and returns the status, the response's Content-Type
// and its body. poll is the retrieve_future's per-request values for the
// SDK's wire (nil on a submit).
func (c *rawClient) post(ctx context.Context, hc *http.Client, path string, body []byte, ctype, accept string, poll *pollWire) (int, string, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+path, bytes.NewReader(body))
	if err != nil {
		return 0, "", nil, err
	}
	if h, ok := c.sdkHeader(path, poll); ok {
		req.Header = h
	} else {
		req.Header.Set("X-API-Key", c.key)
		req.Header.Set("Content-Type", ctype)
		req.Header.Set("Accept", accept)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, "", nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Content-Type"), b, err
}

// postJSON posts v as JSON and decodes a 200 answer into out.
func (c *rawClient) postJSON(ctx context.Context, hc *http.Client, path string, v, out any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return err
	}
	status, _, b, err := c.post(ctx, hc, path, body, httpclient.ContentTypeJSON, httpclient.ContentTypeJSON, nil)
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return fmt.Errorf("%s: status %d: %s", path, status, b)
	}
	return json.Unmarshal(b, out)
}

// submit posts a future-returning request and returns its request id.
func (c *rawClient) submit(ctx context.Context, hc *http.Client, path string, body []byte, ctype string) (string, error) {
	status, _, b, err := c.post(ctx, hc, path, body, ctype, httpclient.ContentTypeJSON, nil)
	if err != nil {
		return "", err
	}
	if status != http.StatusOK {
		return "", fmt.Errorf("%s: status %d: %s", path, status, b)
	}
	var fut types.UntypedAPIFuture
	if err := json.Unmarshal(b, &fut); err != nil {
		return "", err
	}
	if fut.RequestID == "" {
		return "", fmt.Errorf("%s: no request_id in %s", path, b)
	}
	return fut.RequestID, nil
}

// result polls retrieve_future until the future is done and returns the
// result's Content-Type and body. A try_again answer is polled again; an
// error body fails. submitted is how long the submit took (the SDK's
// wire reports it on every poll).
func (c *rawClient) result(ctx context.Context, id, accept string, submitted time.Duration) (string, []byte, error) {
	body, err := json.Marshal(types.RetrieveFutureRequest{RequestID: id, AllowMetadataOnly: true})
	if err != nil {
		return "", nil, err
	}
	for i := 0; ; i++ {
		status, ctype, b, err := c.post(ctx, c.futures, "/api/v1/retrieve_future", body, httpclient.ContentTypeJSON, accept,
			&pollWire{iteration: i, roundtrip: submitted})
		if err != nil {
			return "", nil, err
		}
		if status != http.StatusOK {
			return "", nil, fmt.Errorf("retrieve_future: status %d: %s", status, b)
		}
		if strings.HasPrefix(ctype, httpclient.ContentTypeProtobuf) {
			return ctype, b, nil
		}
		var probe struct {
			Type  string `json:"type"`
			Error string `json:"error"`
		}
		if err := json.Unmarshal(b, &probe); err != nil {
			return "", nil, err
		}
		switch {
		case probe.Type == "try_again":
			continue
		case probe.Error != "":
			return "", nil, fmt.Errorf("future %s failed: %s", id, probe.Error)
		}
		return ctype, b, nil
	}
}

// sample is the raw SamplingClient.Sample: asample, then retrieve_future
// with Accept: application/x-protobuf, then the protobuf decode.
func (c *rawClient) sample(ctx context.Context, req *types.SampleRequest) (types.SampleResponse, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return types.SampleResponse{}, err
	}
	start := time.Now()
	id, err := c.submit(ctx, c.sampling, "/api/v1/asample", body, httpclient.ContentTypeJSON)
	if err != nil {
		return types.SampleResponse{}, err
	}
	_, b, err := c.result(ctx, id, httpclient.ContentTypeProtobuf, time.Since(start))
	if err != nil {
		return types.SampleResponse{}, err
	}
	return types.DecodeSampleResponse(b)
}

// session creates a session and returns its id.
func (c *rawClient) session(ctx context.Context) (string, error) {
	var resp types.CreateSessionResponse
	err := c.postJSON(ctx, c.training, "/api/v1/create_session",
		types.CreateSessionRequest{SDKVersion: types.ProtocolVersion}, &resp)
	return resp.SessionID, err
}

// samplerSeq creates the sampling session of sampling_session_seq_id seq
// on baseModel.
func (c *rawClient) samplerSeq(ctx context.Context, sessionID, baseModel string, seq int64) (string, error) {
	var resp types.CreateSamplingSessionResponse
	err := c.postJSON(ctx, c.training, "/api/v1/create_sampling_session",
		types.CreateSamplingSessionRequest{SessionID: sessionID, SamplingSessionSeqID: seq, BaseModel: baseModel}, &resp)
	return resp.SamplingSessionID, err
}

// modelSeq creates the LoRA model of model_seq_id seq on baseModel and
// waits for it.
func (c *rawClient) modelSeq(ctx context.Context, sessionID, baseModel string, seq int64) (string, error) {
	body, err := json.Marshal(types.CreateModelRequest{SessionID: sessionID, ModelSeqID: seq, BaseModel: baseModel,
		LoraConfig: types.NewLoraConfig(types.DefaultLoraRank)})
	if err != nil {
		return "", err
	}
	id, err := c.submit(ctx, c.training, "/api/v1/create_model", body, httpclient.ContentTypeJSON)
	if err != nil {
		return "", err
	}
	_, b, err := c.result(ctx, id, httpclient.ContentTypeJSON, 0)
	if err != nil {
		return "", err
	}
	var out types.CreateModelResponse
	if err := json.Unmarshal(b, &out); err != nil {
		return "", err
	}
	return out.ModelID, nil
}

// trainingStep is the raw ForwardBackward + OptimStep: both submits in
// seq_id order (forward_backward as protobuf, optim_step as JSON), then
// both results.
func (c *rawClient) trainingStep(ctx context.Context, modelID string, seq int64, data []types.Datum, adam types.AdamParams) (types.ForwardBackwardOutput, types.OptimStepResponse, error) {
	var fb types.ForwardBackwardOutput
	var opt types.OptimStepResponse
	fbBody, err := types.EncodeForwardBackwardRequest(types.ForwardBackwardRequest{ModelID: modelID, SeqID: seq,
		Data: data, LossFn: types.LossCrossEntropy})
	if err != nil {
		return fb, opt, err
	}
	fbID, err := c.submit(ctx, c.training, "/api/v1/forward_backward", fbBody, httpclient.ContentTypeProtobuf)
	if err != nil {
		return fb, opt, err
	}
	optBody, err := json.Marshal(types.OptimStepRequest{AdamParams: adam, ModelID: modelID, SeqID: seq + 1})
	if err != nil {
		return fb, opt, err
	}
	optID, err := c.submit(ctx, c.training, "/api/v1/optim_step", optBody, httpclient.ContentTypeJSON)
	if err != nil {
		return fb, opt, err
	}
	_, b, err := c.result(ctx, fbID, httpclient.ContentTypeProtobuf, 0)
	if err != nil {
		return fb, opt, err
	}
	if fb, err = types.DecodeForwardBackwardOutput(b); err != nil {
		return fb, opt, err
	}
	_, b, err = c.result(ctx, optID, httpclient.ContentTypeJSON, 0)
	if err != nil {
		return fb, opt, err
	}
	err = json.Unmarshal(b, &opt)
	return fb, opt, err
}

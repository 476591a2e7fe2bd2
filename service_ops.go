package tinkex

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"github.com/tinkex-go/tinkex/httpclient"
	"github.com/tinkex-go/tinkex/types"
)

// LoRAOption adjusts CreateLoRATrainingClient.
type LoRAOption func(*loraOptions)

type loraOptions struct {
	cfg      LoraConfig
	metadata map[string]string
}

// WithRank sets the LoRA rank (default 32).
func WithRank(rank int) LoRAOption { return func(o *loraOptions) { o.cfg.Rank = rank } }

// WithSeed seeds the adapter's initialization.
func WithSeed(seed int64) LoRAOption { return func(o *loraOptions) { o.cfg.Seed = &seed } }

// WithTrainMLP chooses whether the MLP weights are trained (default true).
func WithTrainMLP(on bool) LoRAOption { return func(o *loraOptions) { o.cfg.TrainMLP = on } }

// WithTrainAttn chooses whether the attention weights are trained (default true).
func WithTrainAttn(on bool) LoRAOption { return func(o *loraOptions) { o.cfg.TrainAttn = on } }

// WithTrainUnembed chooses whether the unembedding is trained (default true).
func WithTrainUnembed(on bool) LoRAOption { return func(o *loraOptions) { o.cfg.TrainUnembed = on } }

// WithModelMetadata attaches metadata to the new model: create_model's
// user_metadata, as the SDK's user_metadata argument. The ServiceClient's
// own user metadata (WithUserMetadata) belongs to the session and is sent
// with create_session only.
func WithModelMetadata(md map[string]string) LoRAOption {
	return func(o *loraOptions) { o.metadata = md }
}

// modelMetadata is create_model's user_metadata: nil (omitted) unless the
// caller gave some.
func modelMetadata(md map[string]string) map[string]any {
	if len(md) == 0 {
		return nil
	}
	out := make(map[string]any, len(md))
	for k, v := range md {
		out[k] = v
	}
	return out
}

// CreateLoRATrainingClient creates a LoRA model on baseModel and returns its
// TrainingClient. It blocks until the server has created the model.
func (s *ServiceClient) CreateLoRATrainingClient(ctx context.Context, baseModel string, opts ...LoRAOption) (*TrainingClient, error) {
	const op = "create_model"
	o := loraOptions{cfg: types.NewLoraConfig(types.DefaultLoraRank)}
	for _, opt := range opts {
		opt(&o)
	}
	if err := s.needSession(op); err != nil {
		return nil, err
	}
	req := types.CreateModelRequest{SessionID: s.SessionID(), BaseModel: baseModel,
		UserMetadata: modelMetadata(o.metadata), LoraConfig: o.cfg}
	if err := req.Validate(); err != nil {
		return nil, err
	}
	if s.stopped.Load() {
		return nil, s.stoppedError(op)
	}
	ctx, stop := s.bind(ctx)
	defer stop()
	req.ModelSeqID = s.nextModelSeq()
	var fut types.UntypedAPIFuture
	start := s.rt.clock.Now()
	if _, err := s.http.Do(ctx, &httpclient.Request{Op: op, Path: "/api/v1/create_model", Call: httpclient.CallCreate, Body: req,
		Into: httpclient.JSONInto(&fut)}); err != nil {
		return nil, s.translateStop(ctx, op, err)
	}
	trip := s.rt.clock.Now().Sub(start)
	if err := checkServerID(s.http, op, "request_id", fut.RequestID); err != nil {
		return nil, err
	}
	if err := checkServerID(s.http, op, "model_id", fut.ModelID); err != nil {
		return nil, err
	}
	modelID := fut.ModelID
	if fut.RequestID != "" {
		res, err := s.poller.poll(ctx, pollSpec{op: op, requestType: "CreateModel", requestID: fut.RequestID, training: true, roundtrip: trip})
		if err != nil {
			return nil, s.translateStop(ctx, op, err)
		}
		out, err := decodeJSON[types.CreateModelResponse](op, res.contentType, res.body)
		res.permit.Release()
		if err == nil {
			err = checkServerID(s.http, op, "model_id", out.ModelID)
		}
		if err != nil {
			return nil, withRequestID(err, fut.RequestID)
		}
		modelID = out.ModelID
	}
	if modelID == "" {
		return nil, types.ValidationError(op, "server answered create_model without a model_id or request_id")
	}
	return s.startTrainingClient(ctx, modelID, baseModel, 1)
}

// CreateTrainingClientFromState creates a training client whose weights
// (not optimizer state) are loaded from a tinker:// checkpoint path.
func (s *ServiceClient) CreateTrainingClientFromState(ctx context.Context, path string, opts ...LoRAOption) (*TrainingClient, error) {
	return s.createFromState(ctx, path, false, opts)
}

// CreateTrainingClientFromStateWithOptimizer also restores the optimizer state.
func (s *ServiceClient) CreateTrainingClientFromStateWithOptimizer(ctx context.Context, path string, opts ...LoRAOption) (*TrainingClient, error) {
	return s.createFromState(ctx, path, true, opts)
}

func (s *ServiceClient) createFromState(ctx context.Context, path string, optimizer bool, opts []LoRAOption) (*TrainingClient, error) {
	const op = "create_training_client_from_state"
	if err := s.needSession(op); err != nil {
		return nil, err
	}
	if _, err := types.ParseTinkerPath(path); err != nil {
		return nil, err
	}
	if s.ClientConfig().CreateModelViaLoadWeights {
		// One load_weights and nothing before it, as the SDK: the server
		// knows the checkpoint's base model.
		return s.createViaLoad(ctx, path, optimizer, opts)
	}
	info, err := s.Rest().GetWeightsInfo(ctx, path)
	if err != nil {
		return nil, err
	}
	lora := []LoRAOption{}
	if info.LoRARank != nil {
		lora = append(lora, WithRank(*info.LoRARank))
	}
	if info.TrainMLP != nil {
		lora = append(lora, WithTrainMLP(*info.TrainMLP))
	}
	if info.TrainAttn != nil {
		lora = append(lora, WithTrainAttn(*info.TrainAttn))
	}
	if info.TrainUnembed != nil {
		lora = append(lora, WithTrainUnembed(*info.TrainUnembed))
	}
	tc, err := s.CreateLoRATrainingClient(ctx, info.BaseModel, append(lora, opts...)...)
	if err != nil {
		return nil, err
	}
	if _, err := tc.loadState(ctx, path, optimizer).Result(ctx); err != nil {
		return nil, &Error{Kind: types.KindOf(err), Op: op, Message: "model " + tc.modelID + " was created but loading " + path + " failed", Err: err}
	}
	return tc, nil
}

// createViaLoad creates the model and loads the checkpoint with one
// load_weights request (server flag create_model_via_load_weights), which
// names no base_model (the SDK's default base_model=None): the model's
// TrainingClient does not know its base model. The model's first request
// is that load, with seq_id 0.
func (s *ServiceClient) createViaLoad(ctx context.Context, path string, optimizer bool, opts []LoRAOption) (*TrainingClient, error) {
	const op = "load_weights"
	o := loraOptions{}
	for _, opt := range opts {
		opt(&o)
	}
	ctx, stop := s.bind(ctx)
	defer stop()
	seq := s.nextModelSeq()
	req := types.CreateModelFromWeightsRequest{SessionID: s.SessionID(), ModelSeqID: seq,
		UserMetadata: modelMetadata(o.metadata), Path: path, Optimizer: optimizer}
	id, trip, err := s.submitFuture(ctx, op, &httpclient.Request{Path: "/api/v1/load_weights", Call: httpclient.CallTrainingSubmit, Body: req})
	if err != nil {
		return nil, s.translateStop(ctx, op, err)
	}
	res, err := s.poller.poll(ctx, pollSpec{op: op, requestType: "LoadWeights", requestID: id, training: true, roundtrip: trip})
	if err != nil {
		return nil, s.translateStop(ctx, op, err)
	}
	out, err := decodeJSON[LoadWeightsResponse](op, res.contentType, res.body)
	res.permit.Release()
	if err == nil {
		err = checkServerID(s.http, op, "model_id", out.ModelID)
	}
	if err != nil {
		return nil, withRequestID(err, id)
	}
	modelID := out.ModelID
	if modelID == "" {
		modelID = s.SessionID() + ":train:" + strconv.FormatInt(seq, 10)
	}
	return s.startTrainingClient(ctx, modelID, "", 1)
}

// SamplingOption selects what a SamplingClient samples from.
type SamplingOption func(*samplingOptions)

type samplingOptions struct{ modelPath, baseModel string }

// WithModelPath samples from saved sampler weights (a tinker:// path).
func WithModelPath(path string) SamplingOption {
	return func(o *samplingOptions) { o.modelPath = path }
}

// WithBaseModel samples from a base model.
func WithBaseModel(model string) SamplingOption {
	return func(o *samplingOptions) { o.baseModel = model }
}

// CreateSamplingClient creates a sampling session on a model path or a base
// model (one of the two is required) and returns its SamplingClient.
func (s *ServiceClient) CreateSamplingClient(ctx context.Context, opts ...SamplingOption) (*SamplingClient, error) {
	const op = "create_sampling_session"
	if err := s.needSession(op); err != nil {
		return nil, err
	}
	var o samplingOptions
	for _, opt := range opts {
		opt(&o)
	}
	if o.modelPath == "" && o.baseModel == "" {
		return nil, types.ValidationError(op, "give WithModelPath or WithBaseModel")
	}
	if o.modelPath == "" && strings.TrimSpace(o.baseModel) == "" {
		return nil, types.ValidationError(op, "the base model is white space only")
	}
	if o.modelPath != "" && !strings.HasPrefix(o.modelPath, "tinker://") {
		return nil, types.ValidationError(op, "model path %q must start with tinker://", o.modelPath)
	}
	if s.stopped.Load() {
		return nil, s.stoppedError(op)
	}
	ctx, stop := s.bind(ctx)
	defer stop()
	req := types.CreateSamplingSessionRequest{SessionID: s.SessionID(), SamplingSessionSeqID: s.nextSamplingSeq(),
		BaseModel: o.baseModel, ModelPath: o.modelPath}
	var resp types.CreateSamplingSessionResponse
	if _, err := s.http.Do(ctx, &httpclient.Request{Op: op, Path: "/api/v1/create_sampling_session", Call: httpclient.CallCreate, Body: req,
		Into: httpclient.JSONInto(&resp)}); err != nil {
		return nil, s.translateStop(ctx, op, err)
	}
	if resp.SamplingSessionID == "" {
		return nil, types.ValidationError(op, "server answered without a sampling_session_id")
	}
	if err := checkServerID(s.http, op, "sampling_session_id", resp.SamplingSessionID); err != nil {
		return nil, err
	}
	return s.startSamplingClient(ctx, resp.SamplingSessionID, o.baseModel, o.modelPath)
}

// needSession refuses op on a ServiceClient made WithoutSession: the
// models and sampling sessions it would create belong to a session.
func (s *ServiceClient) needSession(op string) error {
	if !s.cfg.noSession {
		return nil
	}
	return &Error{Kind: types.KindValidation, Op: op, Err: ErrNoSession,
		Message: "this ServiceClient was made WithoutSession (REST calls only); create training and sampling clients on one with a session"}
}

// GetServerCapabilities lists the models the server supports. After Close
// it fails with ErrClientStopped and sends nothing.
func (s *ServiceClient) GetServerCapabilities(ctx context.Context) (*ServerCapabilities, error) {
	var out ServerCapabilities
	if err := s.call(ctx, "get_server_capabilities", func(ctx context.Context) error {
		_, err := s.http.Do(ctx, &httpclient.Request{Op: "get_server_capabilities", Method: http.MethodGet, Call: httpclient.CallRead,
			Path: "/api/v1/get_server_capabilities", Into: httpclient.JSONInto(&out)})
		return err
	}); err != nil {
		return nil, err
	}
	return &out, nil
}

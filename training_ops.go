package tinkex

import (
	"context"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/tinkex-go/tinkex/httpclient"
	"github.com/tinkex-go/tinkex/types"
)

// ForwardBackward computes the loss and gradients of data under lossFn and
// accumulates the gradients for the next OptimStep. Large batches are split
// into chunks (1024 datums or about 5 MB each, or as the server's config
// says), each with its own seq_id; results are merged in datum order with
// metrics reduced by their "name:reduction" suffix. Set the loss config
// with WithLossFnConfig. Bad input fails the future at once with a
// KindValidation error and sends nothing (the rule of every call that
// returns a Future; see Future).
func (t *TrainingClient) ForwardBackward(ctx context.Context, data []Datum, lossFn LossFnType, opts ...ForwardBackwardOption) *Future[*ForwardBackwardOutput] {
	return t.forwardBackward(ctx, data, lossFn, forwardBackwardOpts(opts), false)
}

// Forward computes the loss of data without accumulating gradients; it
// takes the options and fails like ForwardBackward.
func (t *TrainingClient) Forward(ctx context.Context, data []Datum, lossFn LossFnType, opts ...ForwardBackwardOption) *Future[*ForwardBackwardOutput] {
	return t.forwardBackward(ctx, data, lossFn, forwardBackwardOpts(opts), true)
}

func (t *TrainingClient) forwardBackward(ctx context.Context, data []Datum, lossFn LossFnType, o forwardBackwardOptions, forwardOnly bool) *Future[*ForwardBackwardOutput] {
	lossFnConfig := o.lossFnConfig
	name, reqType := "forward_backward", "ForwardBackward"
	if forwardOnly {
		name, reqType = "forward", "Forward"
	}
	if err := validateForwardBackward(name, data, lossFn, lossFnConfig, o.signedWeights); err != nil {
		return Resolved[*ForwardBackwardOutput](nil, err)
	}
	cc := t.svc.ClientConfig()
	chunks := types.ChunkData(data, cc.FwdBwdMaxChunkLen, cc.FwdBwdMaxChunkBytesCount)
	sizes := make([]int, len(chunks))
	for i, c := range chunks {
		sizes[i] = len(c)
	}
	op, f := newOp(t, ctx, name, reqType, len(chunks), func(ctx, pollCtx context.Context, seqs []int64, f *Future[*ForwardBackwardOutput], finish func(*ForwardBackwardOutput, error)) (func(), error) {
		ids := make([]string, len(chunks))
		trips := make([]time.Duration, len(chunks))
		sendChunk := func(i int) error {
			req := types.ForwardBackwardRequest{ModelID: t.modelID, SeqID: seqs[i], Data: chunks[i],
				LossFn: lossFn, LossFnConfig: lossFnConfig, ForwardOnly: forwardOnly}
			body, err := types.EncodeForwardBackwardRequest(req)
			if err != nil {
				return err
			}
			encoding := ""
			if cc.ProtoCompressFwdBwd {
				if body, err = types.CompressForwardBackwardBody(body); err != nil {
					return err
				}
				encoding = "zstd"
			}
			var est int64
			for _, d := range chunks[i] {
				est += int64(types.EstimateDatumBytes(d))
			}
			permit, err := t.fwdbwd.Acquire(ctx, est)
			if err != nil {
				return err
			}
			defer permit.Release()
			ids[i], trips[i], err = t.svc.submitFuture(ctx, name, &httpclient.Request{
				Path: "/api/v1/forward_backward", Call: httpclient.CallTrainingSubmit, RawBody: body, ContentType: httpclient.ContentTypeProtobuf,
				ContentEncoding: encoding,
			})
			return err
		}
		send := func(i int) error {
			if err := sendChunk(i); err != nil {
				return &chunkError{seq: seqs[i], err: err}
			}
			return nil
		}
		if err := submitChunks(len(chunks), cc.ParallelFwdBwdChunks, send); err != nil {
			return nil, err
		}
		f.requestID.Store(strings.Join(ids, ","))
		return func() {
			outs := make([]ForwardBackwardOutput, len(chunks))
			errs := make([]error, len(chunks))
			var wg sync.WaitGroup
			for i := range chunks {
				wg.Add(1)
				go func() {
					defer wg.Done()
					res, err := t.poller.poll(pollCtx, t.pollSpec(name, reqType, ids[i], seqs[i], trips[i], true, f.setQueueState))
					if err != nil {
						errs[i] = err
						return
					}
					defer res.permit.Release()
					out, err := decodeForwardBackwardOutput(res.contentType, res.body)
					if err == nil {
						err = out.CheckCount(name, len(chunks[i]), ids[i])
					}
					if err != nil {
						errs[i] = withRequestID(err, ids[i])
						return
					}
					outs[i] = *out
				}()
			}
			wg.Wait()
			for _, err := range errs {
				if err != nil {
					finish(nil, t.svc.translateStop(pollCtx, name, err))
					return
				}
			}
			merged, err := types.CombineForwardBackwardOutputs(outs, sizes)
			if err != nil {
				finish(nil, err)
				return
			}
			finish(&merged, nil)
		}, nil
	})
	t.enqueueOp(op)
	return f
}

// submitChunks sends n chunks: with parallel, chunks 2..n concurrently and
// then chunk 1 last (the server holds later seq_ids until the first
// arrives); otherwise one after another in order. Every chunk is sent even
// when another failed, since each holds a seq_id the server waits for; the
// first error is returned.
func submitChunks(n int, parallel bool, send func(i int) error) error {
	errs := make([]error, n)
	if n == 1 || !parallel {
		for i := 0; i < n; i++ {
			errs[i] = send(i)
		}
		return firstError(errs)
	}
	var wg sync.WaitGroup
	for i := 1; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = send(i)
		}()
	}
	wg.Wait()
	errs[0] = send(0)
	return firstError(errs)
}

func firstError(errs []error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func validateForwardBackward(op string, data []Datum, lossFn LossFnType, cfg map[string]float64, signedWeights bool) error {
	if len(data) == 0 {
		return types.ValidationError(op, "no data provided")
	}
	if err := lossFn.Validate(); err != nil {
		return err
	}
	for k, v := range cfg {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return types.ValidationError(op, "loss_fn_config[%q] is %v; it must be finite", k, v)
		}
	}
	for i, d := range data {
		validate := d.Validate
		if signedWeights {
			validate = d.ValidateSignedWeights
		}
		if err := validate(); err != nil {
			return types.Wrap(op, err, "datum %d", i)
		}
	}
	return nil
}

// OptimStep applies the accumulated gradients with Adam.
func (t *TrainingClient) OptimStep(ctx context.Context, params AdamParams) *Future[*OptimStepResponse] {
	if err := params.Validate(); err != nil {
		return Resolved[*OptimStepResponse](nil, err)
	}
	return singleOp(t, ctx, "optim_step", "OptimStep", "/api/v1/optim_step", httpclient.CallTrainingSubmit, func(seq int64) any {
		return types.OptimStepRequest{AdamParams: params, ModelID: t.modelID, SeqID: seq}
	}, decodeJSON[OptimStepResponse])
}

// SaveOption adjusts a save.
type SaveOption func(*saveOptions)

type saveOptions struct {
	ttl       *int64
	overwrite bool
}

// WithTTL makes the checkpoint expire after d (rounded down to seconds).
func WithTTL(d time.Duration) SaveOption {
	return func(o *saveOptions) { s := int64(d / time.Second); o.ttl = &s }
}

// WithOverwrite replaces an existing checkpoint of the same name.
func WithOverwrite() SaveOption { return func(o *saveOptions) { o.overwrite = true } }

func saveOpts(op, name string, opts []SaveOption) (saveOptions, error) {
	var o saveOptions
	for _, opt := range opts {
		opt(&o)
	}
	if strings.TrimSpace(name) == "" {
		return o, types.ValidationError(op, "a checkpoint name is required")
	}
	if err := types.ValidateCheckpointName(op, name); err != nil {
		return o, err
	}
	if o.ttl != nil && *o.ttl <= 0 {
		return o, types.ValidationError(op, "ttl must be at least one second")
	}
	return o, nil
}

// SaveState saves the weights and optimizer state as checkpoint name; the
// result's Path is tinker://<model_id>/weights/<name>.
func (t *TrainingClient) SaveState(ctx context.Context, name string, opts ...SaveOption) *Future[*SaveWeightsResponse] {
	o, err := saveOpts("save_state", name, opts)
	if err != nil {
		return Resolved[*SaveWeightsResponse](nil, err)
	}
	return singleOp(t, ctx, "save_weights", "SaveWeights", "/api/v1/save_weights", httpclient.CallSave, func(seq int64) any {
		return types.SaveWeightsRequest{ModelID: t.modelID, Path: name, SeqID: seq, TTLSeconds: o.ttl, Overwrite: o.overwrite}
	}, decodeJSON[SaveWeightsResponse])
}

// LoadState loads weights (not the optimizer state) from a tinker:// path.
func (t *TrainingClient) LoadState(ctx context.Context, path string) *Future[*LoadWeightsResponse] {
	return t.loadState(ctx, path, false)
}

// LoadStateWithOptimizer loads weights and optimizer state from a tinker:// path.
func (t *TrainingClient) LoadStateWithOptimizer(ctx context.Context, path string) *Future[*LoadWeightsResponse] {
	return t.loadState(ctx, path, true)
}

func (t *TrainingClient) loadState(ctx context.Context, path string, optimizer bool) *Future[*LoadWeightsResponse] {
	if !strings.HasPrefix(path, "tinker://") {
		return Resolved[*LoadWeightsResponse](nil, types.ValidationError("load_state", "path %q must start with tinker://", path))
	}
	return singleOp(t, ctx, "load_weights", "LoadWeights", "/api/v1/load_weights", httpclient.CallTrainingSubmit, func(seq int64) any {
		return types.LoadWeightsRequest{ModelID: t.modelID, SeqID: seq, Path: path, Optimizer: optimizer}
	}, decodeJSON[LoadWeightsResponse])
}

// SaveWeightsForSampler saves sampler weights as name; the result's Path is
// tinker://<model_id>/sampler_weights/<name>, usable with
// ServiceClient.CreateSamplingClient(WithModelPath(path)).
func (t *TrainingClient) SaveWeightsForSampler(ctx context.Context, name string, opts ...SaveOption) *Future[*SaveWeightsForSamplerResponse] {
	o, err := saveOpts("save_weights_for_sampler", name, opts)
	if err != nil {
		return Resolved[*SaveWeightsForSamplerResponse](nil, err)
	}
	return singleOp(t, ctx, "save_weights_for_sampler", "SaveWeightsForSampler", "/api/v1/save_weights_for_sampler", httpclient.CallSave, func(seq int64) any {
		return types.SaveWeightsForSamplerRequest{ModelID: t.modelID, Path: name, SeqID: seq, TTLSeconds: o.ttl}
	}, decodeJSON[SaveWeightsForSamplerResponse])
}

// SaveWeightsAndGetSamplingClient saves ephemeral sampler weights and
// returns a SamplingClient on them, without a separate
// create_sampling_session call.
func (t *TrainingClient) SaveWeightsAndGetSamplingClient(ctx context.Context) (*SamplingClient, error) {
	samplingSeq := t.svc.nextSamplingSeq()
	f := singleOp(t, ctx, "save_weights_for_sampler", "SaveWeightsForSampler", "/api/v1/save_weights_for_sampler", httpclient.CallSave, func(seq int64) any {
		return types.SaveWeightsForSamplerRequest{ModelID: t.modelID, SamplingSessionSeqID: &samplingSeq, SeqID: seq}
	}, decodeJSON[SaveWeightsForSamplerResponse])
	res, err := f.Result(ctx)
	if err != nil {
		return nil, err
	}
	if res.SamplingSessionID == "" {
		return nil, types.ValidationError("save_weights_for_sampler", "server answered an unnamed save without a sampling_session_id")
	}
	if err := checkServerID(t.http, "save_weights_for_sampler", "sampling_session_id", res.SamplingSessionID); err != nil {
		return nil, err
	}
	return t.svc.startSamplingClient(ctx, res.SamplingSessionID, t.baseModel, "")
}

// GetInfo returns the model's description. It is not queued behind
// operations (it carries no seq_id). After Close it fails with
// ErrClientStopped and sends nothing; a Close meanwhile ends it the same way.
func (t *TrainingClient) GetInfo(ctx context.Context) (*GetInfoResponse, error) {
	if t.stopped.Load() {
		return nil, t.unloadedError("get_info")
	}
	var out GetInfoResponse
	err := t.svc.call(ctx, "get_info", func(ctx context.Context) error {
		_, err := t.http.Do(ctx, &httpclient.Request{Op: "get_info", Path: "/api/v1/get_info", Call: httpclient.CallRead,
			Body: types.GetInfoRequest{ModelID: t.modelID}, Into: httpclient.JSONInto(&out)})
		return err
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// Unload releases the model on the server. Operations still queued are
// submitted first. After Close it fails with ErrClientStopped and sends
// nothing; a Close (or Runtime.Stop) while it polls ends it the same way.
// Once it succeeds the client is closed: every later call (Unload too)
// fails with ErrClientStopped and sends nothing, and its actor leaves the
// tree.
func (t *TrainingClient) Unload(ctx context.Context) (*UnloadModelResponse, error) {
	if t.stopped.Load() {
		return nil, t.unloadedError("unload_model")
	}
	var out *UnloadModelResponse
	err := t.svc.call(ctx, "unload_model", func(ctx context.Context) error {
		id, trip, err := t.svc.submitFuture(ctx, "unload_model", &httpclient.Request{Path: "/api/v1/unload_model", Call: httpclient.CallRead,
			Body: types.UnloadModelRequest{ModelID: t.modelID}})
		if err != nil {
			return err
		}
		res, err := t.poller.poll(ctx, t.pollSpec("unload_model", "UnloadModel", id, 0, trip, false, nil))
		if err != nil {
			return err
		}
		defer res.permit.Release()
		out, err = decodeJSON[UnloadModelResponse]("unload_model", res.contentType, res.body)
		return err
	})
	if err != nil {
		return nil, err
	}
	t.closeAfterUnload(ctx)
	return out, nil
}

// singleOp queues an operation with one seq_id and a JSON body.
func singleOp[T any](t *TrainingClient, ctx context.Context, name, reqType, path string, call httpclient.Call, body func(seq int64) any,
	decode func(op, contentType string, body []byte) (*T, error)) *Future[*T] {
	op, f := newOp(t, ctx, name, reqType, 1, func(ctx, pollCtx context.Context, seqs []int64, f *Future[*T], finish func(*T, error)) (func(), error) {
		id, trip, err := t.svc.submitFuture(ctx, name, &httpclient.Request{Path: path, Call: call, Body: body(seqs[0])})
		if err != nil {
			return nil, err
		}
		f.requestID.Store(id)
		return func() {
			res, err := t.poller.poll(pollCtx, t.pollSpec(name, reqType, id, seqs[0], trip, false, f.setQueueState))
			if err != nil {
				finish(nil, t.svc.translateStop(pollCtx, name, err))
				return
			}
			defer res.permit.Release()
			v, err := decode(name, res.contentType, res.body)
			finish(v, withRequestID(err, id))
		}, nil
	})
	t.enqueueOp(op)
	return f
}

func (t *TrainingClient) pollSpec(op, reqType, id string, seq int64, trip time.Duration, proto bool, onQueue func(QueueState, string)) pollSpec {
	return pollSpec{op: op, requestType: reqType, requestID: id, proto: proto, training: true, roundtrip: trip,
		modelID: t.modelID, seq: seq, hasSeq: true, onQueue: onQueue}
}

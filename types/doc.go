// Package types holds the Tinker wire types and the tinkex error type. It is
// a leaf: it imports nothing else of tinkex.
//
// Inputs: ModelInput (a list of Chunk: EncodedTextChunk, ImageChunk,
// ImageAssetPointerChunk, DmelChunk), TensorData (typed int64/float32
// storage, dense or sparse CSR), Datum (built from plain slices with
// NewDatum), LossFnType, AdamParams, LoraConfig and SamplingParams. Start
// from DefaultAdamParams, NewLoraConfig and DefaultSamplingParams: their zero
// values are not the SDK defaults.
//
// Request bodies (CreateSessionRequest, CreateModelRequest, OptimStepRequest,
// SampleRequest, …) marshal to the exact JSON of the Python SDK 0.25: fields
// with default values are always sent, unset optional fields are omitted, and
// each endpoint's "type" literal is added by MarshalJSON. Responses ignore
// unknown fields; ClientConfigResponse and the parameter types fill absent
// fields with the SDK defaults when decoded.
//
// Futures: every future endpoint answers UntypedAPIFuture; ParseFutureBody
// classifies a retrieve_future JSON body as try_again, complete_metadata,
// error or result.
//
// Protobuf: forward_backward request bodies and the sample and
// forward_backward results travel as protobuf (schema in tinkerpb). Use
// EncodeForwardBackwardRequest / DecodeSampleResponse /
// DecodeForwardBackwardOutput on the client, and the reverse functions in
// servers and fakes.
//
// Chunking: ChunkData splits forward_backward data the way the SDK does and
// CombineForwardBackwardOutputs merges the chunk results.
//
// Every function that rejects input returns a *Error of KindValidation
// (errors.Is(err, ErrValidation)); decoders never panic on bad bytes.
package types

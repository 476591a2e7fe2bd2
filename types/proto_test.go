package types

import (
	"encoding/binary"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tinkex-go/tinkex/types/tinkerpb"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

func le32(xs ...int32) []byte {
	b := make([]byte, 0, 4*len(xs))
	for _, x := range xs {
		b = binary.LittleEndian.AppendUint32(b, uint32(x))
	}
	return b
}

func le64(xs ...int64) []byte {
	b := make([]byte, 0, 8*len(xs))
	for _, x := range xs {
		b = binary.LittleEndian.AppendUint64(b, uint64(x))
	}
	return b
}

func lef32(xs ...float32) []byte {
	b := make([]byte, 0, 4*len(xs))
	for _, x := range xs {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
	}
	return b
}

func msg(fields ...func([]byte) []byte) []byte {
	var b []byte
	for _, f := range fields {
		b = f(b)
	}
	return b
}

func bytesField(num protowire.Number, v []byte) func([]byte) []byte {
	return func(b []byte) []byte {
		b = protowire.AppendTag(b, num, protowire.BytesType)
		return protowire.AppendBytes(b, v)
	}
}

func varintField(num protowire.Number, v uint64) func([]byte) []byte {
	return func(b []byte) []byte {
		b = protowire.AppendTag(b, num, protowire.VarintType)
		return protowire.AppendVarint(b, v)
	}
}

func packedVarints(vs ...uint64) []byte {
	var b []byte
	for _, v := range vs {
		b = protowire.AppendVarint(b, v)
	}
	return b
}

// TestForwardBackwardRequestWireBytes builds the protobuf body by hand from
// the schema in reference §3.6 and compares it with the encoder's output.
func TestForwardBackwardRequestWireBytes(t *testing.T) {
	req := ForwardBackwardRequest{
		ModelID: "s:train:0",
		SeqID:   1,
		Data: []Datum{{
			ModelInput: ModelInput{Chunks: []Chunk{EncodedTextChunk{Tokens: []int{1, 2, 300}}, ImageChunk{Data: []byte{9}, Format: "png", ExpectedTokens: ptr(4)}}},
			LossFnInputs: map[string]TensorData{
				"weights":       SparseFloat32Tensor([]float32{0.5}, []int64{0, 1}, []int64{1}, 1, 2),
				"target_tokens": Int64Tensor([]int64{2, -3}, 2),
			},
		}},
		LossFn:       LossCrossEntropy,
		LossFnConfig: map[string]float64{"clip_low_threshold": 0.25},
		ForwardOnly:  true,
	}
	text := msg(bytesField(1, msg(bytesField(1, le32(1, 2, 300)))))
	image := msg(bytesField(2, msg(bytesField(1, []byte{9}), bytesField(2, []byte("png")), varintField(3, 4))))
	// Field order on the wire is free in protobuf. protobuf-go's deterministic
	// output writes oneof members (dense / sparse_csr) after the plain fields,
	// so the expected bytes do too; pythonOrder below uses field-number order
	// (what the Python SDK emits) and must decode to the same request.
	dense := bytesField(1, le64(2, -3))
	sparse := bytesField(2, msg(bytesField(1, lef32(0.5)), bytesField(2, le64(0, 1)), bytesField(3, le64(1))))
	targetTensor := msg(varintField(3, 2), bytesField(4, packedVarints(2)), dense)
	weightsTensor := msg(varintField(3, 1), bytesField(4, packedVarints(1, 2)), sparse)
	datumWith := func(target, weights []byte) []byte {
		return msg(
			bytesField(1, text), bytesField(1, image),
			bytesField(2, msg(bytesField(1, []byte("target_tokens")), bytesField(2, target))),
			bytesField(2, msg(bytesField(1, []byte("weights")), bytesField(2, weights))),
		)
	}
	datum := datumWith(targetTensor, weightsTensor)
	cfgEntry := msg(bytesField(1, []byte("clip_low_threshold")), func(b []byte) []byte {
		b = protowire.AppendTag(b, 2, protowire.Fixed64Type)
		return protowire.AppendFixed64(b, math.Float64bits(0.25))
	})
	want := msg(
		bytesField(1, []byte("s:train:0")), varintField(2, 1), bytesField(3, datum),
		bytesField(4, []byte("cross_entropy")), bytesField(5, cfgEntry), varintField(6, 1),
	)
	got, err := EncodeForwardBackwardRequest(req)
	require.NoError(t, err)
	assert.Equal(t, want, got)

	back, err := DecodeForwardBackwardRequest(got)
	require.NoError(t, err)
	assert.Equal(t, req, back)

	pythonOrder := msg(
		bytesField(1, []byte("s:train:0")), varintField(2, 1),
		bytesField(3, datumWith(msg(dense, varintField(3, 2), bytesField(4, packedVarints(2))),
			msg(sparse, varintField(3, 1), bytesField(4, packedVarints(1, 2))))),
		bytesField(4, []byte("cross_entropy")), bytesField(5, cfgEntry), varintField(6, 1),
	)
	back, err = DecodeForwardBackwardRequest(pythonOrder)
	require.NoError(t, err)
	assert.Equal(t, req, back)
}

func TestForwardBackwardRequestRoundTrip(t *testing.T) {
	req := ForwardBackwardRequest{
		ModelID: "m", SeqID: 7, LossFn: LossPPO,
		Data: []Datum{
			{ModelInput: ModelInput{Chunks: []Chunk{DmelChunk{Dmel: []byte{1, 1, 3}}, &EncodedTextChunk{Tokens: []int{5}}}},
				LossFnInputs: map[string]TensorData{
					"advantages": Float32Tensor([]float32{1.5, float32(math.Inf(-1))}),
					"m":          SparseInt64Tensor([]int64{4, 5}, []int64{0, 0, 2}, []int64{0, 2}, 2, 3),
				}},
			{ModelInput: ModelInputFromInts([]int{1}), LossFnInputs: map[string]TensorData{}},
		},
	}
	b, err := EncodeForwardBackwardRequest(req)
	require.NoError(t, err)
	got, err := DecodeForwardBackwardRequest(b)
	require.NoError(t, err)
	req.Data[0].ModelInput.Chunks[1] = EncodedTextChunk{Tokens: []int{5}}
	assert.Equal(t, req, got)

	z, err := CompressForwardBackwardBody(b)
	require.NoError(t, err)
	plain, err := DecompressForwardBackwardBody(z)
	require.NoError(t, err)
	assert.Equal(t, b, plain)
	_, err = DecompressForwardBackwardBody([]byte("not zstd"))
	assert.ErrorIs(t, err, ErrValidation)
}

func TestEncodeForwardBackwardRequestErrors(t *testing.T) {
	cases := map[string]ForwardBackwardRequest{
		"image pointer": {Data: []Datum{{ModelInput: ModelInput{Chunks: []Chunk{ImageAssetPointerChunk{Location: "x", Format: "png"}}}}}},
		"nil chunk":     {Data: []Datum{{ModelInput: ModelInput{Chunks: []Chunk{nil}}}}},
		"big token":     {Data: []Datum{{ModelInput: ModelInputFromInts([]int{1 << 40})}}},
		"ragged tensor": {Data: []Datum{{ModelInput: ModelInputFromInts([]int{1}), LossFnInputs: map[string]TensorData{"w": Float32Tensor([]float32{1, 2}, 3)}}}},
		"bad csr":       {Data: []Datum{{ModelInput: ModelInputFromInts([]int{1}), LossFnInputs: map[string]TensorData{"w": SparseFloat32Tensor([]float32{1}, []int64{0, 2}, []int64{0}, 1, 2)}}}},
		"seq_id range":  {SeqID: 1 << 40},
	}
	for name, r := range cases {
		_, err := EncodeForwardBackwardRequest(r)
		assert.ErrorIs(t, err, ErrValidation, name)
	}
	for name, b := range map[string][]byte{
		"garbage":     {0xff, 0xff, 0xff},
		"empty chunk": msg(bytesField(3, msg(bytesField(1, nil)))),
		"odd tokens":  msg(bytesField(3, msg(bytesField(1, msg(bytesField(1, msg(bytesField(1, []byte{1, 2, 3})))))))),
		"no dtype":    msg(bytesField(3, msg(bytesField(2, msg(bytesField(1, []byte("k")), bytesField(2, msg(bytesField(1, le64(1))))))))),
	} {
		_, err := DecodeForwardBackwardRequest(b)
		assert.ErrorIs(t, err, ErrValidation, name)
	}
}

func TestSampleResponseProtoRoundTrip(t *testing.T) {
	resp := SampleResponse{
		Sequences: []SampledSequence{
			{StopReason: StopReasonStop, Tokens: []int{1, 2, 3}, Logprobs: []float64{-0.5, -1.25, -2}},
			{StopReason: StopReasonLength, Tokens: []int{}},
		},
		PromptLogprobs:       NullableFloats{math.NaN(), -0.75, -3},
		TopkPromptLogprobs:   [][]TokenLogprob{nil, {{Token: 5, Logprob: -0.5}, {Token: 6, Logprob: -1.5}}, {{Token: 7, Logprob: -0.25}}},
		PromptCacheHitTokens: 2,
	}
	b, err := EncodeSampleResponse(resp)
	require.NoError(t, err)

	var m tinkerpb.SampleResponse
	require.NoError(t, proto.Unmarshal(b, &m))
	assert.Equal(t, uint32(2), m.TopkPromptLogprobs.K)
	assert.Equal(t, uint32(3), m.TopkPromptLogprobs.PromptLength)
	assert.Equal(t, le32(0, 0, 5, 6, 7, 0), m.TopkPromptLogprobs.TokenIds)
	assert.Equal(t, lef32(-99999, -99999, -0.5, -1.5, -0.25, -99999), m.TopkPromptLogprobs.Logprobs)
	assert.True(t, math.IsNaN(float64(math.Float32frombits(binary.LittleEndian.Uint32(m.PromptLogprobs)))))

	got, err := DecodeSampleResponse(b)
	require.NoError(t, err)
	require.Len(t, got.PromptLogprobs, 3)
	_, ok := got.PromptLogprob(0)
	assert.False(t, ok)
	lp, ok := got.PromptLogprob(2)
	assert.True(t, ok)
	assert.Equal(t, -3.0, lp)
	got.PromptLogprobs, resp.PromptLogprobs = nil, nil
	resp.Sequences[1].Tokens = []int{}
	assert.Equal(t, resp, got)

	// Absent optional fields stay absent.
	b, err = EncodeSampleResponse(SampleResponse{Sequences: []SampledSequence{{StopReason: StopReasonStop, Tokens: []int{1}}}})
	require.NoError(t, err)
	got, err = DecodeSampleResponse(b)
	require.NoError(t, err)
	assert.Nil(t, got.PromptLogprobs)
	assert.Nil(t, got.TopkPromptLogprobs)
	assert.Nil(t, got.Sequences[0].Logprobs)
}

func TestDecodeSampleResponseRules(t *testing.T) {
	bad := map[string][]byte{
		"stop reason 2": msg(bytesField(1, msg(varintField(1, 2)))),
		"odd tokens":    msg(bytesField(1, msg(bytesField(2, []byte{1})))),
		"odd logprobs":  msg(bytesField(1, msg(bytesField(3, []byte{1, 2})))),
		"odd prompt lp": msg(bytesField(2, []byte{1})),
		"topk size":     msg(bytesField(3, msg(bytesField(1, le32(1)), bytesField(2, lef32(1)), varintField(3, 2), varintField(4, 1)))),
		"topk huge":     msg(bytesField(3, msg(varintField(3, math.MaxUint32), varintField(4, math.MaxUint32)))),
		"garbage":       {0x0a, 0xff},
	}
	for name, b := range bad {
		_, err := DecodeSampleResponse(b)
		assert.ErrorIs(t, err, ErrValidation, name)
	}
	// k = 0 or prompt_length = 0: top-k not decoded even if bytes are junk.
	got, err := DecodeSampleResponse(msg(bytesField(3, msg(bytesField(1, []byte{1}), varintField(3, 0), varintField(4, 3)))))
	require.NoError(t, err)
	assert.Nil(t, got.TopkPromptLogprobs)

	_, err = EncodeSampleResponse(SampleResponse{Sequences: []SampledSequence{{StopReason: "eos"}}})
	assert.ErrorIs(t, err, ErrValidation)
}

func TestForwardBackwardOutputProtoRoundTrip(t *testing.T) {
	out := ForwardBackwardOutput{
		LossFnOutputType: "ArrayRecord",
		LossFnOutputs: []LossFnOutput{
			{"logprobs": Float32Tensor([]float32{-1, -2, -3}, 3), "ids": Int64Tensor([]int64{1, 2, 3, 4}, 2, 2)},
			{"logprobs": Float32Tensor([]float32{-4}), "ids": Int64Tensor([]int64{5, 6}, 1, 2)},
			{"logprobs": Float32Tensor([]float32{}, 0), "ids": SparseInt64Tensor([]int64{9}, []int64{0, 1}, []int64{1}, 1, 2)},
		},
		Metrics: map[string]float64{"loss:sum": 1.5, "n:unique": 3},
	}
	b, err := EncodeForwardBackwardOutput(out)
	require.NoError(t, err)
	got, err := DecodeForwardBackwardOutput(b)
	require.NoError(t, err)
	out.LossFnOutputs[1]["logprobs"] = Float32Tensor([]float32{-4}, 1)
	out.LossFnOutputs[2]["ids"] = Int64Tensor([]int64{0, 9}, 1, 2)
	assert.Equal(t, out, got)

	b, err = EncodeForwardBackwardOutput(ForwardBackwardOutput{})
	require.NoError(t, err)
	got, err = DecodeForwardBackwardOutput(b)
	require.NoError(t, err)
	assert.Equal(t, ForwardBackwardOutput{LossFnOutputType: "ArrayRecord", LossFnOutputs: []LossFnOutput{}, Metrics: map[string]float64{}}, got)

	for name, o := range map[string]ForwardBackwardOutput{
		"missing key":   {LossFnOutputs: []LossFnOutput{{"a": Int64Tensor([]int64{1})}, {"b": Int64Tensor([]int64{1})}}},
		"extra key":     {LossFnOutputs: []LossFnOutput{{"a": Int64Tensor([]int64{1})}, {"a": Int64Tensor([]int64{1}), "b": Int64Tensor([]int64{1})}}},
		"dtype differs": {LossFnOutputs: []LossFnOutput{{"a": Int64Tensor([]int64{1})}, {"a": Float32Tensor([]float32{1})}}},
		"trailing":      {LossFnOutputs: []LossFnOutput{{"a": Int64Tensor([]int64{1, 2}, 1, 2)}, {"a": Int64Tensor([]int64{1, 2}, 2, 1)}}},
	} {
		_, err := EncodeForwardBackwardOutput(o)
		assert.ErrorIs(t, err, ErrValidation, name)
	}
}

// TestDecodeForwardBackwardOutputWidening feeds server-style records: BF16 and
// INT32 fields, a qualified output type, two records, num_datums 0.
func TestDecodeForwardBackwardOutputWidening(t *testing.T) {
	bf16 := func(fs ...float32) []byte {
		var b []byte
		for _, f := range fs {
			b = binary.LittleEndian.AppendUint16(b, uint16(math.Float32bits(f)>>16))
		}
		return b
	}
	m := &tinkerpb.ForwardBackwardOutput{
		LossFnOutputType: "tinker.types:ArrayRecord",
		LossFnOutputs: []*tinkerpb.ArrayRecord{
			{NumDatums: 2, Fields: map[string]*tinkerpb.BatchedTensor{
				"logprobs": {Data: bf16(-1, 0.5, 2), Offsets: le64(0, 4, 6), Dtype: tinkerpb.DType_DTYPE_BFLOAT16},
				"ids":      {Data: le32(-7, 1, 2, 3, 4, 5), Offsets: le64(0, 8, 24), Dtype: tinkerpb.DType_DTYPE_INT32, TrailingShape: []int64{2}},
			}},
			{Fields: map[string]*tinkerpb.BatchedTensor{
				"ids":      {Data: le32(8, 9), Offsets: le64(0, 8), Dtype: tinkerpb.DType_DTYPE_INT32, TrailingShape: []int64{2}},
				"logprobs": {Data: lef32(-3), Offsets: le64(0, 4), Dtype: tinkerpb.DType_DTYPE_FLOAT32},
			}},
		},
	}
	b, err := proto.Marshal(m)
	require.NoError(t, err)
	got, err := DecodeForwardBackwardOutput(b)
	require.NoError(t, err)
	assert.Equal(t, "ArrayRecord", got.LossFnOutputType)
	assert.Equal(t, []LossFnOutput{
		{"logprobs": Float32Tensor([]float32{-1, 0.5}, 2), "ids": Int64Tensor([]int64{-7, 1}, 1, 2)},
		{"logprobs": Float32Tensor([]float32{2}, 1), "ids": Int64Tensor([]int64{2, 3, 4, 5}, 2, 2)},
		{"logprobs": Float32Tensor([]float32{-3}, 1), "ids": Int64Tensor([]int64{8, 9}, 1, 2)},
	}, got.LossFnOutputs)

	bad := map[string]*tinkerpb.BatchedTensor{
		"offset past end":   {Data: le32(1), Offsets: le64(0, 8), Dtype: tinkerpb.DType_DTYPE_INT32},
		"offset decreasing": {Data: le32(1, 2), Offsets: le64(4, 0), Dtype: tinkerpb.DType_DTYPE_INT32},
		"offset unaligned":  {Data: le32(1, 2), Offsets: le64(0, 3), Dtype: tinkerpb.DType_DTYPE_INT32},
		"negative offset":   {Data: le32(1, 2), Offsets: le64(-4, 4), Dtype: tinkerpb.DType_DTYPE_INT32},
		"unknown dtype":     {Data: le32(1), Offsets: le64(0, 4)},
		"trailing mismatch": {Data: le32(1, 2, 3), Offsets: le64(0, 12), Dtype: tinkerpb.DType_DTYPE_INT32, TrailingShape: []int64{2}},
		"negative trailing": {Data: le32(1), Offsets: le64(0, 4), Dtype: tinkerpb.DType_DTYPE_INT32, TrailingShape: []int64{-1}},
		"zero trailing":     {Data: le32(1), Offsets: le64(0, 4), Dtype: tinkerpb.DType_DTYPE_INT32, TrailingShape: []int64{0}},
		"odd offsets bytes": {Data: le32(1), Offsets: []byte{0, 0, 0}, Dtype: tinkerpb.DType_DTYPE_INT32},
		"offsets vs datums": {Data: le32(1), Offsets: le64(0, 4, 4), Dtype: tinkerpb.DType_DTYPE_INT32},
	}
	for name, bt := range bad {
		num := int64(1)
		b, err := proto.Marshal(&tinkerpb.ForwardBackwardOutput{LossFnOutputs: []*tinkerpb.ArrayRecord{{NumDatums: num, Fields: map[string]*tinkerpb.BatchedTensor{"f": bt}}}})
		require.NoError(t, err)
		_, err = DecodeForwardBackwardOutput(b)
		assert.ErrorIs(t, err, ErrValidation, name)
	}
	b, err = proto.Marshal(&tinkerpb.ForwardBackwardOutput{LossFnOutputs: []*tinkerpb.ArrayRecord{{NumDatums: 1 << 40}}})
	require.NoError(t, err)
	_, err = DecodeForwardBackwardOutput(b)
	assert.ErrorIs(t, err, ErrValidation)
	_, err = DecodeForwardBackwardOutput([]byte{0x12, 0x05, 0x01})
	assert.ErrorIs(t, err, ErrValidation)
}

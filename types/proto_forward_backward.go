package types

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/tinkex-go/tinkex/types/tinkerpb"
)

// EncodeForwardBackwardRequest serializes r as the protobuf body of POST
// /api/v1/forward_backward (deterministic field and map order). Tensors go
// out as FLOAT32 or INT64, dense or sparse CSR, with their shape when set
// (tensors built by Int64Tensor, Float32Tensor and NewDatum always have one);
// tokens as little-endian int32.
//
// It fails with a KindValidation error for an invalid tensor, a token or
// expected_tokens outside int32, a seq_id outside int32, a nil chunk, or an
// ImageAssetPointerChunk (which has no protobuf form).
func EncodeForwardBackwardRequest(r ForwardBackwardRequest) ([]byte, error) {
	const op = "forward_backward"
	if r.SeqID < 0 || r.SeqID > math.MaxInt32 {
		return nil, ValidationError(op, "seq_id %d does not fit in int32", r.SeqID)
	}
	m := &tinkerpb.ForwardBackwardRequest{
		ModelId:      r.ModelID,
		SeqId:        int32(r.SeqID),
		LossFn:       string(r.LossFn),
		LossFnConfig: r.LossFnConfig,
		ForwardOnly:  r.ForwardOnly,
		Data:         make([]*tinkerpb.Datum, len(r.Data)),
	}
	for i, d := range r.Data {
		pd, err := datumToProto(d)
		if err != nil {
			return nil, fmt.Errorf("datum %d: %w", i, err)
		}
		m.Data[i] = pd
	}
	return deterministic.Marshal(m)
}

func datumToProto(d Datum) (*tinkerpb.Datum, error) {
	pd := &tinkerpb.Datum{ModelInput: make([]*tinkerpb.Chunk, len(d.ModelInput.Chunks))}
	for i, c := range d.ModelInput.Chunks {
		pc, err := chunkToProto(c)
		if err != nil {
			return nil, fmt.Errorf("chunk %d: %w", i, err)
		}
		pd.ModelInput[i] = pc
	}
	if len(d.LossFnInputs) > 0 {
		pd.LossFnInputs = make(map[string]*tinkerpb.Tensor, len(d.LossFnInputs))
	}
	for k, t := range d.LossFnInputs {
		if err := t.Validate(); err != nil {
			return nil, fmt.Errorf("loss_fn_inputs[%q]: %w", k, err)
		}
		data, dtype, err := packValues(t)
		if err != nil {
			return nil, err
		}
		pt := &tinkerpb.Tensor{Dtype: dtype, Shape: t.Shape}
		if t.IsSparse() {
			pt.Encoding = &tinkerpb.Tensor_SparseCsr{SparseCsr: &tinkerpb.SparseCsr{
				Values: data, CrowIndices: packInt64s(t.SparseCrowIndices), ColIndices: packInt64s(t.SparseColIndices)}}
		} else {
			pt.Encoding = &tinkerpb.Tensor_Dense{Dense: data}
		}
		pd.LossFnInputs[k] = pt
	}
	return pd, nil
}

func chunkToProto(c Chunk) (*tinkerpb.Chunk, error) {
	const op = "forward_backward"
	switch c := derefChunk(c).(type) {
	case EncodedTextChunk:
		toks, err := packInt32s(c.Tokens, op, "tokens")
		if err != nil {
			return nil, err
		}
		return &tinkerpb.Chunk{Chunk: &tinkerpb.Chunk_EncodedText{EncodedText: &tinkerpb.EncodedTextChunk{Tokens: toks}}}, nil
	case ImageChunk:
		img := &tinkerpb.ImageChunk{Data: c.Data, Format: c.Format}
		if c.ExpectedTokens != nil {
			if *c.ExpectedTokens < math.MinInt32 || *c.ExpectedTokens > math.MaxInt32 {
				return nil, ValidationError(op, "expected_tokens %d does not fit in int32", *c.ExpectedTokens)
			}
			n := int32(*c.ExpectedTokens)
			img.ExpectedTokens = &n
		}
		return &tinkerpb.Chunk{Chunk: &tinkerpb.Chunk_Image{Image: img}}, nil
	case DmelChunk:
		return &tinkerpb.Chunk{Chunk: &tinkerpb.Chunk_Dmel{Dmel: &tinkerpb.DmelChunk{Dmel: c.Dmel}}}, nil
	case ImageAssetPointerChunk:
		return nil, ValidationError(op, "image_asset_pointer chunks cannot be sent in forward_backward (no protobuf form); inline the image")
	case nil:
		return nil, ValidationError(op, "chunk is nil")
	}
	return nil, ValidationError(op, "unsupported chunk type %T", c)
}

// DecodeForwardBackwardRequest parses a protobuf forward_backward body (for
// servers and test fakes). It accepts every wire dtype (INT32 and BFLOAT16
// are widened as in DecodeForwardBackwardOutput); an empty shape decodes as
// nil. Malformed bytes, a chunk with no kind, ragged raw arrays or an invalid
// tensor are KindValidation errors; it never panics.
func DecodeForwardBackwardRequest(b []byte) (ForwardBackwardRequest, error) {
	const op = "forward_backward"
	var m tinkerpb.ForwardBackwardRequest
	if err := protoUnmarshal(b, &m, op); err != nil {
		return ForwardBackwardRequest{}, err
	}
	r := ForwardBackwardRequest{
		ModelID:     m.ModelId,
		SeqID:       int64(m.SeqId),
		LossFn:      LossFnType(m.LossFn),
		ForwardOnly: m.ForwardOnly,
		Data:        make([]Datum, len(m.Data)),
	}
	if len(m.LossFnConfig) > 0 {
		r.LossFnConfig = m.LossFnConfig
	}
	for i, pd := range m.Data {
		d, err := datumFromProto(pd)
		if err != nil {
			return ForwardBackwardRequest{}, fmt.Errorf("datum %d: %w", i, err)
		}
		r.Data[i] = d
	}
	return r, nil
}

func datumFromProto(pd *tinkerpb.Datum) (Datum, error) {
	const op = "forward_backward"
	d := Datum{ModelInput: ModelInput{Chunks: make([]Chunk, len(pd.GetModelInput()))}, LossFnInputs: make(map[string]TensorData, len(pd.GetLossFnInputs()))}
	for i, pc := range pd.GetModelInput() {
		switch c := pc.GetChunk().(type) {
		case *tinkerpb.Chunk_EncodedText:
			toks, err := unpackInt32s(c.EncodedText.GetTokens(), op, "tokens")
			if err != nil {
				return Datum{}, err
			}
			d.ModelInput.Chunks[i] = EncodedTextChunk{Tokens: toks}
		case *tinkerpb.Chunk_Image:
			img := ImageChunk{Data: c.Image.GetData(), Format: c.Image.GetFormat()}
			if c.Image != nil && c.Image.ExpectedTokens != nil {
				n := int(*c.Image.ExpectedTokens)
				img.ExpectedTokens = &n
			}
			d.ModelInput.Chunks[i] = img
		case *tinkerpb.Chunk_Dmel:
			d.ModelInput.Chunks[i] = DmelChunk{Dmel: c.Dmel.GetDmel()}
		default:
			return Datum{}, ValidationError(op, "chunk %d has no kind", i)
		}
	}
	for k, pt := range pd.GetLossFnInputs() {
		t, err := tensorFromProto(pt, op, k)
		if err != nil {
			return Datum{}, err
		}
		d.LossFnInputs[k] = t
	}
	return d, nil
}

func tensorFromProto(pt *tinkerpb.Tensor, op, key string) (TensorData, error) {
	what := fmt.Sprintf("loss_fn_inputs[%q]", key)
	var t TensorData
	var err error
	switch enc := pt.GetEncoding().(type) {
	case *tinkerpb.Tensor_Dense:
		t, err = unpackValues(enc.Dense, pt.GetDtype(), op, what)
	case *tinkerpb.Tensor_SparseCsr:
		t, err = unpackValues(enc.SparseCsr.GetValues(), pt.GetDtype(), op, what)
		if err == nil {
			t.SparseCrowIndices, err = unpackInt64s(enc.SparseCsr.GetCrowIndices(), op, what+" crow_indices")
		}
		if err == nil {
			t.SparseColIndices, err = unpackInt64s(enc.SparseCsr.GetColIndices(), op, what+" col_indices")
		}
	default:
		// proto3 cannot tell an empty dense tensor from an absent oneof.
		t, err = unpackValues(nil, pt.GetDtype(), op, what)
	}
	if err != nil {
		return TensorData{}, err
	}
	if len(pt.GetShape()) > 0 {
		t.Shape = pt.GetShape()
	}
	if err := t.Validate(); err != nil {
		return TensorData{}, fmt.Errorf("%s: %w", what, err)
	}
	return t, nil
}

// EncodeForwardBackwardOutput serializes o as the protobuf result of a
// forward_backward future (for servers and test fakes): one ArrayRecord whose
// BatchedTensor per key concatenates every datum's values, with int64 byte
// offsets and the trailing shape (each tensor's shape without its first
// dimension; a tensor without a shape counts as 1-D). Sparse tensors are sent
// dense.
//
// Every datum must have the same keys, and a key must have the same dtype and
// trailing shape in every datum; otherwise, or for an invalid tensor, it
// returns a KindValidation error.
func EncodeForwardBackwardOutput(o ForwardBackwardOutput) ([]byte, error) {
	const op = "forward_backward_output"
	m := &tinkerpb.ForwardBackwardOutput{LossFnOutputType: o.LossFnOutputType, Metrics: o.Metrics}
	if len(o.LossFnOutputs) > 0 {
		rec := &tinkerpb.ArrayRecord{TypeTag: o.LossFnOutputType, NumDatums: int64(len(o.LossFnOutputs)), Fields: map[string]*tinkerpb.BatchedTensor{}}
		for key := range o.LossFnOutputs[0] {
			bt := &tinkerpb.BatchedTensor{}
			offsets := make([]int64, 1, len(o.LossFnOutputs)+1)
			for i, out := range o.LossFnOutputs {
				t, ok := out[key]
				if !ok {
					return nil, ValidationError(op, "output %d has no %q (every datum needs the same keys)", i, key)
				}
				t, err := t.Dense()
				if err != nil {
					return nil, fmt.Errorf("output %d %q: %w", i, key, err)
				}
				if err := t.Validate(); err != nil {
					return nil, fmt.Errorf("output %d %q: %w", i, key, err)
				}
				data, dtype, err := packValues(t)
				if err != nil {
					return nil, err
				}
				var trailing []int64
				if len(t.Shape) > 1 {
					trailing = t.Shape[1:]
				}
				if i == 0 {
					bt.Dtype, bt.TrailingShape = dtype, trailing
				} else if dtype != bt.Dtype || !slices.Equal(trailing, bt.TrailingShape) {
					return nil, ValidationError(op, "output %d %q: dtype or trailing shape differs from output 0", i, key)
				}
				bt.Data = append(bt.Data, data...)
				offsets = append(offsets, int64(len(bt.Data)))
			}
			bt.Offsets = packInt64s(offsets)
			rec.Fields[key] = bt
		}
		for i, out := range o.LossFnOutputs {
			if len(out) != len(rec.Fields) {
				return nil, ValidationError(op, "output %d has %d keys, output 0 has %d (every datum needs the same keys)", i, len(out), len(rec.Fields))
			}
		}
		m.LossFnOutputs = []*tinkerpb.ArrayRecord{rec}
	}
	return deterministic.Marshal(m)
}

// MaxDatumsPerRecord bounds the datum count of one decoded ArrayRecord, so a
// tiny hostile body cannot claim billions of datums.
const MaxDatumsPerRecord = 1 << 20

// DefaultLossFnOutputType is the output type reported when the server sends none.
const DefaultLossFnOutputType = "ArrayRecord"

// DecodeForwardBackwardOutput parses a protobuf forward_backward result.
//
// loss_fn_output_type is cut after its last ':' ("" becomes "ArrayRecord").
// Each ArrayRecord is split into datums by its int64 byte offsets; values are
// widened (BFLOAT16 → float32 by a 16-bit shift, INT32 → int64) and each
// datum's shape is [n/prod(trailing_shape), trailing_shape...]. A record's
// datum count is num_datums, or the offsets of its first field (by name)
// when that is 0 (at most MaxDatumsPerRecord). A record without fields gives
// datums whose LossFnOutput is nil. Records are concatenated in order.
//
// Malformed bytes, offsets that decrease, leave the data, are not multiples
// of the item size or disagree in count, values that do not fill the
// trailing shape, and unknown dtypes are KindValidation errors; it never
// panics.
func DecodeForwardBackwardOutput(b []byte) (ForwardBackwardOutput, error) {
	const op = "forward_backward_output"
	var m tinkerpb.ForwardBackwardOutput
	if err := protoUnmarshal(b, &m, op); err != nil {
		return ForwardBackwardOutput{}, err
	}
	typ := m.LossFnOutputType
	if i := strings.LastIndexByte(typ, ':'); i >= 0 {
		typ = typ[i+1:]
	}
	if typ == "" {
		typ = DefaultLossFnOutputType
	}
	out := ForwardBackwardOutput{LossFnOutputType: typ, LossFnOutputs: []LossFnOutput{}, Metrics: map[string]float64{}}
	for k, v := range m.Metrics {
		out.Metrics[k] = v
	}
	for ri, rec := range m.LossFnOutputs {
		datums, err := decodeArrayRecord(rec)
		if err != nil {
			return ForwardBackwardOutput{}, fmt.Errorf("loss_fn_outputs[%d]: %w", ri, err)
		}
		out.LossFnOutputs = append(out.LossFnOutputs, datums...)
	}
	return out, nil
}

func decodeArrayRecord(rec *tinkerpb.ArrayRecord) ([]LossFnOutput, error) {
	const op = "forward_backward_output"
	keys := make([]string, 0, len(rec.Fields))
	for k := range rec.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	n := rec.NumDatums
	if n < 0 {
		return nil, ValidationError(op, "negative num_datums %d", n)
	}
	if n == 0 && len(keys) > 0 {
		n = int64(len(rec.Fields[keys[0]].GetOffsets())/8) - 1
		if n < 0 {
			n = 0
		}
	}
	if n > MaxDatumsPerRecord {
		return nil, ValidationError(op, "num_datums %d is above the limit %d", n, MaxDatumsPerRecord)
	}
	outs := make([]LossFnOutput, n)
	if len(keys) > 0 {
		for i := range outs {
			outs[i] = LossFnOutput{}
		}
	}
	for _, key := range keys {
		bt := rec.Fields[key]
		size := int64(dtypeItemSize(bt.GetDtype()))
		if size == 0 {
			return nil, ValidationError(op, "field %q: unsupported dtype %v", key, bt.GetDtype())
		}
		offsets, err := unpackInt64s(bt.GetOffsets(), op, "offsets of "+key)
		if err != nil {
			return nil, err
		}
		if int64(len(offsets)) != n+1 {
			return nil, ValidationError(op, "field %q has %d offsets, want num_datums+1 = %d", key, len(offsets), n+1)
		}
		trailing := bt.GetTrailingShape()
		prod := int64(1)
		for _, d := range trailing {
			if d < 0 || (d != 0 && prod > maxTensorElems/d) {
				return nil, ValidationError(op, "field %q has a bad trailing shape %v", key, trailing)
			}
			prod *= d
		}
		data := bt.GetData()
		for i := int64(0); i < n; i++ {
			lo, hi := offsets[i], offsets[i+1]
			if lo < 0 || hi < lo || hi > int64(len(data)) || lo%size != 0 || hi%size != 0 {
				return nil, ValidationError(op, "field %q datum %d: bad byte offsets [%d, %d) for %d bytes of %d-byte items", key, i, lo, hi, len(data), size)
			}
			t, err := unpackValues(data[lo:hi], bt.GetDtype(), op, key)
			if err != nil {
				return nil, err
			}
			count := int64(t.Len())
			var lead int64
			switch {
			case prod == 0 && count != 0:
				return nil, ValidationError(op, "field %q datum %d: %d values cannot fill trailing shape %v", key, i, count, trailing)
			case prod != 0 && count%prod != 0:
				return nil, ValidationError(op, "field %q datum %d: %d values are not a multiple of trailing shape %v", key, i, count, trailing)
			case prod != 0:
				lead = count / prod
			}
			t.Shape = append([]int64{lead}, trailing...)
			outs[i][key] = t
		}
	}
	return outs, nil
}

package tinkertest

import (
	"encoding/binary"
	"fmt"
	"math"
	"sort"

	"google.golang.org/protobuf/encoding/protowire"
)

// The protobuf codec of package tinker_public (reference §3.6), written
// against the schema with protowire rather than with the client's generated
// code, so that a field-number or wire-type mistake on the client side shows
// up as a 400 here instead of being mirrored. Unknown field numbers are
// rejected for the same reason (a real proto3 server would drop them, and the
// data with them).

// proto dtype enum values.
const (
	dtypeUnspecified = 0
	dtypeFloat32     = 1
	dtypeInt64       = 2
	dtypeInt32       = 3
	dtypeBFloat16    = 4
)

type protoReader struct {
	b    []byte
	path string
}

// next returns the next field number, wire type and raw value.
func (r *protoReader) next() (protowire.Number, protowire.Type, []byte, error) {
	num, typ, n := protowire.ConsumeTag(r.b)
	if n < 0 {
		return 0, 0, nil, fmt.Errorf("%s: bad tag: %v", r.path, protowire.ParseError(n))
	}
	m := protowire.ConsumeFieldValue(num, typ, r.b[n:])
	if m < 0 {
		return 0, 0, nil, fmt.Errorf("%s: field %d: %v", r.path, num, protowire.ParseError(m))
	}
	v := r.b[n : n+m]
	r.b = r.b[n+m:]
	return num, typ, v, nil
}

func wantType(path string, num protowire.Number, got, want protowire.Type) error {
	if got != want {
		return fmt.Errorf("%s: field %d has wire type %d, want %d", path, num, got, want)
	}
	return nil
}

func bytesValue(path string, num protowire.Number, typ protowire.Type, v []byte) ([]byte, error) {
	if err := wantType(path, num, typ, protowire.BytesType); err != nil {
		return nil, err
	}
	b, n := protowire.ConsumeBytes(v)
	if n < 0 {
		return nil, fmt.Errorf("%s: field %d: %v", path, num, protowire.ParseError(n))
	}
	return b, nil
}

func varintValue(path string, num protowire.Number, typ protowire.Type, v []byte) (uint64, error) {
	if err := wantType(path, num, typ, protowire.VarintType); err != nil {
		return 0, err
	}
	x, n := protowire.ConsumeVarint(v)
	if n < 0 {
		return 0, fmt.Errorf("%s: field %d: %v", path, num, protowire.ParseError(n))
	}
	return x, nil
}

// fwdbwdRequest is a decoded ForwardBackwardRequest (or the ≤0.24 JSON
// forward_backward/forward body).
type fwdbwdRequest struct {
	ModelID      string
	SeqID        int64
	Data         []Datum
	LossFn       string
	LossFnConfig map[string]float64
	ForwardOnly  bool
}

// Datum is the fake model's view of one training example: the flattened
// model input and the loss-function inputs by name.
type Datum struct {
	// Tokens is the model input, one entry per input position. Text chunks
	// contribute their tokens; image and dmel chunks contribute
	// placeholder positions derived from their bytes.
	Tokens []int64
	// Inputs are the loss_fn_inputs (target_tokens, weights, logprobs,
	// advantages, ...), densified.
	Inputs map[string]Tensor
}

// Tensor is a dense tensor: Dtype "int64" (Ints) or "float32" (Floats),
// row-major with Shape.
type Tensor struct {
	Dtype  string
	Shape  []int64
	Ints   []int64
	Floats []float32
}

// Len is the number of elements.
func (t Tensor) Len() int {
	if t.Dtype == "int64" {
		return len(t.Ints)
	}
	return len(t.Floats)
}

// Float returns element i as a float64.
func (t Tensor) Float(i int) float64 {
	if t.Dtype == "int64" {
		return float64(t.Ints[i])
	}
	return float64(t.Floats[i])
}

func decodeFwdBwdProto(b []byte) (*fwdbwdRequest, error) {
	req := &fwdbwdRequest{LossFnConfig: map[string]float64{}}
	r := &protoReader{b: b, path: "ForwardBackwardRequest"}
	for len(r.b) > 0 {
		num, typ, v, err := r.next()
		if err != nil {
			return nil, err
		}
		switch num {
		case 1:
			s, err := bytesValue(r.path, num, typ, v)
			if err != nil {
				return nil, err
			}
			req.ModelID = string(s)
		case 2:
			x, err := varintValue(r.path, num, typ, v)
			if err != nil {
				return nil, err
			}
			req.SeqID = int64(int32(x))
		case 3:
			s, err := bytesValue(r.path, num, typ, v)
			if err != nil {
				return nil, err
			}
			d, err := decodeDatum(s, fmt.Sprintf("data[%d]", len(req.Data)))
			if err != nil {
				return nil, err
			}
			req.Data = append(req.Data, d)
		case 4:
			s, err := bytesValue(r.path, num, typ, v)
			if err != nil {
				return nil, err
			}
			req.LossFn = string(s)
		case 5:
			s, err := bytesValue(r.path, num, typ, v)
			if err != nil {
				return nil, err
			}
			k, x, err := decodeDoubleMapEntry(s, "loss_fn_config")
			if err != nil {
				return nil, err
			}
			req.LossFnConfig[k] = x
		case 6:
			x, err := varintValue(r.path, num, typ, v)
			if err != nil {
				return nil, err
			}
			req.ForwardOnly = x != 0
		default:
			return nil, fmt.Errorf("%s: unknown field %d", r.path, num)
		}
	}
	return req, nil
}

func decodeDoubleMapEntry(b []byte, path string) (string, float64, error) {
	r := &protoReader{b: b, path: path}
	var key string
	var val float64
	for len(r.b) > 0 {
		num, typ, v, err := r.next()
		if err != nil {
			return "", 0, err
		}
		switch num {
		case 1:
			s, err := bytesValue(path, num, typ, v)
			if err != nil {
				return "", 0, err
			}
			key = string(s)
		case 2:
			if err := wantType(path, num, typ, protowire.Fixed64Type); err != nil {
				return "", 0, err
			}
			x, _ := protowire.ConsumeFixed64(v)
			val = math.Float64frombits(x)
		default:
			return "", 0, fmt.Errorf("%s: unknown map entry field %d", path, num)
		}
	}
	return key, val, nil
}

func decodeDatum(b []byte, path string) (Datum, error) {
	d := Datum{Inputs: map[string]Tensor{}}
	r := &protoReader{b: b, path: path}
	for len(r.b) > 0 {
		num, typ, v, err := r.next()
		if err != nil {
			return d, err
		}
		s, err := bytesValue(path, num, typ, v)
		if err != nil {
			return d, err
		}
		switch num {
		case 1:
			toks, err := decodeChunk(s, fmt.Sprintf("%s.model_input", path))
			if err != nil {
				return d, err
			}
			d.Tokens = append(d.Tokens, toks...)
		case 2:
			name, t, err := decodeTensorEntry(s, path+".loss_fn_inputs")
			if err != nil {
				return d, err
			}
			d.Inputs[name] = t
		default:
			return d, fmt.Errorf("%s: unknown field %d", path, num)
		}
	}
	return d, nil
}

func decodeChunk(b []byte, path string) ([]int64, error) {
	r := &protoReader{b: b, path: path}
	var out []int64
	n := 0
	for len(r.b) > 0 {
		num, typ, v, err := r.next()
		if err != nil {
			return nil, err
		}
		s, err := bytesValue(path, num, typ, v)
		if err != nil {
			return nil, err
		}
		n++
		switch num {
		case 1: // EncodedTextChunk
			toks, err := decodeTextChunk(s, path+".encoded_text")
			if err != nil {
				return nil, err
			}
			out = append(out, toks...)
		case 2: // ImageChunk
			toks, err := decodeImageChunk(s, path+".image")
			if err != nil {
				return nil, err
			}
			out = append(out, toks...)
		case 3: // DmelChunk
			toks, err := decodeDmelChunk(s, path+".dmel")
			if err != nil {
				return nil, err
			}
			out = append(out, toks...)
		default:
			return nil, fmt.Errorf("%s: unknown chunk kind %d", path, num)
		}
	}
	if n != 1 {
		return nil, fmt.Errorf("%s: a chunk must set exactly one kind, got %d", path, n)
	}
	return out, nil
}

func decodeTextChunk(b []byte, path string) ([]int64, error) {
	r := &protoReader{b: b, path: path}
	var out []int64
	for len(r.b) > 0 {
		num, typ, v, err := r.next()
		if err != nil {
			return nil, err
		}
		if num != 1 {
			return nil, fmt.Errorf("%s: unknown field %d", path, num)
		}
		s, err := bytesValue(path, num, typ, v)
		if err != nil {
			return nil, err
		}
		if len(s)%4 != 0 {
			return nil, fmt.Errorf("%s: tokens are %d bytes, not a multiple of 4 (int32)", path, len(s))
		}
		for i := 0; i < len(s); i += 4 {
			out = append(out, int64(int32(binary.LittleEndian.Uint32(s[i:]))))
		}
	}
	return out, nil
}

func decodeImageChunk(b []byte, path string) ([]int64, error) {
	r := &protoReader{b: b, path: path}
	var data []byte
	expected := int64(-1)
	for len(r.b) > 0 {
		num, typ, v, err := r.next()
		if err != nil {
			return nil, err
		}
		switch num {
		case 1, 2:
			s, err := bytesValue(path, num, typ, v)
			if err != nil {
				return nil, err
			}
			if num == 1 {
				data = s
			} else if f := string(s); f != "png" && f != "jpeg" {
				return nil, fmt.Errorf("%s: format must be png or jpeg, got %q", path, f)
			}
		case 3:
			x, err := varintValue(path, num, typ, v)
			if err != nil {
				return nil, err
			}
			expected = int64(int32(x))
		default:
			return nil, fmt.Errorf("%s: unknown field %d", path, num)
		}
	}
	if expected < 0 {
		return nil, fmt.Errorf("%s: expected_tokens is required", path)
	}
	return placeholderTokens(data, int(expected)), nil
}

func decodeDmelChunk(b []byte, path string) ([]int64, error) {
	r := &protoReader{b: b, path: path}
	var data []byte
	for len(r.b) > 0 {
		num, typ, v, err := r.next()
		if err != nil {
			return nil, err
		}
		if num != 1 {
			return nil, fmt.Errorf("%s: unknown field %d", path, num)
		}
		if data, err = bytesValue(path, num, typ, v); err != nil {
			return nil, err
		}
	}
	n, err := dmelLength(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	return placeholderTokens(data, n), nil
}

// dmelLength reads the first dimension of a TensorContainer header: an
// optional 254 marker byte, a dtype byte 0–7, a varint ndim, varint dims.
func dmelLength(b []byte) (int, error) {
	if len(b) > 0 && b[0] == 254 {
		b = b[1:]
	}
	if len(b) == 0 || b[0] > 7 {
		return 0, fmt.Errorf("dmel: bad TensorContainer header")
	}
	b = b[1:]
	ndim, n := binary.Uvarint(b)
	if n <= 0 || ndim == 0 {
		return 0, fmt.Errorf("dmel: bad TensorContainer ndim")
	}
	dim, m := binary.Uvarint(b[n:])
	if m <= 0 || dim > 1<<24 {
		return 0, fmt.Errorf("dmel: bad TensorContainer dims")
	}
	return int(dim), nil
}

func placeholderTokens(data []byte, n int) []int64 {
	h := hashBytes(data)
	out := make([]int64, n)
	for i := range out {
		out[i] = int64(mix(h, uint64(i)) % VocabSize)
	}
	return out
}

func decodeTensorEntry(b []byte, path string) (string, Tensor, error) {
	r := &protoReader{b: b, path: path}
	var name string
	var t Tensor
	got := false
	for len(r.b) > 0 {
		num, typ, v, err := r.next()
		if err != nil {
			return "", t, err
		}
		s, err := bytesValue(path, num, typ, v)
		if err != nil {
			return "", t, err
		}
		switch num {
		case 1:
			name = string(s)
		case 2:
			if t, err = decodeTensor(s, path+"["+name+"]"); err != nil {
				return "", t, err
			}
			got = true
		default:
			return "", t, fmt.Errorf("%s: unknown map entry field %d", path, num)
		}
	}
	if !got {
		return "", t, fmt.Errorf("%s[%s]: missing tensor", path, name)
	}
	return name, t, nil
}

func decodeTensor(b []byte, path string) (Tensor, error) {
	r := &protoReader{b: b, path: path}
	var dense, values, crow, col []byte
	isDense, isSparse := false, false
	var dtype uint64
	var shape []int64
	for len(r.b) > 0 {
		num, typ, v, err := r.next()
		if err != nil {
			return Tensor{}, err
		}
		switch num {
		case 1:
			if dense, err = bytesValue(path, num, typ, v); err != nil {
				return Tensor{}, err
			}
			isDense = true
		case 2:
			s, err := bytesValue(path, num, typ, v)
			if err != nil {
				return Tensor{}, err
			}
			if values, crow, col, err = decodeCsr(s, path+".sparse_csr"); err != nil {
				return Tensor{}, err
			}
			isSparse = true
		case 3:
			if dtype, err = varintValue(path, num, typ, v); err != nil {
				return Tensor{}, err
			}
		case 4:
			if typ == protowire.BytesType {
				packed, err := bytesValue(path, num, typ, v)
				if err != nil {
					return Tensor{}, err
				}
				for len(packed) > 0 {
					x, n := protowire.ConsumeVarint(packed)
					if n < 0 {
						return Tensor{}, fmt.Errorf("%s: bad packed shape", path)
					}
					shape = append(shape, int64(x))
					packed = packed[n:]
				}
			} else {
				x, err := varintValue(path, num, typ, v)
				if err != nil {
					return Tensor{}, err
				}
				shape = append(shape, int64(x))
			}
		default:
			return Tensor{}, fmt.Errorf("%s: unknown field %d", path, num)
		}
	}
	if isDense == isSparse {
		return Tensor{}, fmt.Errorf("%s: exactly one of dense and sparse_csr must be set", path)
	}
	t := Tensor{Shape: shape}
	switch dtype {
	case dtypeFloat32:
		t.Dtype = "float32"
	case dtypeInt64:
		t.Dtype = "int64"
	default:
		return Tensor{}, fmt.Errorf("%s: dtype %d is not FLOAT32 or INT64 (the SDK sends only those)", path, dtype)
	}
	if isDense {
		if err := t.setRaw(dense); err != nil {
			return Tensor{}, fmt.Errorf("%s: %v", path, err)
		}
		if len(shape) == 0 {
			return Tensor{}, fmt.Errorf("%s: shape is required (the SDK sends every tensor's shape)", path)
		} else if prod(shape) != int64(t.Len()) {
			return Tensor{}, fmt.Errorf("%s: shape %v does not match %d elements", path, shape, t.Len())
		}
		return t, nil
	}
	if len(shape) != 2 {
		return Tensor{}, fmt.Errorf("%s: a sparse CSR tensor needs a 2-D shape, got %v", path, shape)
	}
	return densify(t, values, crow, col, path)
}

func prod(s []int64) int64 {
	p := int64(1)
	for _, d := range s {
		p *= d
	}
	return p
}

func (t *Tensor) setRaw(b []byte) error {
	switch t.Dtype {
	case "float32":
		if len(b)%4 != 0 {
			return fmt.Errorf("float32 data is %d bytes, not a multiple of 4", len(b))
		}
		t.Floats = make([]float32, len(b)/4)
		for i := range t.Floats {
			t.Floats[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		}
	case "int64":
		if len(b)%8 != 0 {
			return fmt.Errorf("int64 data is %d bytes, not a multiple of 8", len(b))
		}
		t.Ints = make([]int64, len(b)/8)
		for i := range t.Ints {
			t.Ints[i] = int64(binary.LittleEndian.Uint64(b[8*i:]))
		}
	}
	return nil
}

func decodeCsr(b []byte, path string) (values, crow, col []byte, err error) {
	r := &protoReader{b: b, path: path}
	for len(r.b) > 0 {
		num, typ, v, err := r.next()
		if err != nil {
			return nil, nil, nil, err
		}
		s, err := bytesValue(path, num, typ, v)
		if err != nil {
			return nil, nil, nil, err
		}
		switch num {
		case 1:
			values = s
		case 2:
			crow = s
		case 3:
			col = s
		default:
			return nil, nil, nil, fmt.Errorf("%s: unknown field %d", path, num)
		}
	}
	return values, crow, col, nil
}

func int64s(b []byte) ([]int64, error) {
	if len(b)%8 != 0 {
		return nil, fmt.Errorf("int64 index data is %d bytes, not a multiple of 8", len(b))
	}
	out := make([]int64, len(b)/8)
	for i := range out {
		out[i] = int64(binary.LittleEndian.Uint64(b[8*i:]))
	}
	return out, nil
}

func densify(t Tensor, values, crowB, colB []byte, path string) (Tensor, error) {
	crow, err := int64s(crowB)
	if err != nil {
		return Tensor{}, fmt.Errorf("%s: crow_indices: %v", path, err)
	}
	col, err := int64s(colB)
	if err != nil {
		return Tensor{}, fmt.Errorf("%s: col_indices: %v", path, err)
	}
	vals := Tensor{Dtype: t.Dtype}
	if err := vals.setRaw(values); err != nil {
		return Tensor{}, fmt.Errorf("%s: values: %v", path, err)
	}
	return densifyCSR(t.Dtype, t.Shape, vals, crow, col, path)
}

func densifyCSR(dtype string, shape []int64, vals Tensor, crow, col []int64, path string) (Tensor, error) {
	rows, cols := shape[0], shape[1]
	if rows < 0 || cols < 0 || rows*cols > 1<<26 {
		return Tensor{}, fmt.Errorf("%s: bad sparse shape %v", path, shape)
	}
	if int64(len(crow)) != rows+1 || len(col) != vals.Len() || crow[0] != 0 || crow[rows] != int64(len(col)) {
		return Tensor{}, fmt.Errorf("%s: inconsistent CSR indices (rows %d, crow %d, col %d, values %d)", path, rows, len(crow), len(col), vals.Len())
	}
	out := Tensor{Dtype: dtype, Shape: []int64{rows, cols}}
	if dtype == "int64" {
		out.Ints = make([]int64, rows*cols)
	} else {
		out.Floats = make([]float32, rows*cols)
	}
	for r := int64(0); r < rows; r++ {
		if crow[r] > crow[r+1] {
			return Tensor{}, fmt.Errorf("%s: crow_indices not monotone", path)
		}
		for j := crow[r]; j < crow[r+1]; j++ {
			c := col[j]
			if c < 0 || c >= cols {
				return Tensor{}, fmt.Errorf("%s: column index %d out of range", path, c)
			}
			if dtype == "int64" {
				out.Ints[r*cols+c] = vals.Ints[j]
			} else {
				out.Floats[r*cols+c] = vals.Floats[j]
			}
		}
	}
	return out, nil
}

// ---- encoding of results ----

func appendBytesField(b []byte, num protowire.Number, v []byte) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, v)
}

func appendVarintField(b []byte, num protowire.Number, v uint64) []byte {
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, v)
}

func float32Bytes(xs []float32) []byte {
	out := make([]byte, 4*len(xs))
	for i, x := range xs {
		binary.LittleEndian.PutUint32(out[4*i:], math.Float32bits(x))
	}
	return out
}

func int32Bytes(xs []int32) []byte {
	out := make([]byte, 4*len(xs))
	for i, x := range xs {
		binary.LittleEndian.PutUint32(out[4*i:], uint32(x))
	}
	return out
}

func int64Bytes(xs []int64) []byte {
	out := make([]byte, 8*len(xs))
	for i, x := range xs {
		binary.LittleEndian.PutUint64(out[8*i:], uint64(x))
	}
	return out
}

func encodeSampleResponse(r *SampleResult) []byte {
	var b []byte
	for _, s := range r.Sequences {
		var sb []byte
		reason := uint64(0)
		if s.StopReason == "length" {
			reason = 1
		}
		if reason != 0 {
			sb = appendVarintField(sb, 1, reason)
		}
		toks := make([]int32, len(s.Tokens))
		for i, t := range s.Tokens {
			toks[i] = int32(t)
		}
		sb = appendBytesField(sb, 2, int32Bytes(toks))
		if len(s.Logprobs) > 0 {
			sb = appendBytesField(sb, 3, float32Bytes(s.Logprobs))
		}
		b = appendBytesField(b, 1, sb)
	}
	if r.PromptLogprobs != nil {
		lp := make([]float32, len(r.PromptLogprobs))
		for i, x := range r.PromptLogprobs {
			if x == nil {
				lp[i] = float32(math.NaN())
			} else {
				lp[i] = *x
			}
		}
		b = appendBytesField(b, 2, float32Bytes(lp))
	}
	if r.TopkPromptLogprobs != nil {
		k := r.topK
		ids := make([]int32, 0, len(r.TopkPromptLogprobs)*k)
		lps := make([]float32, 0, len(r.TopkPromptLogprobs)*k)
		for _, row := range r.TopkPromptLogprobs {
			for j := 0; j < k; j++ {
				if row == nil || j >= len(row) {
					ids = append(ids, 0)
					lps = append(lps, topkSentinel)
					continue
				}
				ids = append(ids, int32(row[j].Token))
				lps = append(lps, row[j].Logprob)
			}
		}
		var tb []byte
		tb = appendBytesField(tb, 1, int32Bytes(ids))
		tb = appendBytesField(tb, 2, float32Bytes(lps))
		tb = appendVarintField(tb, 3, uint64(k))
		tb = appendVarintField(tb, 4, uint64(len(r.TopkPromptLogprobs)))
		b = appendBytesField(b, 3, tb)
	}
	if r.PromptCacheHitTokens != 0 {
		b = appendVarintField(b, 4, uint64(r.PromptCacheHitTokens))
	}
	return b
}

func encodeFwdBwdOutput(o *FwdBwdResult) []byte {
	var b []byte
	b = appendBytesField(b, 1, []byte(o.LossFnOutputType))
	if len(o.LossFnOutputs) > 0 {
		names := map[string]bool{}
		for _, d := range o.LossFnOutputs {
			for k := range d {
				names[k] = true
			}
		}
		keys := make([]string, 0, len(names))
		for k := range names {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var rec []byte
		rec = appendBytesField(rec, 1, []byte("ArrayRecord"))
		for _, k := range keys {
			rec = appendBytesField(rec, 2, encodeBatchedEntry(k, o.LossFnOutputs))
		}
		rec = appendVarintField(rec, 3, uint64(len(o.LossFnOutputs)))
		b = appendBytesField(b, 2, rec)
	}
	keys := make([]string, 0, len(o.Metrics))
	for k := range o.Metrics {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		var e []byte
		e = appendBytesField(e, 1, []byte(k))
		e = protowire.AppendTag(e, 2, protowire.Fixed64Type)
		e = protowire.AppendFixed64(e, math.Float64bits(o.Metrics[k]))
		b = appendBytesField(b, 3, e)
	}
	return b
}

func encodeBatchedEntry(name string, outs []map[string]Tensor) []byte {
	var data []byte
	offsets := []int64{0}
	dtype := uint64(dtypeFloat32)
	var trailing []int64
	for _, d := range outs {
		t := d[name]
		if t.Dtype == "int64" {
			dtype = dtypeInt64
			data = append(data, int64Bytes(t.Ints)...)
		} else {
			data = append(data, float32Bytes(t.Floats)...)
		}
		if len(t.Shape) > 1 {
			trailing = t.Shape[1:]
		}
		offsets = append(offsets, int64(len(data)))
	}
	var bt []byte
	bt = appendBytesField(bt, 1, data)
	bt = appendBytesField(bt, 2, int64Bytes(offsets))
	bt = appendVarintField(bt, 3, dtype)
	for _, d := range trailing {
		bt = appendVarintField(bt, 4, uint64(d))
	}
	var e []byte
	e = appendBytesField(e, 1, []byte(name))
	e = appendBytesField(e, 2, bt)
	return e
}

package types

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
)

// DType is the element type of a TensorData.
type DType string

// The dtypes the API knows. Wider or narrower wire types (int32, bfloat16)
// are widened to these when decoded.
const (
	DTypeInt64   DType = "int64"
	DTypeFloat32 DType = "float32"
)

// TensorData is a flat tensor: int64 or float32 values plus an optional
// shape, dense or sparse CSR. Values are kept in their own typed slice
// (Int64s for int64, Float32s for float32) so nothing is lost in conversion.
//
// A dense tensor stores every element row-major; Shape, when set, must
// multiply out to the element count. A sparse CSR tensor stores only the
// non-zero values, with SparseCrowIndices (rows+1 entries) and
// SparseColIndices (one per value); Shape must then be [rows, cols].
//
// JSON: {"data":[...], "dtype":"int64"|"float32", "shape"?:[...],
// "sparse_crow_indices"?:[...], "sparse_col_indices"?:[...]}. Non-finite
// float32 values are written as null (as pydantic does) and null reads back
// as NaN.
type TensorData struct {
	DType             DType
	Int64s            []int64
	Float32s          []float32
	Shape             []int64 // nil = not sent
	SparseCrowIndices []int64 // nil for dense tensors
	SparseColIndices  []int64 // nil for dense tensors
}

// Int64Tensor returns a dense int64 tensor holding data (not copied) with
// the given shape, or [len(data)] when none is given (the Python SDK always
// sends a shape, and the server expects one).
func Int64Tensor(data []int64, shape ...int64) TensorData {
	return TensorData{DType: DTypeInt64, Int64s: nonNil(data), Shape: shapeOr1D(shape, len(data))}
}

// Float32Tensor returns a dense float32 tensor holding data (not copied) with
// the given shape, or [len(data)] when none is given.
func Float32Tensor(data []float32, shape ...int64) TensorData {
	return TensorData{DType: DTypeFloat32, Float32s: nonNil(data), Shape: shapeOr1D(shape, len(data))}
}

// SparseInt64Tensor returns a CSR int64 tensor of shape [rows, cols].
func SparseInt64Tensor(values, crowIndices, colIndices []int64, rows, cols int64) TensorData {
	return TensorData{DType: DTypeInt64, Int64s: nonNil(values), Shape: []int64{rows, cols},
		SparseCrowIndices: nonNil(crowIndices), SparseColIndices: nonNil(colIndices)}
}

// SparseFloat32Tensor returns a CSR float32 tensor of shape [rows, cols].
func SparseFloat32Tensor(values []float32, crowIndices, colIndices []int64, rows, cols int64) TensorData {
	return TensorData{DType: DTypeFloat32, Float32s: nonNil(values), Shape: []int64{rows, cols},
		SparseCrowIndices: nonNil(crowIndices), SparseColIndices: nonNil(colIndices)}
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func shapeOr1D(shape []int64, n int) []int64 {
	if len(shape) == 0 {
		return []int64{int64(n)}
	}
	return append([]int64(nil), shape...)
}

// IsSparse reports whether t is stored as sparse CSR.
func (t TensorData) IsSparse() bool { return t.SparseCrowIndices != nil }

// Len is the number of stored values (the non-zeros for a sparse tensor).
func (t TensorData) Len() int {
	if t.DType == DTypeInt64 {
		return len(t.Int64s)
	}
	return len(t.Float32s)
}

// Float64s returns the stored values as float64 (int64 values are converted,
// which is exact up to 2^53).
func (t TensorData) Float64s() []float64 {
	out := make([]float64, 0, t.Len())
	if t.DType == DTypeInt64 {
		for _, v := range t.Int64s {
			out = append(out, float64(v))
		}
		return out
	}
	for _, v := range t.Float32s {
		out = append(out, float64(v))
	}
	return out
}

// Dense returns t with sparse CSR storage expanded to dense row-major data
// (shape [rows, cols]); a dense tensor is returned unchanged. It fails with a
// KindValidation error if the CSR structure is inconsistent.
func (t TensorData) Dense() (TensorData, error) {
	if !t.IsSparse() {
		return t, nil
	}
	if err := t.Validate(); err != nil {
		return TensorData{}, err
	}
	rows, cols := t.Shape[0], t.Shape[1]
	out := TensorData{DType: t.DType, Shape: []int64{rows, cols}}
	if t.DType == DTypeInt64 {
		out.Int64s = make([]int64, rows*cols)
	} else {
		out.Float32s = make([]float32, rows*cols)
	}
	for r := int64(0); r < rows; r++ {
		for k := t.SparseCrowIndices[r]; k < t.SparseCrowIndices[r+1]; k++ {
			idx := r*cols + t.SparseColIndices[k]
			if t.DType == DTypeInt64 {
				out.Int64s[idx] = t.Int64s[k]
			} else {
				out.Float32s[idx] = t.Float32s[k]
			}
		}
	}
	return out, nil
}

// maxTensorElems bounds the dense size a shape may describe, so a hostile
// shape cannot make Dense allocate without limit.
const maxTensorElems = 1 << 31

// Validate checks that t is well formed: a known dtype whose storage slice is
// the only one used, non-negative shape dims that multiply out to the element
// count (dense), and consistent CSR indices (sparse: 2-D shape, rows+1 crow
// indices starting at 0, non-decreasing, ending at the value count, one
// column index per value, each in [0, cols)). Errors are KindValidation.
func (t TensorData) Validate() error {
	const op = "tensor"
	switch t.DType {
	case DTypeInt64:
		if t.Float32s != nil {
			return ValidationError(op, "int64 tensor has float32 data")
		}
	case DTypeFloat32:
		if t.Int64s != nil {
			return ValidationError(op, "float32 tensor has int64 data")
		}
	default:
		return ValidationError(op, "unknown dtype %q (want int64 or float32)", t.DType)
	}
	n := int64(t.Len())
	prod := int64(1)
	for _, d := range t.Shape {
		if d < 0 {
			return ValidationError(op, "negative dimension in shape %v", t.Shape)
		}
		if d != 0 && prod > maxTensorElems/d {
			return ValidationError(op, "shape %v is too large", t.Shape)
		}
		prod *= d
	}
	if (t.SparseCrowIndices == nil) != (t.SparseColIndices == nil) {
		return ValidationError(op, "sparse tensor needs both crow and col indices")
	}
	if !t.IsSparse() {
		if t.Shape != nil && prod != n {
			return ValidationError(op, "shape %v holds %d elements but data has %d", t.Shape, prod, n)
		}
		return nil
	}
	if len(t.Shape) != 2 {
		return ValidationError(op, "sparse CSR tensor needs a 2-D shape, got %v", t.Shape)
	}
	rows, cols := t.Shape[0], t.Shape[1]
	crow, col := t.SparseCrowIndices, t.SparseColIndices
	if int64(len(crow)) != rows+1 {
		return ValidationError(op, "sparse tensor has %d crow indices, want rows+1 = %d", len(crow), rows+1)
	}
	if crow[0] != 0 {
		return ValidationError(op, "sparse crow indices must start at 0, got %d", crow[0])
	}
	for i := 1; i < len(crow); i++ {
		if crow[i] < crow[i-1] {
			return ValidationError(op, "sparse crow indices decrease at %d", i)
		}
	}
	if crow[len(crow)-1] != n || int64(len(col)) != n {
		return ValidationError(op, "sparse tensor: %d values, %d col indices, last crow index %d must all agree", n, len(col), crow[len(crow)-1])
	}
	for i, c := range col {
		if c < 0 || c >= cols {
			return ValidationError(op, "sparse col index %d = %d is outside [0, %d)", i, c, cols)
		}
	}
	return nil
}

// MarshalJSON writes the tensor in the wire form described on TensorData.
func (t TensorData) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(`{"data":[`)
	switch t.DType {
	case DTypeInt64:
		for i, v := range t.Int64s {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strconv.FormatInt(v, 10))
		}
	case DTypeFloat32:
		for i, v := range t.Float32s {
			if i > 0 {
				b.WriteByte(',')
			}
			writeFloat32(&b, v)
		}
	default:
		return nil, ValidationError("tensor", "unknown dtype %q (want int64 or float32)", t.DType)
	}
	b.WriteString(`],"dtype":"`)
	b.WriteString(string(t.DType))
	b.WriteByte('"')
	writeInts := func(name string, xs []int64) {
		if xs == nil {
			return
		}
		b.WriteString(`,"` + name + `":[`)
		for i, v := range xs {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strconv.FormatInt(v, 10))
		}
		b.WriteByte(']')
	}
	writeInts("shape", t.Shape)
	writeInts("sparse_crow_indices", t.SparseCrowIndices)
	writeInts("sparse_col_indices", t.SparseColIndices)
	b.WriteByte('}')
	return b.Bytes(), nil
}

func writeFloat32(b *bytes.Buffer, v float32) {
	f := float64(v)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		b.WriteString("null")
		return
	}
	b.WriteString(strconv.FormatFloat(f, 'g', -1, 32))
}

// UnmarshalJSON reads the wire form. int64 data must be integers (no
// fraction, in range); float32 data may be any number or null (NaN). A
// missing or unknown dtype is a KindValidation error.
func (t *TensorData) UnmarshalJSON(b []byte) error {
	var w struct {
		Data  []json.RawMessage `json:"data"`
		DType DType             `json:"dtype"`
		Shape []int64           `json:"shape"`
		Crow  []int64           `json:"sparse_crow_indices"`
		Col   []int64           `json:"sparse_col_indices"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	out := TensorData{DType: w.DType, Shape: w.Shape, SparseCrowIndices: w.Crow, SparseColIndices: w.Col}
	switch w.DType {
	case DTypeInt64:
		out.Int64s = make([]int64, len(w.Data))
		for i, raw := range w.Data {
			v, err := parseJSONInt(raw)
			if err != nil {
				return ValidationError("tensor", "int64 data[%d]: %v", i, err)
			}
			out.Int64s[i] = v
		}
	case DTypeFloat32:
		out.Float32s = make([]float32, len(w.Data))
		for i, raw := range w.Data {
			if string(raw) == "null" {
				out.Float32s[i] = float32(math.NaN())
				continue
			}
			v, err := strconv.ParseFloat(string(raw), 64)
			if err != nil && !isRangeErr(err) {
				return ValidationError("tensor", "float32 data[%d] is not a number: %s", i, raw)
			}
			out.Float32s[i] = float32(v)
		}
	default:
		return ValidationError("tensor", "unknown dtype %q (want int64 or float32)", w.DType)
	}
	*t = out
	return nil
}

func isRangeErr(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}

// parseJSONInt accepts an integer literal, or a float literal with no
// fractional part (Python sometimes writes 3.0), within int64 range.
func parseJSONInt(raw json.RawMessage) (int64, error) {
	s := string(raw)
	if v, err := strconv.ParseInt(s, 10, 64); err == nil {
		return v, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f != math.Trunc(f) || f < -(1<<63) || f >= 1<<63 {
		return 0, fmt.Errorf("%s is not an int64", s)
	}
	return int64(f), nil
}

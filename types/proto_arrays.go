package types

import (
	"encoding/binary"
	"math"

	"github.com/tinkex-go/tinkex/types/tinkerpb"
	"google.golang.org/protobuf/proto"
)

// Little-endian raw array packing shared by the protobuf conversions.

func packInt32s(xs []int, op, what string) ([]byte, error) {
	b := make([]byte, 4*len(xs))
	for i, x := range xs {
		if x < math.MinInt32 || x > math.MaxInt32 {
			return nil, ValidationError(op, "%s[%d] = %d does not fit in int32", what, i, x)
		}
		binary.LittleEndian.PutUint32(b[4*i:], uint32(int32(x)))
	}
	return b, nil
}

func unpackInt32s(b []byte, op string, what any) ([]int, error) {
	if len(b)%4 != 0 {
		return nil, ValidationError(op, "%s: %d bytes is not a whole number of int32s", what, len(b))
	}
	out := make([]int, len(b)/4)
	for i := range out {
		out[i] = int(int32(binary.LittleEndian.Uint32(b[4*i:])))
	}
	return out, nil
}

func packInt64s(xs []int64) []byte {
	b := make([]byte, 8*len(xs))
	for i, x := range xs {
		binary.LittleEndian.PutUint64(b[8*i:], uint64(x))
	}
	return b
}

func unpackInt64s(b []byte, op, what string) ([]int64, error) {
	if len(b)%8 != 0 {
		return nil, ValidationError(op, "%s: %d bytes is not a whole number of int64s", what, len(b))
	}
	out := make([]int64, len(b)/8)
	for i := range out {
		out[i] = int64(binary.LittleEndian.Uint64(b[8*i:]))
	}
	return out, nil
}

func packFloat32s(xs []float32) []byte {
	b := make([]byte, 4*len(xs))
	for i, x := range xs {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

func packFloat64sAs32(xs []float64) []byte {
	b := make([]byte, 4*len(xs))
	for i, x := range xs {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(float32(x)))
	}
	return b
}

func unpackFloat32s(b []byte, op string, what any) ([]float32, error) {
	if len(b)%4 != 0 {
		return nil, ValidationError(op, "%s: %d bytes is not a whole number of float32s", what, len(b))
	}
	out := make([]float32, len(b)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out, nil
}

// dtypeItemSize is the byte width of one element of a wire dtype, 0 if the
// dtype is unknown.
func dtypeItemSize(d tinkerpb.DType) int {
	switch d {
	case tinkerpb.DType_DTYPE_FLOAT32, tinkerpb.DType_DTYPE_INT32:
		return 4
	case tinkerpb.DType_DTYPE_INT64:
		return 8
	case tinkerpb.DType_DTYPE_BFLOAT16:
		return 2
	}
	return 0
}

// unpackValues decodes raw values of a wire dtype into a TensorData with the
// public dtype: FLOAT32 and BFLOAT16 (widened by a 16-bit shift) become
// float32; INT64 and INT32 (sign-extended) become int64.
func unpackValues(b []byte, d tinkerpb.DType, op, what string) (TensorData, error) {
	size := dtypeItemSize(d)
	if size == 0 {
		return TensorData{}, ValidationError(op, "%s: unsupported dtype %v", what, d)
	}
	if len(b)%size != 0 {
		return TensorData{}, ValidationError(op, "%s: %d bytes is not a whole number of %d-byte %v values", what, len(b), size, d)
	}
	n := len(b) / size
	switch d {
	case tinkerpb.DType_DTYPE_FLOAT32:
		f, err := unpackFloat32s(b, op, what)
		return TensorData{DType: DTypeFloat32, Float32s: f}, err
	case tinkerpb.DType_DTYPE_BFLOAT16:
		f := make([]float32, n)
		for i := range f {
			f[i] = math.Float32frombits(uint32(binary.LittleEndian.Uint16(b[2*i:])) << 16)
		}
		return TensorData{DType: DTypeFloat32, Float32s: f}, nil
	case tinkerpb.DType_DTYPE_INT64:
		v, err := unpackInt64s(b, op, what)
		return TensorData{DType: DTypeInt64, Int64s: v}, err
	default: // INT32
		v := make([]int64, n)
		for i := range v {
			v[i] = int64(int32(binary.LittleEndian.Uint32(b[4*i:])))
		}
		return TensorData{DType: DTypeInt64, Int64s: v}, nil
	}
}

// packValues encodes t's stored values and returns them with the wire dtype
// (FLOAT32 or INT64 only, as the SDK sends).
func packValues(t TensorData) ([]byte, tinkerpb.DType, error) {
	switch t.DType {
	case DTypeFloat32:
		return packFloat32s(t.Float32s), tinkerpb.DType_DTYPE_FLOAT32, nil
	case DTypeInt64:
		return packInt64s(t.Int64s), tinkerpb.DType_DTYPE_INT64, nil
	}
	return nil, 0, ValidationError("tensor", "unknown dtype %q (want int64 or float32)", t.DType)
}

var deterministic = proto.MarshalOptions{Deterministic: true}

func protoUnmarshal(b []byte, m proto.Message, op string) error {
	if err := proto.Unmarshal(b, m); err != nil {
		return &Error{Kind: KindValidation, Op: op, Message: "malformed protobuf body", Err: err}
	}
	return nil
}

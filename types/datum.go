package types

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
)

// Datum is one training example: the model input and the loss function's
// per-example inputs (e.g. "target_tokens", "weights"), keyed by name.
// JSON: {"model_input":ModelInput,"loss_fn_inputs":{name:TensorData}}.
type Datum struct {
	ModelInput   ModelInput            `json:"model_input"`
	LossFnInputs map[string]TensorData `json:"loss_fn_inputs"`
}

// MarshalJSON sends loss_fn_inputs as {} when nil.
func (d Datum) MarshalJSON() ([]byte, error) {
	inputs := d.LossFnInputs
	if inputs == nil {
		inputs = map[string]TensorData{}
	}
	return json.Marshal(struct {
		ModelInput   ModelInput            `json:"model_input"`
		LossFnInputs map[string]TensorData `json:"loss_fn_inputs"`
	}{d.ModelInput, inputs})
}

// LossFnInputDTypes is the per-key dtype table used when loss function inputs
// are given as plain Go slices: token ids are int64, everything else float32.
// Keys not in this table must be given as TensorData.
var LossFnInputDTypes = map[string]DType{
	"target_tokens":       DTypeInt64,
	"weights":             DTypeFloat32,
	"advantages":          DTypeFloat32,
	"logprobs":            DTypeFloat32,
	"clip_low_threshold":  DTypeFloat32,
	"clip_high_threshold": DTypeFloat32,
}

// NewDatum builds a Datum from a model input and loss function inputs given
// as plain values. Each value may be a TensorData (used as is), a 1-D slice
// ([]int, []int32, []int64, []float32, []float64) or a rectangular 2-D slice
// of those element types (shape [rows, cols]). Plain slices are converted to
// the dtype that LossFnInputDTypes names for the key.
//
// It fails with a KindValidation error for a key not in the table given as a
// plain slice, a ragged 2-D slice, a float value given for an int64 key that
// is not a whole number, an unsupported value type, or an invalid TensorData.
func NewDatum(input ModelInput, lossFnInputs map[string]any) (Datum, error) {
	out := make(map[string]TensorData, len(lossFnInputs))
	keys := make([]string, 0, len(lossFnInputs))
	for k := range lossFnInputs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		t, err := tensorFromValue(k, lossFnInputs[k])
		if err != nil {
			return Datum{}, err
		}
		out[k] = t
	}
	return Datum{ModelInput: input, LossFnInputs: out}, nil
}

func tensorFromValue(key string, v any) (TensorData, error) {
	const op = "datum"
	if t, ok := v.(TensorData); ok {
		if err := t.Validate(); err != nil {
			return TensorData{}, fmt.Errorf("loss_fn_inputs[%q]: %w", key, err)
		}
		return t, nil
	}
	dtype, ok := LossFnInputDTypes[key]
	if !ok {
		return TensorData{}, ValidationError(op, "loss_fn_inputs[%q]: unknown key given as a plain slice; pass a TensorData to choose its dtype", key)
	}
	flat, shape, err := flattenValue(v)
	if err != nil {
		return TensorData{}, ValidationError(op, "loss_fn_inputs[%q]: %v", key, err)
	}
	if dtype == DTypeInt64 {
		ints := make([]int64, len(flat))
		for i, f := range flat {
			if f.isInt {
				ints[i] = f.i
				continue
			}
			if f.f != float64(int64(f.f)) {
				return TensorData{}, ValidationError(op, "loss_fn_inputs[%q][%d] = %v is not a whole number", key, i, f.f)
			}
			ints[i] = int64(f.f)
		}
		return Int64Tensor(ints, shape...), nil
	}
	floats := make([]float32, len(flat))
	for i, f := range flat {
		if f.isInt {
			floats[i] = float32(f.i)
		} else {
			floats[i] = float32(f.f)
		}
	}
	return Float32Tensor(floats, shape...), nil
}

type number struct {
	isInt bool
	i     int64
	f     float64
}

func flattenValue(v any) ([]number, []int64, error) {
	switch x := v.(type) {
	case []int:
		return convert(x, func(e int) number { return number{isInt: true, i: int64(e)} }), nil, nil
	case []int32:
		return convert(x, func(e int32) number { return number{isInt: true, i: int64(e)} }), nil, nil
	case []int64:
		return convert(x, func(e int64) number { return number{isInt: true, i: e} }), nil, nil
	case []float32:
		return convert(x, func(e float32) number { return number{f: float64(e)} }), nil, nil
	case []float64:
		return convert(x, func(e float64) number { return number{f: e} }), nil, nil
	case [][]int:
		return flatten2D(x, func(e int) number { return number{isInt: true, i: int64(e)} })
	case [][]int32:
		return flatten2D(x, func(e int32) number { return number{isInt: true, i: int64(e)} })
	case [][]int64:
		return flatten2D(x, func(e int64) number { return number{isInt: true, i: e} })
	case [][]float32:
		return flatten2D(x, func(e float32) number { return number{f: float64(e)} })
	case [][]float64:
		return flatten2D(x, func(e float64) number { return number{f: e} })
	}
	return nil, nil, fmt.Errorf("unsupported value type %T", v)
}

func convert[T any](xs []T, f func(T) number) []number {
	out := make([]number, len(xs))
	for i, x := range xs {
		out[i] = f(x)
	}
	return out
}

func flatten2D[T any](rows [][]T, f func(T) number) ([]number, []int64, error) {
	cols := 0
	if len(rows) > 0 {
		cols = len(rows[0])
	}
	out := make([]number, 0, len(rows)*cols)
	for r, row := range rows {
		if len(row) != cols {
			return nil, nil, fmt.Errorf("ragged 2-D slice: row %d has %d elements, row 0 has %d", r, len(row), cols)
		}
		for _, x := range row {
			out = append(out, f(x))
		}
	}
	return out, []int64{int64(len(rows)), int64(cols)}, nil
}

// Validate returns a KindValidation error if the model input is invalid (see
// ModelInput.Validate), any loss function input is (see TensorData.Validate),
// or holds a value the server cannot train on: NaN anywhere, ±Inf in
// weights, advantages or logprobs, a negative weight or target token.
func (d Datum) Validate() error { return d.validate(false) }

// ValidateSignedWeights is Validate except that weights may be negative:
// the linear loss that TrainingClient.ForwardBackwardCustom sends carries
// weights = -gradient.
func (d Datum) ValidateSignedWeights() error { return d.validate(true) }

func (d Datum) validate(signedWeights bool) error {
	if err := d.ModelInput.Validate(); err != nil {
		return fmt.Errorf("model_input: %w", err)
	}
	keys := make([]string, 0, len(d.LossFnInputs))
	for k := range d.LossFnInputs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if err := d.LossFnInputs[k].Validate(); err != nil {
			return fmt.Errorf("loss_fn_inputs[%q]: %w", k, err)
		}
	}
	if err := d.validateValues(signedWeights); err != nil {
		return err
	}
	return d.validatePositions()
}

// perPositionInputs are the loss function inputs that hold one value per
// model-input position, so they must all have target_tokens' shape.
var perPositionInputs = []string{"target_tokens", "weights", "advantages", "logprobs"}

// validatePositions checks what the service checks per datum: every
// per-position input has target_tokens' shape, and target_tokens starts
// with the model input's length.
func (d Datum) validatePositions() error {
	const op = "datum"
	ref, ok := d.LossFnInputs["target_tokens"]
	if !ok {
		return nil
	}
	refShape := ref.shape()
	for _, k := range perPositionInputs[1:] {
		t, ok := d.LossFnInputs[k]
		if !ok {
			continue
		}
		if got := t.shape(); !slices.Equal(got, refShape) {
			return ValidationError(op, "loss_fn_inputs[%q] has shape %v but target_tokens has shape %v", k, got, refShape)
		}
	}
	n, err := d.ModelInput.Length()
	if err != nil || len(refShape) == 0 {
		return nil // the length check needs a known model-input length
	}
	if refShape[0] != int64(n) {
		return ValidationError(op, "target_tokens has %d positions but the model input has %d tokens", refShape[0], n)
	}
	return nil
}

// shape returns the tensor's shape: Shape when set, else [Len()].
func (t TensorData) shape() []int64 {
	if t.Shape != nil {
		return t.Shape
	}
	return []int64{int64(t.Len())}
}

package types

import (
	"encoding/json"
	"math"
	"reflect"
	"strconv"
)

// pyFloat is a float64 that JSON-encodes as the Python SDK's does
// (json.dumps, i.e. float.__repr__): "1.0" where encoding/json writes "1".
// The sampling parameters use it, so the asample body reads byte for byte
// as the SDK's. It decodes as any float64.
type pyFloat float64

// MarshalJSON writes f as appendPythonFloat does; like encoding/json it
// refuses NaN and infinities (*json.UnsupportedValueError).
func (f pyFloat) MarshalJSON() ([]byte, error) {
	v := float64(f)
	if !finite(v) {
		return nil, &json.UnsupportedValueError{Value: reflect.ValueOf(v), Str: strconv.FormatFloat(v, 'g', -1, 64)}
	}
	return appendPythonFloat(nil, v), nil
}

// appendPythonFloat writes a finite float64 as Python's float.__repr__:
// the shortest digits that read back as f (as strconv's); in exponent form
// when the decimal exponent is below -4 or from 16 on ("1e-05", "1.5e+16",
// two exponent digits at least, as strconv writes them), else in fixed
// form with at least one digit after the point ("1.0", "0.0001",
// "1000000000000000.0").
func appendPythonFloat(b []byte, f float64) []byte {
	if f == 0 {
		if math.Signbit(f) {
			return append(b, "-0.0"...)
		}
		return append(b, "0.0"...)
	}
	start := len(b)
	b = strconv.AppendFloat(b, f, 'e', -1, 64)
	exp, i := 0, len(b)-1 // strconv wrote "d[.ddd]e±dd[d]"
	for ; b[i] != '+' && b[i] != '-'; i-- {
	}
	for _, c := range b[i+1:] {
		exp = 10*exp + int(c-'0')
	}
	if b[i] == '-' {
		exp = -exp
	}
	if exp < -4 || exp >= 16 {
		return b
	}
	b = strconv.AppendFloat(b[:start], f, 'f', -1, 64)
	for _, c := range b[start:] {
		if c == '.' {
			return b
		}
	}
	return append(b, ".0"...)
}

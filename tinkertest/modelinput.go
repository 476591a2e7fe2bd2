package tinkertest

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
)

// JSON decoding of ModelInput and TensorData (reference §3.7).

func parseModelInput(o *object, field string) []int64 {
	mi := o.object(field, true)
	if mi == nil {
		return nil
	}
	chunks := mi.array("chunks", true)
	var toks []int64
	for i, raw := range chunks {
		ch, err := parseObject(fmt.Sprintf("%s.chunks[%d]", mi.path, i), raw)
		if err != nil {
			mi.fail("%v", err)
			break
		}
		switch kind := ch.str("type", true); kind {
		case "encoded_text":
			for j, t := range ch.array("tokens", true) {
				n, err := jsonInt(t)
				if err != nil || n < 0 || n > 1<<31-1 {
					ch.fail("%s.tokens[%d]: must be a non-negative int32", ch.path, j)
					break
				}
				toks = append(toks, n)
			}
		case "image":
			data := ch.str("data", true)
			format := ch.str("format", true)
			n, has := ch.integer("expected_tokens", false)
			b, err := base64.StdEncoding.DecodeString(data)
			switch {
			case ch.err != nil:
			case err != nil:
				ch.fail("%s.data: not base64", ch.path)
			case format != "png" && format != "jpeg":
				ch.fail("%s.format: must be png or jpeg", ch.path)
			case !has || n < 0:
				ch.fail("%s.expected_tokens: required by the server to size the image", ch.path)
			default:
				toks = append(toks, placeholderTokens(b, int(n))...)
			}
		case "image_asset_pointer":
			loc := ch.str("location", true)
			format := ch.str("format", true)
			n, has := ch.integer("expected_tokens", false)
			switch {
			case ch.err != nil:
			case format != "png" && format != "jpeg":
				ch.fail("%s.format: must be png or jpeg", ch.path)
			case !has || n < 0:
				ch.fail("%s.expected_tokens: required", ch.path)
			default:
				toks = append(toks, placeholderTokens([]byte(loc), int(n))...)
			}
		case "dmel":
			b, err := base64.StdEncoding.DecodeString(ch.str("dmel", true))
			if ch.err == nil {
				n, derr := dmelLength(b)
				if err != nil || derr != nil {
					ch.fail("%s.dmel: not a base64 TensorContainer", ch.path)
				} else {
					toks = append(toks, placeholderTokens(b, n)...)
				}
			}
		default:
			if ch.err == nil {
				ch.fail("%s.type: unknown chunk type %q", ch.path, kind)
			}
		}
		mi.child(ch)
	}
	o.child(mi)
	return toks
}

func parseTensorJSON(path string, raw json.RawMessage) (Tensor, error) {
	o, err := parseObject(path, raw)
	if err != nil {
		return Tensor{}, err
	}
	data := o.array("data", true)
	dtype := o.str("dtype", true)
	var shape, crow, col []int64
	for _, f := range []struct {
		name string
		dst  *[]int64
	}{{"shape", &shape}, {"sparse_crow_indices", &crow}, {"sparse_col_indices", &col}} {
		for i, v := range o.array(f.name, false) {
			n, err := jsonInt(v)
			if err != nil {
				o.fail("%s.%s[%d]: must be an integer", path, f.name, i)
			}
			*f.dst = append(*f.dst, n)
		}
	}
	if err := o.finish(); err != nil {
		return Tensor{}, err
	}
	t := Tensor{Dtype: dtype}
	for i, v := range data {
		switch dtype {
		case "int64":
			n, err := jsonInt(v)
			if err != nil {
				return Tensor{}, fmt.Errorf("%s.data[%d]: must be an integer", path, i)
			}
			t.Ints = append(t.Ints, n)
		case "float32":
			var x float64
			if err := json.Unmarshal(v, &x); err != nil {
				return Tensor{}, fmt.Errorf("%s.data[%d]: must be a number", path, i)
			}
			t.Floats = append(t.Floats, float32(x))
		default:
			return Tensor{}, fmt.Errorf("%s.dtype: must be int64 or float32, got %q", path, dtype)
		}
	}
	if dtype != "int64" && dtype != "float32" {
		return Tensor{}, fmt.Errorf("%s.dtype: must be int64 or float32, got %q", path, dtype)
	}
	if crow != nil || col != nil {
		if len(shape) != 2 {
			return Tensor{}, fmt.Errorf("%s: a sparse tensor needs a 2-D shape", path)
		}
		return densifyCSR(dtype, shape, t, crow, col, path)
	}
	if shape == nil {
		return Tensor{}, fmt.Errorf("%s.shape: field required (the SDK sends every tensor's shape)", path)
	} else if prod(shape) != int64(t.Len()) {
		return Tensor{}, fmt.Errorf("%s: shape %v does not match %d elements", path, shape, t.Len())
	}
	t.Shape = shape
	return t, nil
}

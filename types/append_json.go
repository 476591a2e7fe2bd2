package types

import (
	"encoding/json"
	"math"
	"strconv"
	"unicode/utf8"
)

// AppendJSON appends to b exactly the bytes json.Marshal(r) writes: the
// asample body. It is the sampling hot path's encoder, one pass over the
// request with no reflection: json.Marshal reaches SampleRequest,
// ModelInput, each chunk and SamplingParams through their MarshalJSON
// methods and validates and compacts the output of each one again at every
// level. A request the single pass does not cover (a chunk other than
// encoded text, a non-finite float) is encoded by json.Marshal, so the
// bytes, and any error, are always json.Marshal's.
func (r SampleRequest) AppendJSON(b []byte) ([]byte, error) {
	if !r.appendable() {
		out, err := json.Marshal(r)
		if err != nil {
			return b, err
		}
		return append(b, out...), nil
	}
	if b == nil {
		b = make([]byte, 0, r.sizeHint())
	}
	b = append(b, '{')
	if r.SamplingSessionID != "" {
		b = append(b, `"sampling_session_id":`...)
		b = appendJSONString(b, r.SamplingSessionID)
		b = append(b, ',')
	}
	b = append(b, `"seq_id":`...)
	b = strconv.AppendInt(b, r.SeqID, 10)
	b = append(b, `,"num_samples":`...)
	b = strconv.AppendInt(b, int64(r.NumSamples), 10)
	b = append(b, `,"prompt":{"chunks":[`...)
	for i, c := range r.Prompt.Chunks {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"type":"encoded_text","tokens":[`...)
		for j, t := range encodedTokens(c) {
			if j > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendInt(b, int64(t), 10)
		}
		b = append(b, "]}"...)
	}
	b = append(b, `]},"sampling_params":{`...)
	p := r.SamplingParams
	if p.MaxTokens != nil {
		b = append(b, `"max_tokens":`...)
		b = strconv.AppendInt(b, int64(*p.MaxTokens), 10)
		b = append(b, ',')
	}
	if p.Seed != nil {
		b = append(b, `"seed":`...)
		b = strconv.AppendInt(b, *p.Seed, 10)
		b = append(b, ',')
	}
	if !p.Stop.IsZero() {
		stop, err := json.Marshal(p.Stop)
		if err != nil {
			return b, err
		}
		b = append(b, `"stop":`...)
		b = append(b, stop...)
		b = append(b, ',')
	}
	b = append(b, `"temperature":`...)
	b = appendPythonFloat(b, p.Temperature)
	b = append(b, `,"top_k":`...)
	b = strconv.AppendInt(b, int64(p.TopK), 10)
	b = append(b, `,"top_p":`...)
	b = appendPythonFloat(b, p.TopP)
	b = append(b, `},"prompt_logprobs":`...)
	b = strconv.AppendBool(b, r.PromptLogprobs)
	b = append(b, `,"topk_prompt_logprobs":`...)
	b = strconv.AppendInt(b, int64(r.TopkPromptLogprobs), 10)
	if r.BaseModel != "" {
		b = append(b, `,"base_model":`...)
		b = appendJSONString(b, r.BaseModel)
	}
	if r.ModelPath != "" {
		b = append(b, `,"model_path":`...)
		b = appendJSONString(b, r.ModelPath)
	}
	return append(b, `,"type":"sample"}`...), nil
}

// appendable reports whether AppendJSON's single pass covers r: every
// chunk is encoded text (a value or a non-nil pointer) and the floats are
// finite (json.Marshal refuses the others, with its own error).
func (r SampleRequest) appendable() bool {
	for _, c := range r.Prompt.Chunks {
		switch c := c.(type) {
		case EncodedTextChunk:
		case *EncodedTextChunk:
			if c == nil {
				return false
			}
		default:
			return false
		}
	}
	return finite(r.SamplingParams.Temperature) && finite(r.SamplingParams.TopP)
}

// sizeHint is about the size of r's JSON: the fixed fields and up to seven
// bytes per token.
func (r SampleRequest) sizeHint() int {
	n := 256 + len(r.SamplingSessionID) + len(r.BaseModel) + len(r.ModelPath)
	for _, c := range r.Prompt.Chunks {
		n += 48 + 7*len(encodedTokens(c))
	}
	return n
}

func encodedTokens(c Chunk) []int {
	switch c := c.(type) {
	case EncodedTextChunk:
		return c.Tokens
	case *EncodedTextChunk:
		return c.Tokens
	}
	return nil
}

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

const hexDigits = "0123456789abcdef"

// appendJSONString writes s as a JSON string exactly as encoding/json does
// (HTML escaping on): <, > and & as \u003c, \u003e, \u0026; U+2028 and
// U+2029 escaped; invalid UTF-8 as \ufffd.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

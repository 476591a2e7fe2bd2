package types

import (
	"fmt"
	"math"

	"github.com/tinkex-go/tinkex/types/tinkerpb"
)

// TopkSentinel is the (token, logprob) cell that pads top-k prompt logprob
// rows on the wire; a row starting with it is missing.
var TopkSentinel = TokenLogprob{Token: 0, Logprob: -99999.0}

// EncodeSampleResponse serializes r as the protobuf result of a sample future
// (for servers and test fakes). Logprobs are sent as float32 (NaN marks a
// missing prompt logprob). Top-k rows are padded to the longest row with
// TopkSentinel, and a nil row is sent as all sentinels. A stop reason other
// than "stop"/"length", or a token or count outside int32, is a
// KindValidation error.
func EncodeSampleResponse(r SampleResponse) ([]byte, error) {
	const op = "sample"
	if r.PromptCacheHitTokens < math.MinInt32 || r.PromptCacheHitTokens > math.MaxInt32 {
		return nil, ValidationError(op, "prompt_cache_hit_tokens %d does not fit in int32", r.PromptCacheHitTokens)
	}
	m := &tinkerpb.SampleResponse{PromptCacheHitTokens: int32(r.PromptCacheHitTokens)}
	for i, s := range r.Sequences {
		ps := &tinkerpb.SampledSequence{}
		switch s.StopReason {
		case StopReasonStop:
			ps.StopReason = tinkerpb.StopReason_STOP_REASON_STOP
		case StopReasonLength:
			ps.StopReason = tinkerpb.StopReason_STOP_REASON_LENGTH
		default:
			return nil, ValidationError(op, "sequence %d has unknown stop_reason %q", i, s.StopReason)
		}
		toks, err := packInt32s(s.Tokens, op, fmt.Sprintf("sequence %d tokens", i))
		if err != nil {
			return nil, err
		}
		ps.Tokens = toks
		if len(s.Logprobs) > 0 {
			ps.Logprobs = packFloat64sAs32(s.Logprobs)
		}
		m.Sequences = append(m.Sequences, ps)
	}
	if r.PromptLogprobs != nil {
		m.PromptLogprobs = packFloat64sAs32(r.PromptLogprobs)
	}
	if r.TopkPromptLogprobs != nil {
		k := 1
		for _, row := range r.TopkPromptLogprobs {
			k = max(k, len(row))
		}
		n := len(r.TopkPromptLogprobs)
		if int64(n)*int64(k) > math.MaxInt32 {
			return nil, ValidationError(op, "top-k prompt logprobs too large (%d x %d)", n, k)
		}
		ids := make([]int, 0, n*k)
		lps := make([]float64, 0, n*k)
		for _, row := range r.TopkPromptLogprobs {
			for j := 0; j < k; j++ {
				c := TopkSentinel
				if row != nil && j < len(row) {
					c = row[j]
				}
				ids = append(ids, c.Token)
				lps = append(lps, c.Logprob)
			}
		}
		packed, err := packInt32s(ids, op, "top-k token ids")
		if err != nil {
			return nil, err
		}
		m.TopkPromptLogprobs = &tinkerpb.TopkPromptLogprobs{TokenIds: packed, Logprobs: packFloat64sAs32(lps), K: uint32(k), PromptLength: uint32(n)}
	}
	return deterministic.Marshal(m)
}

// DecodeSampleResponse parses a protobuf sample result.
//
// Stop reason 0 is "stop" and 1 is "length"; any other value is an error.
// A sequence's Logprobs is nil when the field is empty. PromptLogprobs is nil
// when absent; NaN entries are missing values (see NullableFloats). Top-k is
// decoded only when prompt_length > 0 and k > 0: a row whose first cell is
// TopkSentinel becomes nil, and trailing sentinel cells are dropped.
//
// Malformed bytes, raw arrays that are not whole numbers of items, and a
// top-k block whose size is not prompt_length×k are KindValidation errors;
// it never panics.
func DecodeSampleResponse(b []byte) (SampleResponse, error) {
	const op = "sample"
	var m tinkerpb.SampleResponse
	if err := protoUnmarshal(b, &m, op); err != nil {
		return SampleResponse{}, err
	}
	r := SampleResponse{Sequences: make([]SampledSequence, len(m.Sequences)), PromptCacheHitTokens: int(m.PromptCacheHitTokens)}
	for i, ps := range m.Sequences {
		var s SampledSequence
		switch ps.GetStopReason() {
		case tinkerpb.StopReason_STOP_REASON_STOP:
			s.StopReason = StopReasonStop
		case tinkerpb.StopReason_STOP_REASON_LENGTH:
			s.StopReason = StopReasonLength
		default:
			return SampleResponse{}, ValidationError(op, "sequence %d has unknown stop reason %d", i, int32(ps.GetStopReason()))
		}
		toks, err := unpackInt32s(ps.GetTokens(), op, sequenceField{i, "tokens"})
		if err != nil {
			return SampleResponse{}, err
		}
		s.Tokens = toks
		if len(ps.GetLogprobs()) > 0 {
			lps, err := unpackFloat32s(ps.GetLogprobs(), op, sequenceField{i, "logprobs"})
			if err != nil {
				return SampleResponse{}, err
			}
			s.Logprobs = widen(lps)
		}
		r.Sequences[i] = s
	}
	if m.PromptLogprobs != nil {
		lps, err := unpackFloat32s(m.PromptLogprobs, op, "prompt_logprobs")
		if err != nil {
			return SampleResponse{}, err
		}
		r.PromptLogprobs = NullableFloats(widen(lps))
	}
	if tk := m.TopkPromptLogprobs; tk != nil && tk.PromptLength > 0 && tk.K > 0 {
		cells := uint64(tk.PromptLength) * uint64(tk.K)
		if len(tk.TokenIds)%4 != 0 || len(tk.Logprobs)%4 != 0 ||
			uint64(len(tk.TokenIds)/4) != cells || uint64(len(tk.Logprobs)/4) != cells {
			return SampleResponse{}, ValidationError(op, "top-k prompt logprobs: %d token-id bytes and %d logprob bytes for %d×%d cells",
				len(tk.TokenIds), len(tk.Logprobs), tk.PromptLength, tk.K)
		}
		ids, _ := unpackInt32s(tk.TokenIds, op, "top-k token ids")
		lps, _ := unpackFloat32s(tk.Logprobs, op, "top-k logprobs")
		k := int(tk.K)
		rows := make([][]TokenLogprob, tk.PromptLength)
		for i := range rows {
			row := make([]TokenLogprob, k)
			for j := range row {
				row[j] = TokenLogprob{Token: ids[i*k+j], Logprob: float64(lps[i*k+j])}
			}
			if row[0] == TopkSentinel {
				continue
			}
			for len(row) > 0 && row[len(row)-1] == TopkSentinel {
				row = row[:len(row)-1]
			}
			rows[i] = row
		}
		r.TopkPromptLogprobs = rows
	}
	return r, nil
}

func widen(xs []float32) []float64 {
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = float64(x)
	}
	return out
}

// sequenceField names a field of sequence i in decode errors; it is
// formatted only when an error is reported.
type sequenceField struct {
	i     int
	field string
}

func (f sequenceField) String() string { return fmt.Sprintf("sequence %d %s", f.i, f.field) }

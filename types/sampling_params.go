package types

import (
	"bytes"
	"encoding/json"
	"math"
	"unicode/utf8"
)

// Stop holds the stop condition of sampling: either stop strings or stop
// token ids, never both. The zero value means "no stop condition" and is not
// sent. JSON: a list of strings or a list of ints (a single string is also
// accepted when decoding).
type Stop struct {
	Strings []string
	Tokens  []int
}

// StopStrings returns a Stop on any of the given strings.
func StopStrings(s ...string) Stop { return Stop{Strings: append([]string(nil), s...)} }

// StopTokens returns a Stop on any of the given token ids.
func StopTokens(t ...int) Stop { return Stop{Tokens: append([]int(nil), t...)} }

// IsZero reports whether s has no stop condition.
func (s Stop) IsZero() bool { return s.Strings == nil && s.Tokens == nil }

// MarshalJSON writes the strings or the token ids as a JSON list.
func (s Stop) MarshalJSON() ([]byte, error) {
	if s.Tokens != nil {
		return json.Marshal(s.Tokens)
	}
	return json.Marshal(nonNil(s.Strings))
}

// UnmarshalJSON accepts a string, a list of strings or a list of ints.
func (s *Stop) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*s = Stop{Strings: []string{one}}
		return nil
	}
	var strs []string
	if err := json.Unmarshal(b, &strs); err == nil {
		if strs == nil {
			*s = Stop{}
			return nil
		}
		*s = Stop{Strings: strs}
		return nil
	}
	var toks []int
	if err := json.Unmarshal(b, &toks); err != nil {
		return ValidationError("sampling_params", "stop must be a string, a list of strings or a list of ints")
	}
	*s = Stop{Tokens: toks}
	return nil
}

// SamplingParams control generation. Build them with NewSamplingParams and
// options (WithMaxTokens, WithSamplingSeed, WithTemperature, …), which
// start from the defaults; the zero value has temperature 0, top_k 0 and
// top_p 0, which Validate rejects (top_p must be in (0, 1]).
//
// JSON: {"max_tokens"?, "seed"?, "stop"?, "temperature", "top_k", "top_p"};
// nil pointers and an empty Stop are omitted, the rest is always sent.
// temperature and top_p are written as the Python SDK writes floats ("1.0",
// "0.7", "1e-05"), so the body matches its byte for byte.
type SamplingParams struct {
	MaxTokens   *int    `json:"max_tokens,omitempty"`
	Seed        *int64  `json:"seed,omitempty"`
	Stop        Stop    `json:"-"`
	Temperature float64 `json:"temperature"`
	TopK        int     `json:"top_k"` // -1 = no limit
	TopP        float64 `json:"top_p"`
}

// DefaultSamplingParams returns temperature 1, top_k -1 (no limit), top_p 1,
// no max_tokens, seed or stop condition.
func DefaultSamplingParams() SamplingParams {
	return SamplingParams{Temperature: 1, TopK: -1, TopP: 1}
}

type samplingParamsWire struct {
	MaxTokens   *int    `json:"max_tokens,omitempty"`
	Seed        *int64  `json:"seed,omitempty"`
	Stop        *Stop   `json:"stop,omitempty"`
	Temperature pyFloat `json:"temperature"`
	TopK        int     `json:"top_k"`
	TopP        pyFloat `json:"top_p"`
}

// MarshalJSON writes the wire form, omitting unset optional fields.
func (p SamplingParams) MarshalJSON() ([]byte, error) {
	w := samplingParamsWire{MaxTokens: p.MaxTokens, Seed: p.Seed, Temperature: pyFloat(p.Temperature), TopK: p.TopK, TopP: pyFloat(p.TopP)}
	if !p.Stop.IsZero() {
		w.Stop = &p.Stop
	}
	return json.Marshal(w)
}

// UnmarshalJSON reads the wire form; absent fields take the defaults of
// DefaultSamplingParams.
func (p *SamplingParams) UnmarshalJSON(b []byte) error {
	d := DefaultSamplingParams()
	w := samplingParamsWire{Temperature: pyFloat(d.Temperature), TopK: d.TopK, TopP: pyFloat(d.TopP)}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*p = SamplingParams{MaxTokens: w.MaxTokens, Seed: w.Seed, Temperature: float64(w.Temperature), TopK: w.TopK, TopP: float64(w.TopP)}
	if w.Stop != nil {
		p.Stop = *w.Stop
	}
	return nil
}

// Validate returns a KindValidation error for a max_tokens below 1, a negative seed,
// a temperature that is negative or not finite, top_k below -1, top_p outside
// (0, 1], both stop strings and stop tokens, an empty or invalid UTF-8 stop
// string, or a negative stop token.
func (p SamplingParams) Validate() error {
	const op = "sampling_params"
	if p.MaxTokens != nil && *p.MaxTokens < 0 {
		return ValidationError(op, "max_tokens must not be negative, got %d", *p.MaxTokens)
	}
	if p.MaxTokens != nil && *p.MaxTokens == 0 {
		return ValidationError(op, "max_tokens must be at least 1 (leave it unset for the server's default)")
	}
	if p.Seed != nil && *p.Seed < 0 {
		return ValidationError(op, "seed must not be negative, got %d", *p.Seed)
	}
	if math.IsNaN(p.Temperature) || math.IsInf(p.Temperature, 0) || p.Temperature < 0 {
		return ValidationError(op, "temperature must be finite and >= 0, got %v", p.Temperature)
	}
	if p.TopK < -1 {
		return ValidationError(op, "top_k must be -1 (no limit) or >= 0, got %d", p.TopK)
	}
	if !(p.TopP > 0 && p.TopP <= 1) {
		return ValidationError(op, "top_p must be in (0, 1], got %v", p.TopP)
	}
	if p.Stop.Strings != nil && p.Stop.Tokens != nil {
		return ValidationError(op, "stop has both strings and tokens; use one")
	}
	for i, s := range p.Stop.Strings {
		if s == "" {
			return ValidationError(op, "stop string %d is empty", i)
		}
		if !utf8.ValidString(s) {
			return ValidationError(op, "stop string %d is not valid UTF-8", i)
		}
	}
	for i, t := range p.Stop.Tokens {
		if t < 0 || t > math.MaxInt32 {
			return ValidationError(op, "stop token %d = %d is not a valid token id", i, t)
		}
	}
	return nil
}

package types

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// assertAppendIsMarshal checks that AppendJSON writes json.Marshal's bytes
// (or fails as it does), with and without a prefix in b.
func assertAppendIsMarshal(t *testing.T, r SampleRequest) {
	t.Helper()
	want, wantErr := json.Marshal(r)
	got, err := r.AppendJSON(nil)
	if wantErr != nil {
		require.Error(t, err)
		return
	}
	require.NoError(t, err)
	require.Equal(t, string(want), string(got))
	prefixed, err := r.AppendJSON([]byte("xx"))
	require.NoError(t, err)
	require.Equal(t, "xx"+string(want), string(prefixed))
}

func TestSampleRequestAppendJSONIsJSONMarshal(t *testing.T) {
	maxTokens, seed, zero := 64, int64(-7), 0
	base := SampleRequest{SamplingSessionID: "s:sample:0", SeqID: 3, NumSamples: 2,
		Prompt: ModelInputFromInts([]int{1, 2, 3}), SamplingParams: DefaultSamplingParams()}
	cases := map[string]func(r *SampleRequest){
		"plain":              func(*SampleRequest) {},
		"every option":       func(r *SampleRequest) { r.SamplingParams.MaxTokens, r.SamplingParams.Seed = &maxTokens, &seed },
		"zero max_tokens":    func(r *SampleRequest) { r.SamplingParams.MaxTokens = &zero },
		"stop strings":       func(r *SampleRequest) { r.SamplingParams.Stop = StopStrings("</s>", "\n\n", "a\"b") },
		"stop tokens":        func(r *SampleRequest) { r.SamplingParams.Stop = StopTokens(2, 0) },
		"empty stop strings": func(r *SampleRequest) { r.SamplingParams.Stop = Stop{Strings: []string{}} },
		"logprobs":           func(r *SampleRequest) { r.PromptLogprobs, r.TopkPromptLogprobs = true, 5 },
		"base model, no id":  func(r *SampleRequest) { r.SamplingSessionID, r.BaseModel = "", "meta-llama/Llama-3.2-1B" },
		"model path":         func(r *SampleRequest) { r.ModelPath = "tinker://run/weights/0001?x=<1>&y" },
		"no chunks":          func(r *SampleRequest) { r.Prompt = ModelInput{} },
		"empty chunks":       func(r *SampleRequest) { r.Prompt = ModelInput{Chunks: []Chunk{}} },
		"nil tokens":         func(r *SampleRequest) { r.Prompt = ModelInput{Chunks: []Chunk{EncodedTextChunk{}}} },
		"pointer chunk": func(r *SampleRequest) {
			r.Prompt = ModelInput{Chunks: []Chunk{&EncodedTextChunk{Tokens: []int{9, -1}}}}
		},
		"nil pointer chunk": func(r *SampleRequest) { r.Prompt = ModelInput{Chunks: []Chunk{(*EncodedTextChunk)(nil)}} },
		"two chunks": func(r *SampleRequest) {
			r.Prompt = ModelInput{Chunks: []Chunk{EncodedTextChunk{Tokens: []int{1}}, EncodedTextChunk{Tokens: []int{2, 3}}}}
		},
		"image chunk": func(r *SampleRequest) {
			r.Prompt = ModelInput{Chunks: []Chunk{ImageChunk{Data: []byte{1, 2}, Format: "png", ExpectedTokens: &maxTokens}}}
		},
		"tiny temperature": func(r *SampleRequest) { r.SamplingParams.Temperature = 1e-7 },
		"huge temperature": func(r *SampleRequest) { r.SamplingParams.Temperature = 1e21 },
		"negative top_p":   func(r *SampleRequest) { r.SamplingParams.TopP = -0.000001 },
		"fraction":         func(r *SampleRequest) { r.SamplingParams.Temperature, r.SamplingParams.TopP = 0.7, 0.95 },
		"NaN temperature":  func(r *SampleRequest) { r.SamplingParams.Temperature = math.NaN() },
		"Inf top_p":        func(r *SampleRequest) { r.SamplingParams.TopP = math.Inf(1) },
		"escapes":          func(r *SampleRequest) { r.SamplingSessionID = "a\"b\\c\n\r\t\b\f\x00\x1f<>&\u2028\u2029é🙂" },
		"invalid UTF-8":    func(r *SampleRequest) { r.SamplingSessionID = "a\xffb\xc3" },
		"huge ints":        func(r *SampleRequest) { r.SeqID, r.NumSamples = math.MaxInt64, math.MinInt },
		"negative seed, top_k": func(r *SampleRequest) {
			s := int64(math.MinInt64)
			r.SamplingParams.Seed, r.SamplingParams.TopK = &s, -1
		},
	}
	for name, edit := range cases {
		t.Run(name, func(t *testing.T) {
			r := base
			r.Prompt = ModelInputFromInts([]int{1, 2, 3})
			edit(&r)
			assertAppendIsMarshal(t, r)
		})
	}
}

// Random requests, strings drawn from characters that need escaping.
func TestSampleRequestAppendJSONRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []string{"a", "Z", "0", " ", "\"", "\\", "\n", "\x01", "<", ">", "&", "é", "\u2028", "🙂", "\xff", "/"}
	str := func() string {
		var sb strings.Builder
		for range rng.IntN(12) {
			sb.WriteString(alphabet[rng.IntN(len(alphabet))])
		}
		return sb.String()
	}
	float := func() float64 {
		switch rng.IntN(4) {
		case 0:
			return rng.Float64()
		case 1:
			return math.Pow(10, float64(rng.IntN(60)-30)) * rng.NormFloat64()
		case 2:
			return float64(rng.IntN(5))
		}
		return math.Float64frombits(rng.Uint64())
	}
	for range 5000 {
		r := SampleRequest{SamplingSessionID: str(), SeqID: rng.Int64() - rng.Int64(), NumSamples: rng.IntN(9) - 1,
			PromptLogprobs: rng.IntN(2) == 0, TopkPromptLogprobs: rng.IntN(4), BaseModel: str(), ModelPath: str(),
			SamplingParams: SamplingParams{Temperature: float(), TopK: rng.IntN(100) - 1, TopP: float()}}
		for range rng.IntN(3) {
			toks := make([]int, rng.IntN(6))
			for i := range toks {
				toks[i] = rng.IntN(200000) - 10
			}
			r.Prompt.Chunks = append(r.Prompt.Chunks, EncodedTextChunk{Tokens: toks})
		}
		if rng.IntN(3) == 0 {
			m := rng.IntN(1000)
			r.SamplingParams.MaxTokens = &m
		}
		if rng.IntN(3) == 0 {
			s := rng.Int64()
			r.SamplingParams.Seed = &s
		}
		if rng.IntN(4) == 0 {
			r.SamplingParams.Stop = StopStrings(str(), str())
		}
		assertAppendIsMarshal(t, r)
	}
}

func FuzzSampleRequestAppendJSON(f *testing.F) {
	f.Add("s:sample:0", "meta-llama/Llama-3.2-1B", int64(1), 1.0, 1.0, 7, "</s>")
	f.Add("a\"<\u2028\xff", "", int64(-1), 1e-7, 1e21, -1, "")
	f.Fuzz(func(t *testing.T, id, model string, seq int64, temp, topP float64, tok int, stop string) {
		r := SampleRequest{SamplingSessionID: id, BaseModel: model, SeqID: seq, NumSamples: 1,
			Prompt: ModelInputFromInts([]int{tok, tok + 1}), SamplingParams: SamplingParams{Temperature: temp, TopK: tok, TopP: topP}}
		if stop != "" {
			r.SamplingParams.Stop = StopStrings(stop)
		}
		want, wantErr := json.Marshal(r)
		got, err := r.AppendJSON(nil)
		if wantErr != nil {
			assert.Error(t, err)
			return
		}
		if err != nil || string(got) != string(want) {
			t.Fatalf("AppendJSON = %q, %v; json.Marshal = %q", got, err, want)
		}
	})
}

func BenchmarkSampleRequestJSON(b *testing.B) {
	r := SampleRequest{SamplingSessionID: "0f6a1c0e-9d7b-4a59-8d8e-000000000000:sample:0", SeqID: 12345, NumSamples: 1,
		Prompt: ModelInputFromInts([]int{128000, 791, 4062, 14198, 39935, 35308, 927, 279, 16053, 5679}), SamplingParams: DefaultSamplingParams()}
	b.Run("enc=json.Marshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := json.Marshal(r); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("enc=AppendJSON", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := r.AppendJSON(nil); err != nil {
				b.Fatal(err)
			}
		}
	})
}

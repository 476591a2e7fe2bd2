package types

import (
	"testing"
)

func benchRequest(datums, tokens int) ForwardBackwardRequest {
	data := make([]Datum, datums)
	for i := range data {
		toks := make([]int, tokens)
		targets := make([]int64, tokens)
		weights := make([]float32, tokens)
		for j := range toks {
			toks[j], targets[j], weights[j] = j, int64(j+1), 1
		}
		data[i] = Datum{ModelInput: ModelInputFromInts(toks), LossFnInputs: map[string]TensorData{
			"target_tokens": Int64Tensor(targets), "weights": Float32Tensor(weights)}}
	}
	return ForwardBackwardRequest{ModelID: "s:train:0", SeqID: 1, LossFn: LossCrossEntropy, Data: data}
}

// BenchmarkEncodeForwardBackwardRequest encodes 128 datums of 2048 tokens.
func BenchmarkEncodeForwardBackwardRequest(b *testing.B) {
	req := benchRequest(128, 2048)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := EncodeForwardBackwardRequest(req); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeForwardBackwardOutput decodes 128 datums of 2048 logprobs.
func BenchmarkDecodeForwardBackwardOutput(b *testing.B) {
	out := ForwardBackwardOutput{Metrics: map[string]float64{"loss:sum": 1}}
	for i := 0; i < 128; i++ {
		out.LossFnOutputs = append(out.LossFnOutputs, LossFnOutput{"logprobs": Float32Tensor(make([]float32, 2048), 2048)})
	}
	body, err := EncodeForwardBackwardOutput(out)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeForwardBackwardOutput(body); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkChunkData splits 4096 datums of 2048 tokens with the default limits.
func BenchmarkChunkData(b *testing.B) {
	data := benchRequest(4096, 2048).Data
	b.ReportAllocs()
	for b.Loop() {
		ChunkData(data, 1024, 5_000_000)
	}
}

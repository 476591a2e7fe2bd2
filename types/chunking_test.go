package types

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEstimateDatumBytes(t *testing.T) {
	d := Datum{
		ModelInput: ModelInput{Chunks: []Chunk{
			EncodedTextChunk{Tokens: make([]int, 10)},        // 40
			ImageChunk{Data: make([]byte, 7), Format: "png"}, // 7
			&ImageAssetPointerChunk{Location: "abc"},         // 3
			DmelChunk{Dmel: make([]byte, 5)},                 // 5
		}},
		LossFnInputs: map[string]TensorData{
			"target_tokens": Int64Tensor(make([]int64, 3)),                                      // 24
			"weights":       Float32Tensor(make([]float32, 3)),                                  // 12
			"sparse":        SparseFloat32Tensor([]float32{1}, []int64{0, 1}, []int64{0}, 1, 4), // 4 + 8*3
		},
	}
	assert.Equal(t, 40+7+3+5+24+12+4+24, EstimateDatumBytes(d))
	assert.Equal(t, 0, EstimateDatumBytes(Datum{}))
}

func textDatum(tokens int) Datum { return Datum{ModelInput: ModelInputFromInts(make([]int, tokens))} }

func TestChunkData(t *testing.T) {
	sizes := func(chunks [][]Datum) []int {
		var out []int
		for _, c := range chunks {
			out = append(out, len(c))
		}
		return out
	}
	many := func(n, tokens int) []Datum {
		out := make([]Datum, n)
		for i := range out {
			out[i] = textDatum(tokens)
		}
		return out
	}
	cases := []struct {
		name             string
		data             []Datum
		maxLen, maxBytes int
		want             []int
	}{
		{"empty", nil, 1024, 5_000_000, nil},
		{"one", many(1, 1), 1024, 5_000_000, []int{1}},
		{"count boundary exact", many(4, 1), 2, 1000, []int{2, 2}},
		{"count boundary plus one", many(5, 1), 2, 1000, []int{2, 2, 1}},
		{"bytes exactly at limit stays", many(3, 25), 10, 200, []int{2, 1}},       // 100 bytes each: 200 fits, 300 does not
		{"bytes one over starts new chunk", many(3, 25), 10, 199, []int{1, 1, 1}}, // 200 > 199
		{"oversized datum alone", []Datum{textDatum(1), textDatum(1000), textDatum(1)}, 10, 100, []int{1, 1, 1}},
		{"default 1024", many(2049, 1), 1024, 5_000_000, []int{1024, 1024, 1}},
		{"no limits", many(5, 1), 0, 0, []int{5}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			chunks := ChunkData(tc.data, tc.maxLen, tc.maxBytes)
			assert.Equal(t, tc.want, sizes(chunks))
			var flat []Datum
			for _, c := range chunks {
				flat = append(flat, c...)
			}
			assert.Equal(t, len(tc.data), len(flat))
		})
	}
	data := many(4, 1)
	chunks := ChunkData(data, 2, 0)
	require.Len(t, chunks, 2)
	grown := append(chunks[0], textDatum(9)) // must not clobber chunks[1][0]
	require.Len(t, grown, 3)
	assert.Len(t, chunks[1][0].ModelInput.Chunks[0].(EncodedTextChunk).Tokens, 1)
}

func TestCombineForwardBackwardOutputs(t *testing.T) {
	out := func(n int, metrics map[string]float64) ForwardBackwardOutput {
		o := ForwardBackwardOutput{LossFnOutputType: "ArrayRecord", Metrics: metrics}
		for i := 0; i < n; i++ {
			o.LossFnOutputs = append(o.LossFnOutputs, LossFnOutput{"logprobs": Float32Tensor([]float32{float32(n*10 + i)})})
		}
		return o
	}
	outs := []ForwardBackwardOutput{
		out(1, map[string]float64{"loss:mean": 1, "loss:sum": 1, "t:min": 5, "t:max": 5, "u:slack": 1, "id:unique": 10, "h:hash_unordered": 3, "x:median": 1, "nocolon": 1, "only_first:sum": 1, "a:b:sum": 2}),
		out(3, map[string]float64{"loss:mean": 3, "loss:sum": 2, "t:min": 2, "t:max": 9, "u:slack": 3, "id:unique": 11, "h:hash_unordered": -1, "x:median": 1, "nocolon": 1, "a:b:sum": 3}),
		out(2, map[string]float64{"loss:mean": 5, "loss:sum": 3, "t:min": 7, "t:max": 1, "u:slack": 5, "id:unique": 12, "h:hash_unordered": 4611686018427387904, "x:median": 1, "nocolon": 1, "a:b:sum": 4, "only_last:sum": 9}),
	}
	got, err := CombineForwardBackwardOutputs(outs, nil)
	require.NoError(t, err)
	// weighted mean: (1*1 + 3*3 + 5*2) / 6 = 20/6
	assert.InDelta(t, 20.0/6, got.Metrics["loss:mean"], 1e-12)
	assert.Equal(t, 6.0, got.Metrics["loss:sum"])
	assert.Equal(t, 2.0, got.Metrics["t:min"])
	assert.Equal(t, 9.0, got.Metrics["t:max"])
	assert.InDelta(t, 5-(1*1+3*3+5*2)/6.0, got.Metrics["u:slack"], 1e-12)
	assert.Equal(t, 10.0, got.Metrics["id:unique"])
	assert.Equal(t, 11.0, got.Metrics["id:unique_1"])
	assert.Equal(t, 12.0, got.Metrics["id:unique_2"])
	// python3 -c 'print(hash(tuple(sorted([3,-1,2**62]))))'
	assert.Equal(t, float64(3771061641624074085), got.Metrics["h:hash_unordered"])
	assert.Equal(t, 9.0, got.Metrics["a:b:sum"])
	for _, dropped := range []string{"x:median", "nocolon", "only_first:sum", "only_last:sum"} {
		assert.NotContains(t, got.Metrics, dropped)
	}
	assert.Len(t, got.Metrics, 10)
	require.Len(t, got.LossFnOutputs, 6)
	var order []float32
	for _, o := range got.LossFnOutputs {
		order = append(order, o["logprobs"].Float32s[0])
	}
	assert.Equal(t, []float32{10, 30, 31, 32, 20, 21}, order)
	assert.Equal(t, "ArrayRecord", got.LossFnOutputType)

	// Explicit chunk sizes override the output counts.
	got, err = CombineForwardBackwardOutputs(outs[:2], []int{3, 1})
	require.NoError(t, err)
	assert.InDelta(t, (1*3+3*1)/4.0, got.Metrics["loss:mean"], 1e-12)

	// hash_unordered is order-insensitive.
	rev := []ForwardBackwardOutput{outs[2], outs[0], outs[1]}
	got2, err := CombineForwardBackwardOutputs(rev, nil)
	require.NoError(t, err)
	assert.Equal(t, float64(3771061641624074085), got2.Metrics["h:hash_unordered"])

	got, err = CombineForwardBackwardOutputs(nil, nil)
	require.NoError(t, err)
	assert.Empty(t, got.LossFnOutputs)
	assert.Empty(t, got.Metrics)

	_, err = CombineForwardBackwardOutputs(outs, []int{1})
	assert.ErrorIs(t, err, ErrValidation)
	_, err = CombineForwardBackwardOutputs(outs[:1], []int{-1})
	assert.ErrorIs(t, err, ErrValidation)
}

func TestCombineEdgeCases(t *testing.T) {
	zero := []ForwardBackwardOutput{{Metrics: map[string]float64{"a:mean": 1, "s:slack": 2}}, {Metrics: map[string]float64{"a:mean": 3, "s:slack": 4}}}
	got, err := CombineForwardBackwardOutputs(zero, nil)
	require.NoError(t, err)
	assert.Equal(t, 2.0, got.Metrics["a:mean"], "all-zero weights fall back to the plain mean")
	assert.Equal(t, 1.0, got.Metrics["s:slack"])

	single := []ForwardBackwardOutput{{Metrics: map[string]float64{"id:unique": 4, "x:weird": 1}}}
	got, err = CombineForwardBackwardOutputs(single, nil)
	require.NoError(t, err)
	assert.Equal(t, map[string]float64{"id:unique": 4}, got.Metrics)

	nan := []ForwardBackwardOutput{{Metrics: map[string]float64{"h:hash_unordered": math.NaN()}}}
	got, err = CombineForwardBackwardOutputs(nan, nil)
	require.NoError(t, err)
	assert.NotContains(t, got.Metrics, "h:hash_unordered")
}

func TestPythonHashParity(t *testing.T) {
	// Values printed by CPython 3.11 (64-bit):
	//   hash(()), hash((1, 2)), hash((-1,)),
	//   hash(tuple(sorted(int(x) for x in [1e19, -2.7, 5.9])))
	cases := []struct {
		in   []float64
		want int64
	}{
		{nil, 5740354900026072187},
		{[]float64{2, 1}, -3550055125485641917},
		{[]float64{-1}, 8078679518589016365},
		{[]float64{1e19, -2.7, 5.9}, 5447080376559706384},
	}
	for _, tc := range cases {
		got, ok := hashUnordered(tc.in)
		require.True(t, ok)
		assert.Equal(t, tc.want, got, "%v", tc.in)
	}
}

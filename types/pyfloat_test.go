package types

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The expected strings are Python 3's json.dumps(f) (float.__repr__).
func TestAppendPythonFloat(t *testing.T) {
	for _, c := range []struct {
		f    float64
		want string
	}{
		{1, "1.0"}, {0.7, "0.7"}, {0, "0.0"}, {math.Copysign(0, -1), "-0.0"}, {100, "100.0"}, {2.5, "2.5"},
		{1e-4, "0.0001"}, {1e-5, "1e-05"}, {1.5e-7, "1.5e-07"}, {0.30000000000000004, "0.30000000000000004"},
		{123456789012345.6, "123456789012345.6"}, {1e15, "1000000000000000.0"},
		{9999999999999998, "9999999999999998.0"}, {1e16, "1e+16"}, {1.5e16, "1.5e+16"},
		{math.MaxFloat64, "1.7976931348623157e+308"}, {5e-324, "5e-324"}, {0.95, "0.95"},
		{1e-12, "1e-12"}, {0.00012345, "0.00012345"}, {12345678.9, "12345678.9"}, {1e21, "1e+21"},
		{-2.5, "-2.5"}, {-1e-5, "-1e-05"},
	} {
		assert.Equal(t, c.want, string(appendPythonFloat(nil, c.f)), "%v", c.f)
	}
}

// For any finite float the form reads back as the same float, and has a
// point or an exponent (so Python reads a float, never an int).
func TestAppendPythonFloatRoundTrips(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 100000 {
		f := math.Float64frombits(r.Uint64())
		if !finite(f) {
			continue
		}
		s := string(appendPythonFloat([]byte("x"), f))[1:]
		got, err := strconv.ParseFloat(s, 64)
		require.NoError(t, err, s)
		require.Equal(t, f, got, s)
		require.True(t, strings.ContainsAny(s, ".e"), s)
	}
}

// The sampling parameters' floats are written as the SDK writes them, by
// json.Marshal and by AppendJSON alike; NaN is refused as encoding/json
// refuses it.
func TestSamplingParamsFloatsAsTheSDK(t *testing.T) {
	b, err := json.Marshal(DefaultSamplingParams())
	require.NoError(t, err)
	assert.Equal(t, `{"temperature":1.0,"top_k":-1,"top_p":1.0}`, string(b))
	req := SampleRequest{SeqID: 1, NumSamples: 1, Prompt: ModelInputFromInts([]int{1}), SamplingParams: DefaultSamplingParams()}
	req.SamplingParams.Temperature = 1e-5
	got, err := req.AppendJSON(nil)
	require.NoError(t, err)
	assert.Contains(t, string(got), `"temperature":1e-05,"top_k":-1,"top_p":1.0}`)
	var back SamplingParams
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, DefaultSamplingParams(), back)
	req.SamplingParams.TopP = math.NaN()
	_, err = json.Marshal(req)
	var uv *json.UnsupportedValueError
	assert.ErrorAs(t, err, &uv)
}

// optim_step's adam_params go out as the SDK's json.dumps writes them: a
// 0 as 0.0, a learning rate of 1e-5 as 1e-05.
func TestAdamParamsFloatsAsTheSDK(t *testing.T) {
	b, err := json.Marshal(DefaultAdamParams())
	require.NoError(t, err)
	assert.Equal(t, `{"learning_rate":0.0001,"beta1":0.9,"beta2":0.95,"eps":1e-12,"weight_decay":0.0,"grad_clip_norm":0.0}`, string(b))
	var back AdamParams
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, DefaultAdamParams(), back)
	p := DefaultAdamParams()
	p.LearningRate, p.GradClipNorm = 1e-5, 1
	b, err = json.Marshal(p)
	require.NoError(t, err)
	assert.Contains(t, string(b), `"learning_rate":1e-05,`)
	assert.Contains(t, string(b), `"grad_clip_norm":1.0}`)
	p.Eps = math.Inf(1)
	_, err = json.Marshal(p)
	var uv *json.UnsupportedValueError
	assert.ErrorAs(t, err, &uv)
}

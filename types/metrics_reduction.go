package types

import (
	"math"
	"math/big"
	"math/bits"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Metric reductions: the part of a metric key after its last ':' says how
// chunk values combine (see CombineForwardBackwardOutputs).
const (
	ReduceMean          = "mean"
	ReduceSum           = "sum"
	ReduceMin           = "min"
	ReduceMax           = "max"
	ReduceSlack         = "slack"
	ReduceHashUnordered = "hash_unordered"
	ReduceUnique        = "unique"
)

// CombineForwardBackwardOutputs merges the results of the chunks of one
// forward_backward call (lib/chunked_fwdbwd_helpers.py in the SDK):
//
//   - LossFnOutputs are concatenated in chunk order; LossFnOutputType is the
//     first chunk's.
//   - Metrics are combined per key of the first chunk's metrics. A key with no
//     ':' or an unknown reduction is dropped, as is a key missing from any chunk.
//   - "mean" is the mean weighted by each chunk's datum count (chunkSizes[i];
//     when chunkSizes is nil, len(outputs[i].LossFnOutputs)); if every weight
//     is 0 the plain mean is used. "slack" is the max minus that weighted mean.
//     "sum", "min" and "max" are what they say.
//   - "hash_unordered": each chunk reports a hash (an integer in a float); the
//     combined value must not depend on chunk order. As in the SDK, the values
//     are truncated to integers, sorted, and combined with CPython's tuple
//     hash (hash(tuple(sorted(int(v) ...))) on 64-bit CPython ≥ 3.8), so a Go
//     and a Python client produce the same number — up to float64 rounding,
//     since Metrics holds float64 and the hash uses 64 bits. A non-finite
//     value drops the key (Python would raise).
//   - "unique" cannot fold: the first chunk's value stays under the key and the
//     others go under key_1, key_2, … (key_1 is the second chunk's value). This
//     is the SDK's actual behaviour (f"{key}_{i + 1}" over values[1:], pinned
//     by its tests); reference §2.3 and the Elixir port say key_2, key_3.
//
// No outputs gives an empty result with no error. chunkSizes of the wrong
// length, or a negative size, is a KindValidation error.
func CombineForwardBackwardOutputs(outputs []ForwardBackwardOutput, chunkSizes []int) (ForwardBackwardOutput, error) {
	const op = "forward_backward"
	res := ForwardBackwardOutput{LossFnOutputs: []LossFnOutput{}, Metrics: map[string]float64{}}
	if len(outputs) == 0 {
		return res, nil
	}
	weights := make([]float64, len(outputs))
	switch {
	case chunkSizes == nil:
		for i, o := range outputs {
			weights[i] = float64(len(o.LossFnOutputs))
		}
	case len(chunkSizes) != len(outputs):
		return ForwardBackwardOutput{}, ValidationError(op, "%d chunk sizes for %d outputs", len(chunkSizes), len(outputs))
	default:
		for i, n := range chunkSizes {
			if n < 0 {
				return ForwardBackwardOutput{}, ValidationError(op, "chunk size %d is negative", n)
			}
			weights[i] = float64(n)
		}
	}
	res.LossFnOutputType = outputs[0].LossFnOutputType
	for _, o := range outputs {
		res.LossFnOutputs = append(res.LossFnOutputs, o.LossFnOutputs...)
	}
	keys := make([]string, 0, len(outputs[0].Metrics))
	for k := range outputs[0].Metrics {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	values := make([]float64, len(outputs))
keys:
	for _, key := range keys {
		i := strings.LastIndexByte(key, ':')
		if i < 0 {
			continue
		}
		for j, o := range outputs {
			v, ok := o.Metrics[key]
			if !ok {
				continue keys
			}
			values[j] = v
		}
		switch key[i+1:] {
		case ReduceMean:
			res.Metrics[key] = weightedMean(values, weights)
		case ReduceSlack:
			res.Metrics[key] = slices.Max(values) - weightedMean(values, weights)
		case ReduceSum:
			s := 0.0
			for _, v := range values {
				s += v
			}
			res.Metrics[key] = s
		case ReduceMin:
			res.Metrics[key] = slices.Min(values)
		case ReduceMax:
			res.Metrics[key] = slices.Max(values)
		case ReduceHashUnordered:
			if h, ok := hashUnordered(values); ok {
				res.Metrics[key] = float64(h)
			}
		case ReduceUnique:
			res.Metrics[key] = values[0]
			for j, v := range values[1:] {
				res.Metrics[key+"_"+strconv.Itoa(j+1)] = v
			}
		}
	}
	return res, nil
}

func weightedMean(xs, ws []float64) float64 {
	var sum, total float64
	for i, x := range xs {
		sum += x * ws[i]
		total += ws[i]
	}
	if total == 0 {
		sum = 0
		for _, x := range xs {
			sum += x
		}
		return sum / float64(len(xs))
	}
	return sum / total
}

// hashUnordered is CPython's hash(tuple(sorted(int(x) for x in xs))).
func hashUnordered(xs []float64) (int64, bool) {
	ints := make([]*big.Int, len(xs))
	for i, x := range xs {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return 0, false
		}
		ints[i], _ = big.NewFloat(math.Trunc(x)).Int(nil)
	}
	slices.SortFunc(ints, func(a, b *big.Int) int { return a.Cmp(b) })
	lanes := make([]int64, len(ints))
	for i, v := range ints {
		lanes[i] = pyIntHash(v)
	}
	return pyTupleHash(lanes), true
}

// pyHashModulus is CPython's _PyHASH_MODULUS on 64-bit builds (2^61 - 1).
var pyHashModulus = big.NewInt(1<<61 - 1)

// pyIntHash is CPython's hash(int): |v| mod (2^61-1) with v's sign, and -1
// mapped to -2.
func pyIntHash(v *big.Int) int64 {
	m := new(big.Int).Mod(new(big.Int).Abs(v), pyHashModulus).Int64()
	if v.Sign() < 0 {
		m = -m
	}
	if m == -1 {
		m = -2
	}
	return m
}

// pyTupleHash is CPython's (≥ 3.8, 64-bit) xxHash-based tuplehash.
func pyTupleHash(lanes []int64) int64 {
	const (
		prime1 uint64 = 11400714785074694791
		prime2 uint64 = 14029467366897019727
		prime5 uint64 = 2870177450012600261
	)
	acc := prime5
	for _, lane := range lanes {
		acc += uint64(lane) * prime2
		acc = bits.RotateLeft64(acc, 31)
		acc *= prime1
	}
	acc += uint64(len(lanes)) ^ (prime5 ^ 3527539)
	if acc == math.MaxUint64 {
		return 1546275796
	}
	return int64(acc)
}

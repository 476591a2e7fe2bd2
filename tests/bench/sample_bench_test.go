package bench

import (
	"strconv"
	"testing"
	"time"
)

// sampleConcurrency are the conc=N levels of BenchmarkSample.
var sampleConcurrency = []int{1, 16, 128, 1024}

// BenchmarkSample runs the same sample (same JSON body, same protobuf
// result) through tinkex's full stack (SamplingClient → limiter →
// httpclient → polling), through rawClient (stack=rawhttp: the three
// headers a server needs) and through rawClient sending every header
// tinkex sends (stack=rawsdk, see sdkwire_test.go), against one loopback fake
// with zero service time, so every future is done at its first poll. Every
// run gets a fresh fake, runtime and client, so no run inherits another's
// server state.
// conc=N runs b.N samples on N goroutines; ns/op is wall time per sample
// (lower is better) and raw ns/op ÷ tinkex ns/op is tinkex's throughput
// relative to raw; cpu-ns/op is the process CPU time per sample; p50-ns and
// p99-ns are the median and 99th percentile wall time of one sample. The stacks alternate at each level.
// With TINKEX_BENCH_URL set (a cmd/tinkerfake started with -sample-time 0),
// both stacks run against that out-of-process fake instead, so cpu-ns/op
// counts the client alone.
func BenchmarkSample(b *testing.B) {
	stacks := []struct {
		name string
		new  func(b *testing.B) sampleFunc
	}{
		{"tinkex", func(b *testing.B) sampleFunc {
			url := sampleServerURL(b)
			return tinkexSample(newSampler(b, newServiceAt(b, newRuntime(b), url, keyA)))
		}},
		{"rawhttp", func(b *testing.B) sampleFunc {
			raw, _, smp := newRawAt(b, sampleServerURL(b), keyA)
			return rawSample(raw, smp)
		}},
		{"rawsdk", func(b *testing.B) sampleFunc {
			raw, _, smp := newRawSDKAt(b, sampleServerURL(b), keyA)
			return rawSample(raw, smp)
		}},
	}
	for _, conc := range sampleConcurrency {
		for _, s := range stacks {
			b.Run("stack="+s.name+"/conc="+strconv.Itoa(conc), func(b *testing.B) {
				f := s.new(b)
				ctx := benchContext(b)
				// Warm the connection pools to this concurrency first.
				if err := runConcurrent(ctx, conc, conc, f, nil); err != nil {
					b.Fatal(err)
				}
				lat := make([]time.Duration, b.N)
				b.ReportAllocs()
				b.ResetTimer()
				cpu := startCPU()
				if err := runConcurrent(ctx, conc, b.N, f, lat); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				cpu.report(b)
				reportLatency(b, lat)
			})
		}
	}
}

package bench

import (
	"strconv"
	"testing"
)

// sampleConcurrency are the conc=N levels of BenchmarkSample.
var sampleConcurrency = []int{1, 16, 128, 1024}

// BenchmarkSample runs the same sample (same JSON body, same protobuf
// result) through tinkex's full stack (SamplingClient → limiter →
// httpclient → polling) and through rawClient, against one loopback fake
// with zero service time, so every future is done at its first poll. Every
// run gets a fresh fake, runtime and client, so no run inherits another's
// server state.
// conc=N runs b.N samples on N goroutines; ns/op is wall time per sample
// (lower is better) and raw ns/op ÷ tinkex ns/op is tinkex's throughput
// relative to raw; cpu-ns/op is the process CPU time per sample. The two stacks alternate at each level.
func BenchmarkSample(b *testing.B) {
	stacks := []struct {
		name string
		new  func(b *testing.B) sampleFunc
	}{
		{"tinkex", func(b *testing.B) sampleFunc {
			srv := newServer(b)
			return tinkexSample(newSampler(b, newService(b, newRuntime(b), srv, keyA)))
		}},
		{"rawhttp", func(b *testing.B) sampleFunc {
			raw, _, smp := newRaw(b, newServer(b), keyA)
			return rawSample(raw, smp)
		}},
	}
	for _, conc := range sampleConcurrency {
		for _, s := range stacks {
			b.Run("stack="+s.name+"/conc="+strconv.Itoa(conc), func(b *testing.B) {
				f := s.new(b)
				ctx := benchContext(b)
				// Warm the connection pools to this concurrency first.
				if err := runConcurrent(ctx, conc, conc, f); err != nil {
					b.Fatal(err)
				}
				b.ReportAllocs()
				b.ResetTimer()
				cpu := startCPU()
				if err := runConcurrent(ctx, conc, b.N, f); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				cpu.report(b)
			})
		}
	}
}

package bench

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/tinkex-go/tinkex"
	"github.com/tinkex-go/tinkex/tinkertest"
	"github.com/tinkex-go/tinkex/types"
)

// isolationHeldCallers is how many of client A's samples wait in its 429
// backoff while client B is measured.
const isolationHeldCallers = 256

// BenchmarkIsolation measures client B's sampling latency (one sample at a
// time; ns/op is the mean, p50-ns and p99-ns the percentiles) in two
// settings: b=alone, and b=with-a-in-backoff, where client A — another API
// key, so another config, on the same runtime, server and connection pools
// — has isolationHeldCallers samples waiting out a 429 backoff (every asample
// of A answers 429 with Retry-After: 60). The target is
// with-a-in-backoff ÷ alone ≤ 1.1.
func BenchmarkIsolation(b *testing.B) {
	for _, mode := range []string{"alone", "with-a-in-backoff"} {
		b.Run("b="+mode, func(b *testing.B) {
			srv := newServer(b)
			rt := newRuntime(b)
			svcA := newService(b, rt, srv, keyA)
			scA := newSampler(b, svcA)
			scB := newSampler(b, newService(b, rt, srv, keyB))
			ctx := benchContext(b)
			if _, err := scB.Sample(ctx, samplePrompt, 1, sampleParams); err != nil {
				b.Fatal(err)
			}
			if mode != "alone" {
				stop := holdInBackoff(b, srv, svcA, scA)
				defer stop()
			}
			durations := make([]time.Duration, 0, b.N)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				start := time.Now()
				if _, err := scB.Sample(ctx, samplePrompt, 1, sampleParams); err != nil {
					b.Fatal(err)
				}
				durations = append(durations, time.Since(start))
			}
			b.StopTimer()
			reportPercentiles(b, durations)
			if mode != "alone" && svcA.LimiterStats().BackoffRemaining <= 0 {
				b.Fatal("client A left its backoff while B was measured")
			}
		})
	}
}

// holdInBackoff makes every asample of keyA answer 429 (Retry-After: 60 s),
// starts isolationHeldCallers samples on scA and returns once A's limiter
// is in backoff with callers waiting. The returned stop cancels them and
// waits for them to return.
func holdInBackoff(b *testing.B, srv *tinkertest.Server, svcA *tinkex.ServiceClient, scA *tinkex.SamplingClient) (stop func()) {
	b.Helper()
	fault := srv.Inject(tinkertest.Fault{Key: keyA, Endpoint: tinkertest.EndpointAsample, Status: 429, RetryAfter: "60"})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range isolationHeldCallers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := scA.Sample(ctx, samplePrompt, 1, sampleParams); !errors.Is(err, types.ErrCanceled) {
				b.Errorf("client A's sample ended with %v, not canceled", err)
			}
		}()
	}
	stop = func() {
		cancel()
		wg.Wait()
		srv.RemoveFault(fault)
	}
	deadline := time.Now().Add(setupTimeout)
	for {
		st := svcA.LimiterStats()
		if st.BackoffRemaining > 0 && st.Waiters > 0 {
			return stop
		}
		if time.Now().After(deadline) {
			stop()
			b.Fatalf("client A never entered its 429 backoff: %+v", st)
		}
		time.Sleep(time.Millisecond) // bounded setup poll, outside the timed region
	}
}

// reportPercentiles reports the median and 99th percentile of d.
func reportPercentiles(b *testing.B, d []time.Duration) {
	if len(d) == 0 {
		return
	}
	slices.Sort(d)
	at := func(p float64) float64 { return float64(d[int(p*float64(len(d)-1))].Nanoseconds()) }
	b.ReportMetric(at(0.50), "p50-ns")
	b.ReportMetric(at(0.99), "p99-ns")
}

package bench

import (
	"testing"
	"time"

	"github.com/tinkex-go/tinkex/actors"
)

// BenchmarkRestart measures, per iteration, the time from a crash of a
// SamplingClient's actor (an injected panic) to the restarted client
// answering again: until=probe stops the clock when the restarted actor
// answers a probe queued behind the crash; until=sample also waits for a
// sample sent after that answer. ns/op is the mean; p50-ns and p99-ns are
// percentiles. The service supervisor's restart intensity is raised so
// that b.N crashes never escalate.
func BenchmarkRestart(b *testing.B) {
	for _, until := range []string{"probe", "sample"} {
		b.Run("until="+until, func(b *testing.B) {
			srv := newServer(b)
			rt := newRuntime(b, actors.WithServiceIntensity(1<<30, time.Nanosecond))
			sc := newSampler(b, newService(b, rt, srv, keyA))
			root := rt.ActorSystem().Root
			ctx := benchContext(b)
			durations := make([]time.Duration, 0, b.N)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				start := time.Now()
				pid := sc.PID()
				root.Send(pid, &actors.Crash{Reason: "benchmark"})
				reply, err := root.RequestFuture(pid, &actors.Probe{}, 10*time.Second).Result()
				if err != nil {
					b.Fatal(err)
				}
				if r, ok := reply.(*actors.ProbeReply); !ok || r.ID != sc.SamplerID() {
					b.Fatalf("probe answered %#v", reply)
				}
				if until == "sample" {
					if _, err := sc.Sample(ctx, samplePrompt, 1, sampleParams); err != nil {
						b.Fatal(err)
					}
				}
				durations = append(durations, time.Since(start))
			}
			b.StopTimer()
			reportPercentiles(b, durations)
		})
	}
}

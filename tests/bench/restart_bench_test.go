package bench

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tinkex-go/tinkex"

	"github.com/tinkex-go/tinkex/internal/inspect"
	"github.com/tinkex-go/tinkex/supervisor"
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
			rt := newRuntime(b, tinkex.WithServiceIntensity(1<<30, time.Nanosecond))
			sc := newSampler(b, newService(b, rt, srv, keyA))
			root := inspect.ActorSystem(rt).Root
			before := samplingRestarts(b, rt)
			ctx := benchContext(b)
			durations := make([]time.Duration, 0, b.N)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				start := time.Now()
				pid := inspect.PID(sc)
				root.Send(pid, &inspect.Crash{Reason: "benchmark"})
				reply, err := root.RequestFuture(pid, &inspect.Probe{}, 10*time.Second).Result()
				if err != nil {
					b.Fatal(err)
				}
				if r, ok := reply.(*inspect.ProbeReply); !ok || r.ID != sc.SamplerID() {
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
			// Every crash was one restart. The supervisor counts a restart
			// when the child's Started ack reaches it, which may trail the
			// probe's answer by a moment.
			deadline := time.Now().Add(setupTimeout)
			for got := samplingRestarts(b, rt) - before; got != b.N; got = samplingRestarts(b, rt) - before {
				if time.Now().After(deadline) {
					b.Fatalf("the supervisor counted %d restarts of the sampling actor for %d crashes", got, b.N)
				}
				time.Sleep(time.Millisecond) // bounded poll, outside the timed region
			}
		})
	}
}

// samplingRestarts is the restart count of the (only) sampling actor in
// rt's supervision tree.
func samplingRestarts(b *testing.B, rt *tinkex.Runtime) int {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	tree, err := rt.Tree(ctx)
	if err != nil {
		b.Fatal(err)
	}
	var find func(n supervisor.Node) (supervisor.Node, bool)
	find = func(n supervisor.Node) (supervisor.Node, bool) {
		if strings.HasPrefix(n.ID, "sampling:") {
			return n, true
		}
		for _, c := range n.Children {
			if f, ok := find(c); ok {
				return f, true
			}
		}
		return supervisor.Node{}, false
	}
	n, ok := find(tree)
	if !ok {
		b.Fatalf("no sampling actor in the tree:\n%s", tree.String())
	}
	return n.Restarts
}

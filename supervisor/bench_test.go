package supervisor

import (
	"context"
	"runtime"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// benchWorker answers pings and panics on crash.
type benchWorker struct{}

func (benchWorker) Receive(ctx actor.Context) {
	switch ctx.Message().(type) {
	case ping:
		ctx.Respond(pong{})
	case crash:
		panic("crash")
	}
}

func newBenchWorker() actor.Actor { return benchWorker{} }

// BenchmarkRestartLatency measures, per iteration, the time from sending a
// child a message that makes it panic to the restarted child answering a
// request (queued behind the crash, so answered by the fresh instance).
// Reported: mean (ns/op), median and p99. The answer goes either to a
// protoactor Future made per request ("future": a registry entry and a timer
// each) or to one reply process reused by every request ("mailbox", as an
// Erlang call is answered in the caller's own mailbox; this is what the OTP
// benchmark in testdata/otp_bench does).
func BenchmarkRestartLatency(b *testing.B) {
	for _, strategy := range []Strategy{OneForOne, OneForAll, RestForOne} {
		for _, reply := range []string{"future", "mailbox"} {
			b.Run(strategy.String()+"/"+reply, func(b *testing.B) {
				benchRestart(b, strategy, reply == "mailbox")
			})
		}
	}
}

func benchRestart(b *testing.B, strategy Strategy, mailbox bool) {
	sys := newSystem(b)
	ctx := context.Background()
	// A tiny period keeps the restart window short; the intensity only
	// has to survive the restarts of one period.
	sup, err := Start(ctx, sys, "root", strategy, []Spec{{ID: "w", Start: newBenchWorker}},
		WithIntensity(1<<20, time.Nanosecond))
	if err != nil {
		b.Fatal(err)
	}
	infos, err := sup.WhichChildren(ctx)
	if err != nil {
		b.Fatal(err)
	}
	pid := infos[0].PID
	answers := make(chan any, 1)
	probe, ok := sys.ProcessRegistry.Add(&replyProcess{ch: answers}, "bench-reply")
	if !ok {
		b.Fatal("cannot register the reply process")
	}
	defer sys.ProcessRegistry.Remove(probe)
	durations := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		sys.Root.Send(pid, crash{})
		if mailbox {
			sys.Root.RequestWithCustomSender(pid, ping{}, probe)
			<-answers
		} else if _, err := sys.Root.RequestFuture(pid, ping{}, 10*time.Second).Result(); err != nil {
			b.Fatal(err)
		}
		durations = append(durations, time.Since(start))
	}
	b.StopTimer()
	reportPercentiles(b, durations)
	if err := sup.Stop(ctx); err != nil {
		b.Fatal(err)
	}
}

func reportPercentiles(b *testing.B, d []time.Duration) {
	slices.Sort(d)
	at := func(p float64) float64 { return float64(d[int(p*float64(len(d)-1))].Nanoseconds()) }
	b.ReportMetric(at(0.50), "p50-ns")
	b.ReportMetric(at(0.99), "p99-ns")
}

const spawnChildren = 100_000

// BenchmarkSpawnChildren starts 100,000 workers under one one_for_one
// supervisor, each with StartChild from outside the actor (a request and a
// reply per child, as a dynamic child would be added). Reported per child:
// ns, bytes allocated and bytes still live once all run.
func BenchmarkSpawnChildren(b *testing.B) {
	b.Run("start_child", func(b *testing.B) {
		benchSpawn(b, func(ctx context.Context, sys *actor.ActorSystem) *Supervisor {
			sup, err := Start(ctx, sys, "root", OneForOne, nil)
			if err != nil {
				b.Fatal(err)
			}
			for i := range spawnChildren {
				if _, err := sup.StartChild(ctx, Spec{ID: "w" + strconv.Itoa(i), Start: newBenchWorker}); err != nil {
					b.Fatal(err)
				}
			}
			return sup
		})
	})
	b.Run("static_specs", func(b *testing.B) {
		specs := make([]Spec, spawnChildren)
		for i := range specs {
			specs[i] = Spec{ID: "w" + strconv.Itoa(i), Start: newBenchWorker}
		}
		benchSpawn(b, func(ctx context.Context, sys *actor.ActorSystem) *Supervisor {
			sup, err := Start(ctx, sys, "root", OneForOne, specs)
			if err != nil {
				b.Fatal(err)
			}
			return sup
		})
	})
}

func benchSpawn(b *testing.B, spawn func(context.Context, *actor.ActorSystem) *Supervisor) {
	ctx := context.Background()
	var live, total uint64
	var elapsed time.Duration
	b.ReportAllocs()
	for range b.N {
		b.StopTimer()
		sys := newSystem(b)
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		b.StartTimer()
		start := time.Now()
		sup := spawn(ctx, sys)
		elapsed += time.Since(start)
		b.StopTimer()
		runtime.GC()
		runtime.ReadMemStats(&after)
		live += after.HeapAlloc - before.HeapAlloc
		total += after.TotalAlloc - before.TotalAlloc
		if err := sup.Stop(ctx); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	n := float64(b.N * spawnChildren)
	b.ReportMetric(float64(elapsed.Nanoseconds())/n, "ns/child")
	b.ReportMetric(float64(total)/n, "B-alloc/child")
	b.ReportMetric(float64(live)/n, "B-live/child")
}

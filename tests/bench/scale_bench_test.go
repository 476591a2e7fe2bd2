package bench

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tinkex-go/tinkex"
	"github.com/tinkex-go/tinkex/tinkertest"
	"github.com/tinkex-go/tinkex/types"
)

const (
	// scaleInFlight is how many samples BenchmarkScale keeps in flight.
	scaleInFlight = 10_000
	// scaleServiceTime is how long the fake holds each sample's future.
	scaleServiceTime = 50 * time.Millisecond
	// idleClients is how many clients BenchmarkIdleMemory creates per
	// measurement.
	idleClients = 100
)

// BenchmarkScale starts scaleInFlight samples at once, half on each of two
// configs (two API keys), against a fake that completes each sample 50 ms
// after it was submitted, and waits for all of them. One op is one such
// wave. Reported: peak-RSS-MB (the process's VmHWM during the waves, fake
// server included), peak-goroutines and peak-inflight (Sample calls
// started and not yet returned), sampled every 5 ms.
func BenchmarkScale(b *testing.B) {
	srv := newServer(b, tinkertest.WithServiceTime(tinkertest.EndpointAsample, scaleServiceTime))
	rt := newRuntime(b)
	samplers := []*tinkex.SamplingClient{
		newSampler(b, newService(b, rt, srv, keyA)),
		newSampler(b, newService(b, rt, srv, keyB)),
	}
	ctx := benchContext(b)
	resetPeakRSS()
	var inflight atomic.Int64
	peaks := watchPeaks(&inflight)
	b.ResetTimer()
	for range b.N {
		var wg sync.WaitGroup
		var failed atomic.Int64
		var firstErr atomic.Pointer[error]
		for i := range scaleInFlight {
			sc := samplers[i%len(samplers)]
			wg.Add(1)
			inflight.Add(1)
			go func() {
				defer wg.Done()
				defer inflight.Add(-1)
				res, err := sc.Sample(ctx, samplePrompt, 1, sampleParams)
				if err == nil && len(res.Sequences) != 1 {
					err = types.ValidationError("bench", "got %d sequences", len(res.Sequences))
				}
				if err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, &err)
				}
			}()
		}
		wg.Wait()
		if n := failed.Load(); n > 0 {
			b.Fatalf("%d of %d samples failed; first: %v", n, scaleInFlight, *firstErr.Load())
		}
	}
	b.StopTimer()
	p := peaks()
	b.ReportMetric(float64(peakRSS())/(1<<20), "peak-RSS-MB")
	b.ReportMetric(float64(p.goroutines), "peak-goroutines")
	b.ReportMetric(float64(p.inflight), "peak-inflight")
}

type peakValues struct{ goroutines, inflight int64 }

// watchPeaks samples the goroutine count and inflight every 5 ms on a
// goroutine that the returned function stops; it returns the peaks.
func watchPeaks(inflight *atomic.Int64) func() peakValues {
	var p peakValues
	done, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			p.goroutines = max(p.goroutines, int64(runtime.NumGoroutine()))
			p.inflight = max(p.inflight, inflight.Load())
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() peakValues {
		close(done)
		<-stopped
		return p
	}
}

// resetPeakRSS resets the kernel's VmHWM to the current RSS where Linux
// allows it (echo 5 > /proc/self/clear_refs), so peakRSS covers what ran
// since; elsewhere it does nothing and peakRSS is the process's peak.
func resetPeakRSS() { _ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// peakRSS is VmHWM from /proc/self/status in bytes (0 where unavailable).
func peakRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := sc.Bytes()
		if !bytes.HasPrefix(line, []byte("VmHWM:")) {
			continue
		}
		f := bytes.Fields(line[len("VmHWM:"):])
		if len(f) == 0 {
			return 0
		}
		kb, err := strconv.ParseInt(string(f[0]), 10, 64)
		if err != nil {
			return 0
		}
		return kb << 10
	}
	return 0
}

// heapAndGoroutines returns live heap bytes (after two GCs, so finalizers
// ran) and the goroutine count.
func heapAndGoroutines() (uint64, int) {
	m := memNow()
	return m.heap, m.goroutines
}

// mem is the process's live heap, goroutine stacks and goroutine count.
type mem struct {
	heap, stack uint64
	goroutines  int
}

func memNow() mem {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return mem{heap: ms.HeapAlloc, stack: ms.StackInuse, goroutines: runtime.NumGoroutine()}
}

// BenchmarkIdleMemory creates idleClients idle clients of one kind and
// reports the live heap and goroutines they add, per client: B/client
// (everything the process holds, the in-process fake's record of the
// session, model or sampler included), server-B/client (the fake's part,
// measured by making the same objects with rawClient), goroutines/client
// and stack-B/client (the goroutine stacks they add, which B/client does
// not count). One op is one measurement of idleClients clients.
func BenchmarkIdleMemory(b *testing.B) {
	for _, kind := range []string{"service", "training", "sampling"} {
		b.Run("client="+kind, func(b *testing.B) {
			// A one-entry request log keeps the fake's own heap flat
			// between the two measurements.
			srv := newServer(b, tinkertest.WithLogLimit(1))
			rt := newRuntime(b)
			ctx := benchContext(b)
			var gross, server, goroutines, stack float64
			for range b.N {
				m := measureIdle(b, ctx, rt, srv, kind)
				gross, goroutines, server, stack = gross+m.heap, goroutines+m.goroutines, server+m.server, stack+m.stack
			}
			n := float64(b.N)
			b.ReportMetric(gross/n, "B/client")
			b.ReportMetric(server/n, "server-B/client")
			b.ReportMetric(goroutines/n, "goroutines/client")
			b.ReportMetric(stack/n, "stack-B/client")
		})
	}
}

// idle is what one idle client adds, on average.
type idle struct {
	heap, stack, goroutines float64
	server                  float64 // heap bytes the fake spends on the same objects
}

// measureIdle creates idleClients clients of kind (on a fresh ServiceClient
// for training and sampling), measures them, closes them, and returns the
// heap bytes, stack bytes and goroutines per client, and the heap bytes per
// client the fake server spends on the same objects made with rawClient.
func measureIdle(b *testing.B, ctx context.Context, rt *tinkex.Runtime, srv *tinkertest.Server, kind string) idle {
	b.Helper()
	var svcs []*tinkex.ServiceClient
	defer func() {
		for _, s := range svcs {
			if err := s.Close(ctx); err != nil {
				b.Error(err)
			}
		}
	}()
	var parent *tinkex.ServiceClient
	if kind != "service" {
		parent = newService(b, rt, srv, keyA)
		svcs = append(svcs, parent)
	}
	// Keep the clients reachable until measured.
	var keep []any
	m0 := memNow()
	writeIdleHeapProfile(b, kind+"-before")
	for range idleClients {
		switch kind {
		case "service":
			s := newService(b, rt, srv, keyA)
			svcs = append(svcs, s)
		case "training":
			keep = append(keep, newTrainingClient(b, parent))
		case "sampling":
			keep = append(keep, newSampler(b, parent))
		}
	}
	m1 := memNow()
	writeIdleHeapProfile(b, kind)
	runtime.KeepAlive(keep)
	out := idle{
		heap:       (float64(m1.heap) - float64(m0.heap)) / idleClients,
		stack:      (float64(m1.stack) - float64(m0.stack)) / idleClients,
		goroutines: float64(m1.goroutines-m0.goroutines) / idleClients,
	}

	raw := newRawClient(srv.URL(), keyB)
	defer raw.close()
	sid, err := raw.session(ctx)
	if err != nil {
		b.Fatal(err)
	}
	heap0, _ := heapAndGoroutines()
	for i := range idleClients {
		switch kind {
		case "service":
			_, err = raw.session(ctx)
		case "training":
			_, err = raw.modelSeq(ctx, sid, baseModel, int64(i))
		case "sampling":
			_, err = raw.samplerSeq(ctx, sid, baseModel, int64(i))
		}
		if err != nil {
			b.Fatal(err)
		}
	}
	heap1, _ := heapAndGoroutines()
	out.server = (float64(heap1) - float64(heap0)) / idleClients
	return out
}

// writeIdleHeapProfile writes a heap profile while the idle clients are
// alive to $TINKEX_BENCH_IDLE_HEAPPROFILE-<kind>.pprof, and one before they
// were made to ...-<kind>-before.pprof, when that is set (the -memprofile of
// go test is written after they were closed). Run with -memprofilerate 1
// and compare with go tool pprof -base <before> <after>.
func writeIdleHeapProfile(b *testing.B, kind string) {
	prefix := os.Getenv("TINKEX_BENCH_IDLE_HEAPPROFILE")
	if prefix == "" {
		return
	}
	f, err := os.Create(prefix + "-" + kind + ".pprof")
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if err := pprof.WriteHeapProfile(f); err != nil {
		b.Fatal(err)
	}
}

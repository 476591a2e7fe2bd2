package bench

import (
	"context"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/tinkex-go/tinkex"

	"github.com/tinkex-go/tinkex/tinkertest"
	"github.com/tinkex-go/tinkex/types"
)

const (
	keyA      = "tml-bench-key-A-0123456789abcdef"
	keyB      = "tml-bench-key-B-0123456789abcdef"
	baseModel = "meta-llama/Llama-3.2-1B"
	// setupTimeout bounds every setup and teardown step of a benchmark.
	setupTimeout = 60 * time.Second
)

// benchServerOptions keep the fake's memory flat over long runs: a short
// request log and futures forgotten soon after they were retrieved.
func benchServerOptions(extra ...tinkertest.Option) []tinkertest.Option {
	return append([]tinkertest.Option{
		tinkertest.WithLogLimit(1000),
		tinkertest.WithFutureTTL(time.Minute, time.Second),
	}, extra...)
}

// newServer starts a fake server that is closed when b ends.
func newServer(b testing.TB, opts ...tinkertest.Option) *tinkertest.Server {
	b.Helper()
	srv := tinkertest.NewServer(benchServerOptions(opts...)...)
	b.Cleanup(srv.Close)
	return srv
}

// newRuntime starts a runtime that is stopped when b ends (before the
// server closes: cleanups run last-in first-out).
func newRuntime(b testing.TB, opts ...tinkex.RuntimeOption) *tinkex.Runtime {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	rt, err := tinkex.Start(ctx, opts...)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
		defer cancel()
		if err := rt.Stop(ctx); err != nil {
			b.Error(err)
		}
	})
	return rt
}

// newService creates a ServiceClient for key on srv, with the defaults a
// user gets (server telemetry on).
func newService(b testing.TB, rt *tinkex.Runtime, srv *tinkertest.Server, key string, opts ...tinkex.ServiceOption) *tinkex.ServiceClient {
	b.Helper()
	return newServiceAt(b, rt, srv.URL(), key, opts...)
}

// newServiceAt creates a ServiceClient for key on the server at baseURL.
func newServiceAt(b testing.TB, rt *tinkex.Runtime, baseURL, key string, opts ...tinkex.ServiceOption) *tinkex.ServiceClient {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	svc, err := rt.NewServiceClient(ctx, append([]tinkex.ServiceOption{tinkex.WithAPIKey(key), tinkex.WithBaseURL(baseURL)}, opts...)...)
	if err != nil {
		b.Fatal(err)
	}
	return svc
}

func newSampler(b testing.TB, svc *tinkex.ServiceClient) *tinkex.SamplingClient {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	sc, err := svc.CreateSamplingClient(ctx, tinkex.WithBaseModel(baseModel))
	if err != nil {
		b.Fatal(err)
	}
	return sc
}

// newRaw creates the raw client, its session and sampler on srv.
func newRaw(b testing.TB, srv *tinkertest.Server, key string) (*rawClient, string, string) {
	b.Helper()
	return newRawAt(b, srv.URL(), key)
}

// newRawAt creates the raw client, its session and sampler on the server
// at baseURL.
func newRawAt(b testing.TB, baseURL, key string) (*rawClient, string, string) {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	raw := newRawClient(baseURL, key)
	b.Cleanup(raw.close)
	sid, err := raw.session(ctx)
	if err != nil {
		b.Fatal(err)
	}
	smp, err := raw.samplerSeq(ctx, sid, baseModel, 0)
	if err != nil {
		b.Fatal(err)
	}
	return raw, sid, smp
}

// newRawSDKAt is newRawAt for the rawsdk stack: its samples send the SDK's
// wire traffic as tinkex does (see sdkWireHeaders).
func newRawSDKAt(b testing.TB, baseURL, key string) (*rawClient, string, string) {
	b.Helper()
	wire := sdkWireHeaders(b)
	raw, sid, smp := newRawAt(b, baseURL, key)
	raw.sdk = wire
	return raw, sid, smp
}

// The one sample request of the suite: 16 prompt tokens, 16 new tokens.
var (
	samplePrompt = types.ModelInputFromInts([]int{
		101, 2023, 2003, 1037, 7099, 3231, 2005, 1996, 6947, 14305, 1010, 2478, 2274, 19204, 2015, 102})
	sampleParams = func() types.SamplingParams {
		p := types.DefaultSamplingParams()
		n := 16
		p.MaxTokens = &n
		return p
	}()
)

// rawSampleRequest is the body SamplingClient.Sample sends for the
// suite's sample, for sampler smp and seq_id seq.
func rawSampleRequest(smp string, seq int64) types.SampleRequest {
	return types.SampleRequest{SamplingSessionID: smp, SeqID: seq, NumSamples: 1,
		Prompt: samplePrompt, SamplingParams: sampleParams}
}

// sampleFunc is one sample through one stack.
type sampleFunc func(ctx context.Context) (*types.SampleResponse, error)

func tinkexSample(sc *tinkex.SamplingClient) sampleFunc {
	return func(ctx context.Context) (*types.SampleResponse, error) {
		return sc.Sample(ctx, samplePrompt, 1, sampleParams)
	}
}

func rawSample(raw *rawClient, smp string) sampleFunc {
	var seq atomic.Int64
	return func(ctx context.Context) (*types.SampleResponse, error) {
		req := rawSampleRequest(smp, seq.Add(1)-1)
		r, err := raw.sample(ctx, &req)
		if err != nil {
			return nil, err
		}
		return &r, nil
	}
}

// externalURLEnv names the environment variable that points BenchmarkSample
// at a fake running in another process (cmd/tinkerfake), so cpu-ns/op is
// the client's CPU alone.
const externalURLEnv = "TINKEX_BENCH_URL"

// sampleServerURL is the base URL BenchmarkSample runs against: the
// external fake of TINKEX_BENCH_URL, or a new in-process fake.
func sampleServerURL(b testing.TB) string {
	if u := os.Getenv(externalURLEnv); u != "" {
		return u
	}
	return newServer(b).URL()
}

// runConcurrent runs total calls of f on conc goroutines that take work
// from a shared counter, and returns the first error. When lat is non-nil
// (len ≥ total), lat[i] is set to the wall time of the i-th call.
func runConcurrent(ctx context.Context, conc, total int, f sampleFunc, lat []time.Duration) error {
	var next atomic.Int64
	var first atomic.Pointer[error]
	var wg sync.WaitGroup
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := next.Add(1); i <= int64(total); i = next.Add(1) {
				var began time.Time
				if lat != nil {
					began = time.Now()
				}
				if _, err := f(ctx); err != nil {
					first.CompareAndSwap(nil, &err)
					return
				}
				if lat != nil {
					lat[i-1] = time.Since(began)
				}
			}
		}()
	}
	wg.Wait()
	if p := first.Load(); p != nil {
		return *p
	}
	return nil
}

// cpuTime is the CPU time (user + system) the process has used so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// cpuMeter reports the process CPU time per op between start and stop as
// cpu-ns/op. Unlike ns/op it does not grow when other processes take the
// machine's cores, so on a shared machine it is the steadier measure of
// what a sample costs (the in-process fake's share included).
type cpuMeter struct{ start time.Duration }

func startCPU() cpuMeter { return cpuMeter{start: cpuTime()} }

func (m cpuMeter) report(b *testing.B) {
	b.ReportMetric(float64(cpuTime()-m.start)/float64(b.N), "cpu-ns/op")
}

// reportLatency reports the median and the 99th percentile of lat as
// p50-ns and p99-ns.
func reportLatency(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2]), "p50-ns")
	b.ReportMetric(float64(lat[len(lat)*99/100]), "p99-ns")
}

func benchContext(b testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	b.Cleanup(cancel)
	return ctx
}

// Command worker is one member of the multi-process cluster tests
// (tests/cluster): a tinkex runtime started with WithCluster and the
// automanaged provider, sampling from a shared cmd/tinkerfake with two
// configs, A and B. It reads commands from stdin, one a line, and answers
// each with one JSON line on stdout:
//
//	status           → {"type":"status", "address", "members", "configs": {"A": {...}, "B": {...}}}
//	load A 20        → starts 20 samplers looping on config A; {"type":"started"}
//	stop A           → stops them after their current sample; {"type":"load", "ok", "errors", "first_error"}
//	sample B         → one sample on B; {"type":"sample", "ok", "error", "a_backoff_ms"} (A's backoff when B finished)
//	cut / heal       → closes / reopens this member's listeners as the others see them; {"type":"ok"}
//	quit             → stops the runtime and exits 0
//
// Others reach this member only through two loopback proxies (its remote
// and its health endpoint), so "cut" isolates it the way a closed listener
// or a partition would, without touching tinkex's internals.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tinkex-go/tinkex"

	"github.com/tinkex-go/tinkex/cluster"
	"github.com/tinkex-go/tinkex/internal/inspect"
	"github.com/tinkex-go/tinkex/limiter"
	"github.com/tinkex-go/tinkex/registry"
)

func main() {
	if err := run(os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "worker:", err)
		os.Exit(2)
	}
}

type worker struct {
	rt      *tinkex.Runtime
	clients map[string]*tinkex.SamplingClient
	lims    map[string]*limiter.Limiter
	fps     map[string]string
	proxies []*proxy

	mu    sync.Mutex
	loads map[string]*load
}

type load struct {
	stop     chan struct{}
	wg       sync.WaitGroup
	ok, errs atomic.Int64
	firstErr atomic.Pointer[string]
}

func run(stdin io.Reader, stdout io.Writer) error {
	name := flag.String("name", "tinkex-cluster-test", "cluster name")
	bind := flag.String("bind", "127.0.0.1:0", "real remote address")
	advertise := flag.String("advertise", "", "remote address the others dial (a proxy in front of -bind)")
	health := flag.Int("health", 0, "real automanaged health port (on 127.0.0.1)")
	healthProxy := flag.String("health-proxy", "", "health address the others poll (a proxy in front of -health)")
	hosts := flag.String("hosts", "", "comma-separated health addresses of every member, as polled")
	etcd := flag.String("etcd", "", "etcd endpoint: use the etcd provider instead of automanaged")
	baseURL := flag.String("base-url", "", "tinkerfake base URL")
	keyA := flag.String("key-a", "", "API key of config A")
	keyB := flag.String("key-b", "", "API key of config B")
	slots := flag.Int("slots", 12, "dispatch slots per config (the fleet budget)")
	throttled := flag.Int("throttled", 3, "throttled slots per config")
	flag.Parse()

	w := &worker{clients: map[string]*tinkex.SamplingClient{}, lims: map[string]*limiter.Limiter{}, fps: map[string]string{}, loads: map[string]*load{}}
	opts := []cluster.Option{cluster.WithRenewInterval(50 * time.Millisecond), cluster.WithLeaseTTL(time.Second),
		cluster.WithDegradeAfter(time.Second), cluster.WithRejoinAfter(2 * time.Second)}
	if *advertise != "" {
		p, err := newProxy(*advertise, *bind)
		if err != nil {
			return err
		}
		w.proxies = append(w.proxies, p)
		opts = append(opts, cluster.WithAdvertisedAddress(*advertise))
	}
	if *healthProxy != "" {
		p, err := newProxy(*healthProxy, net.JoinHostPort("127.0.0.1", strconv.Itoa(*health)))
		if err != nil {
			return err
		}
		w.proxies = append(w.proxies, p)
	}
	defer func() {
		for _, p := range w.proxies {
			p.close()
		}
	}()
	provider := cluster.Automanaged(*health, strings.Split(*hosts, ",")...)
	if *etcd != "" {
		provider = cluster.Etcd(*etcd)
	}
	ctx := context.Background()
	rt, err := tinkex.Start(ctx,
		tinkex.WithCluster(*name, *bind, provider, opts...),
		tinkex.WithLimiterOptions(limiter.WithSlots(*slots), limiter.WithThrottledSlots(*throttled), limiter.WithThrottleWindow(time.Second)))
	if err != nil {
		return err
	}
	w.rt = rt
	defer func() {
		stopCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = rt.Stop(stopCtx)
	}()
	for cfg, key := range map[string]string{"A": *keyA, "B": *keyB} {
		svc, err := rt.NewServiceClient(ctx, tinkex.WithAPIKey(key), tinkex.WithBaseURL(*baseURL), tinkex.WithTelemetry(false), tinkex.WithName("svc-"+cfg))
		if err != nil {
			return err
		}
		sc, err := svc.CreateSamplingClient(ctx, tinkex.WithBaseModel("meta-llama/Llama-3.2-1B"))
		if err != nil {
			return err
		}
		k, err := registry.NewKey(*baseURL, key)
		if err != nil {
			return err
		}
		lim, err := inspect.Registry(rt).Limiter(ctx, k)
		if err != nil {
			return err
		}
		w.clients[cfg], w.lims[cfg], w.fps[cfg] = sc, lim, k.Fingerprint()
	}
	enc := json.NewEncoder(stdout)
	_ = enc.Encode(map[string]any{"type": "ready"})
	in := bufio.NewScanner(stdin)
	for in.Scan() {
		f := strings.Fields(in.Text())
		if len(f) == 0 {
			continue
		}
		if f[0] == "quit" {
			break
		}
		_ = enc.Encode(w.do(ctx, f))
	}
	for cfg := range w.clients {
		w.stopLoad(cfg)
	}
	return nil
}

func (w *worker) do(ctx context.Context, f []string) any {
	arg := func(i int) string {
		if i < len(f) {
			return f[i]
		}
		return ""
	}
	switch f[0] {
	case "status":
		return w.status()
	case "load":
		n, _ := strconv.Atoi(arg(2))
		w.startLoad(ctx, arg(1), n)
		return map[string]any{"type": "started"}
	case "stop":
		return w.stopLoad(arg(1))
	case "sample":
		_, err := w.sample(ctx, arg(1))
		res := map[string]any{"type": "sample", "ok": err == nil, "a_backoff_ms": w.lims["A"].BackoffRemaining().Milliseconds()}
		if err != nil {
			res["error"] = err.Error()
		}
		return res
	case "cut":
		for _, p := range w.proxies {
			p.cut()
		}
		return map[string]any{"type": "ok"}
	case "heal":
		for _, p := range w.proxies {
			if err := p.heal(); err != nil {
				return map[string]any{"type": "error", "error": err.Error()}
			}
		}
		return map[string]any{"type": "ok"}
	}
	return map[string]any{"type": "error", "error": "unknown command " + f[0]}
}

func (w *worker) sample(ctx context.Context, cfg string) (any, error) {
	sc := w.clients[cfg]
	if sc == nil {
		return nil, fmt.Errorf("no config %q", cfg)
	}
	params := tinkex.DefaultSamplingParams()
	maxTokens := 4
	params.MaxTokens = &maxTokens
	return sc.Sample(ctx, tinkex.ModelInputFromInts([]int{1, 2, 3}), 1, params)
}

func (w *worker) startLoad(ctx context.Context, cfg string, n int) {
	l := &load{stop: make(chan struct{})}
	w.mu.Lock()
	w.loads[cfg] = l
	w.mu.Unlock()
	for range n {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for {
				select {
				case <-l.stop:
					return
				default:
				}
				if _, err := w.sample(ctx, cfg); err != nil {
					l.errs.Add(1)
					msg := err.Error()
					l.firstErr.CompareAndSwap(nil, &msg)
				} else {
					l.ok.Add(1)
				}
			}
		}()
	}
}

func (w *worker) stopLoad(cfg string) any {
	w.mu.Lock()
	l := w.loads[cfg]
	delete(w.loads, cfg)
	w.mu.Unlock()
	if l == nil {
		return map[string]any{"type": "load", "ok": 0, "errors": 0}
	}
	close(l.stop)
	l.wg.Wait()
	res := map[string]any{"type": "load", "ok": l.ok.Load(), "errors": l.errs.Load()}
	if e := l.firstErr.Load(); e != nil {
		res["first_error"] = *e
	}
	return res
}

func (w *worker) status() any {
	st := w.rt.Cluster().Status()
	configs := map[string]any{}
	for cfg, fp := range w.fps {
		for _, c := range st.Configs {
			if c.Fingerprint == fp {
				configs[cfg] = map[string]any{"degraded": c.Degraded, "slots": c.Slots, "bound": c.BoundSlots,
					"bound_throttled": c.BoundThrottled, "members": c.Members, "backoff_ms": c.Backoff.Milliseconds()}
			}
		}
	}
	return map[string]any{"type": "status", "address": st.Address, "members": st.Members, "configs": configs}
}

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/tinkex-go/tinkex"
	"github.com/tinkex-go/tinkex/telemetry"
	"github.com/tinkex-go/tinkex/tinkertest"
	"github.com/tinkex-go/tinkex/types"
)

// demo is one run: the server, the runtime, the clients and what was seen.
type demo struct {
	cfg       config
	pace      pacing
	start     time.Time
	out       io.Writer // stdout, scanned for keys
	errOut    io.Writer // stderr, scanned for keys
	logger    *slog.Logger
	guard     *leakGuard
	srv       *tinkertest.Server // the embedded fake, nil against another server
	transport *faultTransport    // client-side faults against another server
	rt        *tinkex.Runtime
	reg       *prometheus.Registry
	obs       *observer
	clients   []*client
	intensity int
	period    time.Duration
	shared    bool // A and B are the same config (one key against a server)
	workDone  <-chan struct{}

	stopOnce sync.Once
	errMu    sync.Mutex
	errs     []error
}

// sharedLabel names the one config of A and B when they share a key: HTTP
// events cannot tell them apart then.
const sharedLabel = "A+B"

// Demo tuning: the service supervisors' restart intensity, and how long
// issued requests may take to finish once the run is over.
const (
	serviceIntensity = 3
	servicePeriod    = 5 * time.Second
	drainTimeout     = 30 * time.Second
)

// run runs the demo described by cfg, printing to stdout (live view or
// event lines, then the summary) and stderr, and returns the summary. The
// error is for a run that could not start; a run whose invariants fail
// returns a summary with OK false.
func run(ctx context.Context, cfg config, stdout, stderr io.Writer) (*summary, error) {
	guard := newLeakGuard(map[string]string{cfg.APIKey: "config A's API key", cfg.APIKeyB: "config B's API key"})
	d := &demo{cfg: cfg, guard: guard, out: guard.writer(stdout), errOut: guard.writer(stderr),
		intensity: serviceIntensity, period: servicePeriod,
		pace: pacing{stepPause: 100 * time.Millisecond, sampleThink: 400 * time.Millisecond}}
	if !cfg.Embedded {
		d.pace = pacing{stepPause: time.Second, sampleThink: time.Second}
	}
	eventsOut := d.out
	if cfg.JSON {
		eventsOut = d.errOut
	}
	if !cfg.Live {
		d.logger = slog.New(slog.NewTextHandler(eventsOut, nil))
	}
	// Anything a library prints through the standard logger (net/http's
	// server errors, say) is scanned for keys too.
	prevLog := log.Writer()
	log.SetOutput(d.errOut)
	defer log.SetOutput(prevLog)

	if cfg.Embedded {
		d.srv = tinkertest.NewServer(
			tinkertest.WithServiceTime(tinkertest.EndpointAsample, 200*time.Millisecond),
			tinkertest.WithServiceTime(tinkertest.EndpointForwardBackward, 50*time.Millisecond),
			tinkertest.WithServiceTime(tinkertest.EndpointOptimStep, 20*time.Millisecond),
		)
		defer d.srv.Close()
		d.cfg.BaseURL = d.srv.URL()
	} else if cfg.Faults {
		next := http.DefaultTransport.(*http.Transport).Clone()
		defer next.CloseIdleConnections()
		d.transport = &faultTransport{next: next}
	}
	baseURL, err := types.NormalizeBaseURL(d.cfg.BaseURL)
	if err != nil {
		return nil, err
	}
	fpA, fpB := types.ConfigFingerprint(baseURL, cfg.APIKey), types.ConfigFingerprint(baseURL, cfg.APIKeyB)
	d.shared = fpA == fpB
	labels := map[string]string{fpA: "A", fpB: "B"}
	if d.shared {
		labels[fpA] = sharedLabel
	}

	d.start = time.Now()
	d.obs = newObserver(d.start, labels)
	bus := telemetry.NewBus()
	if err := bus.Attach("demo.observer", observedEvents, d.obs.handle); err != nil {
		return nil, err
	}
	if d.logger != nil {
		detach, err := telemetry.AttachLogger(bus, d.logger, telemetry.LoggerOptions{ID: "demo.logger",
			Events: observedEvents, Level: eventLevel})
		if err != nil {
			return nil, err
		}
		defer detach()
	}
	d.reg = prometheus.NewRegistry()
	rtLog := slog.New(slog.NewTextHandler(&noteWriter{d: d}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if d.logger != nil {
		rtLog = slog.New(slog.NewTextHandler(eventsOut, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	d.rt, err = tinkex.Start(ctx, tinkex.WithTelemetryBus(bus), tinkex.WithPrometheus(d.reg),
		tinkex.WithServiceIntensity(d.intensity, d.period), tinkex.WithLogger(rtLog),
		tinkex.WithEventLogs(false)) // events are logged (or observed) by the demo's own handlers
	if err != nil {
		return nil, err
	}
	defer d.stopRuntime(ctx)
	if cfg.MetricsAddr != "" {
		addr, stop, err := d.serveMetrics(cfg.MetricsAddr)
		if err != nil {
			return nil, err
		}
		defer stop()
		d.say("demo.metrics", "", "", "Prometheus metrics on http://"+addr+"/metrics")
	}

	d.say("demo.start", "", "", d.banner())
	for _, label := range []string{"A", "B"} {
		c, err := d.newClient(ctx, label)
		if err != nil {
			return nil, fmt.Errorf("creating client %s: %w", label, err)
		}
		d.clients = append(d.clients, c)
	}

	v := d.startView(ctx)
	work, cancelWork := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelWork()
	w := d.startWorkload(work)
	d.workDone = w.done

	var faults []faultResult
	scheduleDone := make(chan struct{})
	go func() {
		defer close(scheduleDone)
		if cfg.Faults {
			faults = d.runSchedule(ctx)
		}
	}()
	end := time.NewTimer(cfg.Duration)
	select {
	case <-end.C:
	case <-ctx.Done():
	case <-w.done: // quotas (-steps, -samples) used up
	}
	end.Stop()
	<-scheduleDone
	w.halt()
	d.say("demo.stop", "", "", "stopping: no new requests; waiting for the ones in flight")
	drainCtx, cancelDrain := context.WithTimeout(context.Background(), drainTimeout)
	drained := w.drain(drainCtx)
	cancelDrain()
	if !drained {
		d.say("demo.drain_timeout", "", "", fmt.Sprintf("requests still in flight after %s: canceling them", drainTimeout))
		cancelWork()
		w.drain(context.Background())
	}
	elapsed := d.since()
	d.unload(context.WithoutCancel(ctx)) // also after Ctrl-C: do not leave models loaded on a server
	v.stop()

	s := d.summarize(ctx, elapsed, faults, !drained)
	if err := d.stopRuntime(ctx); err != nil {
		s.Invariants = append(s.Invariants, invariant{Name: "clean_stop", OK: false, Detail: err.Error()})
	}
	return s, d.report(s)
}

// stopRuntime stops the runtime (once; later calls return nil).
func (d *demo) stopRuntime(ctx context.Context) error {
	var err error
	d.stopOnce.Do(func() {
		stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		err = d.rt.Stop(stopCtx)
	})
	return err
}

func (d *demo) since() time.Duration { return time.Since(d.start) }

// newClient creates a ServiceClient named label with a TrainingClient and a
// SamplingClient.
func (d *demo) newClient(ctx context.Context, label string) (*client, error) {
	key := d.cfg.APIKey
	if label == "B" {
		key = d.cfg.APIKeyB
	}
	opts := []tinkex.ServiceOption{tinkex.WithAPIKey(key), tinkex.WithBaseURL(d.cfg.BaseURL), tinkex.WithName(label),
		tinkex.WithTags("tinkex-demo")}
	if d.transport != nil {
		opts = append(opts, tinkex.WithHTTPClient(&http.Client{Transport: d.transport}))
	}
	svc, err := d.rt.NewServiceClient(ctx, opts...)
	if err != nil {
		return nil, err
	}
	tc, err := svc.CreateLoRATrainingClient(ctx, d.cfg.Model, tinkex.WithRank(8))
	if err != nil {
		return nil, err
	}
	sc, err := svc.CreateSamplingClient(ctx, tinkex.WithBaseModel(d.cfg.Model))
	if err != nil {
		return nil, err
	}
	d.say("demo.client", label, "", fmt.Sprintf("client %s ready: config %s, model %s, sampler %s", label, svc.Fingerprint(), tc.ModelID(), sc.SamplerID()))
	return &client{label: label, svc: svc, tc: tc, sc: sc,
		training: newClientStats(label + "/training"), sampling: newClientStats(label + "/sampling")}, nil
}

// unload releases the training models (a courtesy to a real server).
func (d *demo) unload(ctx context.Context) {
	for _, c := range d.clients {
		uctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		if _, err := c.tc.Unload(uctx); err != nil {
			d.say("demo.unload", c.label, "", fmt.Sprintf("unloading %s's model: %v", c.label, err))
		}
		cancel()
	}
}

func (d *demo) banner() string {
	target := "embedded fake server " + d.cfg.BaseURL
	if !d.cfg.Embedded {
		target = "server " + d.cfg.BaseURL
	}
	faults := "no faults"
	if d.cfg.Faults {
		faults = "fault schedule on config A"
	}
	return fmt.Sprintf("tinkex %s demo: %s, %s, %s, %d concurrent samples per client", tinkex.Version, target, faults, d.cfg.Duration, d.cfg.Concurrency)
}

// inject installs a fault on the embedded server or the client-side
// transport; it returns the fault's id.
func (d *demo) inject(f tinkertest.Fault) int {
	if d.srv != nil {
		return d.srv.Inject(f)
	}
	if d.transport != nil {
		return d.transport.inject(f)
	}
	return 0
}

// say records a demo note, and logs it as a line in plain mode.
func (d *demo) say(name, config, client, text string) {
	d.obs.say(note{Name: name, Config: config, Client: client, Text: text})
	if d.logger != nil {
		d.logger.Info(name, "text", text)
	}
}

// surface shows a failed request: the demo reports what callers see.
func (d *demo) surface(client, op string, err error) {
	if err == nil {
		return
	}
	kind := types.KindOf(err).String()
	hint := ""
	switch {
	case tinkex.IsUserError(err):
		hint = " (user error: surfaced, not retried)"
	case tinkex.IsRetryable(err):
		hint = " (retryable)"
	}
	text := fmt.Sprintf("%s: %s failed: %s%s: %s", client, op, kind, hint, shorten(err.Error()))
	d.obs.say(note{Name: "demo.error", Config: strings.SplitN(client, "/", 2)[0], Client: client, Op: op, Kind: kind, Text: text})
	if d.logger != nil {
		d.logger.Warn("demo.error", "client", client, "op", op, "kind", kind, "error", err.Error())
	}
}

// fail records a problem of the demo itself (not of a request).
func (d *demo) fail(err error) {
	d.errMu.Lock()
	d.errs = append(d.errs, err)
	d.errMu.Unlock()
	d.say("demo.failure", "", "", err.Error())
}

// eventLevel is telemetry.EventLevel, except that successful training
// operations (two per step) are DEBUG: the progress lines count them.
func eventLevel(ev telemetry.Event) slog.Level {
	if strings.HasPrefix(ev.Name, telemetry.TrainingPrefix) && !isTrainingException(ev.Name) {
		return slog.LevelDebug
	}
	return telemetry.EventLevel(ev)
}

// serveMetrics serves /metrics on addr until the returned stop is called,
// and returns the address it listens on.
func (d *demo) serveMetrics(addr string) (string, func(), error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return "", nil, fmt.Errorf("-metrics-addr: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(d.reg, promhttp.HandlerOpts{}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(l) // ends with ErrServerClosed at Shutdown
	}()
	return l.Addr().String(), func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
			_ = srv.Close()
		}
		<-done
	}, nil
}

// noteWriter turns the runtime's log lines into notes (live view).
type noteWriter struct{ d *demo }

func (w *noteWriter) Write(p []byte) (int, error) {
	w.d.guard.scan(p)
	w.d.obs.say(note{Name: "demo.log", Text: strings.TrimSpace(string(p))})
	return len(p), nil
}

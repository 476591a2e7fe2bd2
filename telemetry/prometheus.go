package telemetry

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tinkex-go/tinkex/types"
)

// PrometheusCollector turns bus events into Prometheus metrics. It is a
// prometheus.Collector registered on the Registerer given to
// NewPrometheusCollector; attach it to one or more buses with Attach.
//
// Labels are bounded by construction: a config fingerprint (configs are
// few), an HTTP pool, a status class or code, an operation name taken from
// the event name, a queue state, a future error type, and a child kind taken
// from the child id's prefix before ':' ("training:m-1" → "training"). No
// label ever carries a key, a PID, or a model, sampler, session or request id.
type PrometheusCollector struct {
	httpRequests      *prometheus.CounterVec
	httpDuration      *prometheus.HistogramVec
	httpRetries       *prometheus.CounterVec
	backoffs          *prometheus.CounterVec
	backoffActive     *prometheus.GaugeVec
	queueStates       *prometheus.CounterVec
	futureErrors      *prometheus.CounterVec
	trainingOps       *prometheus.CounterVec
	trainingDuration  *prometheus.HistogramVec
	samplingRequests  *prometheus.CounterVec
	samplingDuration  *prometheus.HistogramVec
	childStarts       *prometheus.CounterVec
	childRestarts     *prometheus.CounterVec
	childStops        *prometheus.CounterVec
	intensityExceeded *prometheus.CounterVec
	handlerFailures   prometheus.Counter
	collectors        []prometheus.Collector
	mu                sync.Mutex // guards attachments
	attachments       map[*Bus]struct{}
}

// PrometheusOption configures a PrometheusCollector.
type PrometheusOption func(*prometheusConfig)

type prometheusConfig struct {
	namespace       string
	httpBuckets     []float64
	trainingBuckets []float64
	samplingBuckets []float64
}

// WithNamespace replaces the metric name prefix "tinkex"; it must be a valid
// metric name prefix (letters, digits, '_'), or empty for no prefix.
func WithNamespace(ns string) PrometheusOption {
	return func(c *prometheusConfig) { c.namespace = ns }
}

// WithHTTPBuckets sets the buckets, in seconds, of the HTTP request duration
// histogram. Buckets must be strictly increasing (empty means
// prometheus.DefBuckets).
func WithHTTPBuckets(b []float64) PrometheusOption {
	return func(c *prometheusConfig) { c.httpBuckets = b }
}

// WithTrainingBuckets sets the buckets, in seconds, of the training
// operation duration histogram.
func WithTrainingBuckets(b []float64) PrometheusOption {
	return func(c *prometheusConfig) { c.trainingBuckets = b }
}

// WithSamplingBuckets sets the buckets, in seconds, of the sampling request
// duration histogram.
func WithSamplingBuckets(b []float64) PrometheusOption {
	return func(c *prometheusConfig) { c.samplingBuckets = b }
}

var namespacePattern = regexp.MustCompile(`^([a-zA-Z_][a-zA-Z0-9_]*)?$`)

func (c *prometheusConfig) validate() error {
	const op = "telemetry.prometheus"
	if !namespacePattern.MatchString(c.namespace) {
		return types.ValidationError(op, "namespace %q is not a valid metric name prefix", c.namespace)
	}
	for name, b := range map[string][]float64{"HTTP": c.httpBuckets, "training": c.trainingBuckets, "sampling": c.samplingBuckets} {
		for i, v := range b {
			if math.IsNaN(v) || i > 0 && v <= b[i-1] {
				return types.ValidationError(op, "%s histogram buckets must be strictly increasing numbers, got %v", name, b)
			}
		}
	}
	return nil
}

// Default histogram buckets, in seconds.
var (
	DefaultHTTPBuckets     = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}
	DefaultTrainingBuckets = []float64{0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600}
	DefaultSamplingBuckets = []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300}
)

// Bounded label values used by the collector.
var (
	knownQueueStates  = []string{"active", "paused_capacity", "paused_rate_limit", "unknown"}
	knownFutureErrors = []string{"api_error", "connection_error", "request_failed", "timeout"}
	futureErrorTypes  = map[string]string{
		FutureAPIError: "api_error", FutureConnectionError: "connection_error",
		FutureRequestFailed: "request_failed", FutureTimeout: "timeout",
	}
)

// NewPrometheusCollector builds the collector and registers it on reg. It
// never touches the global registry. Invalid options (a bad namespace,
// buckets not strictly increasing) give a *types.Error of KindValidation. A nil reg leaves it unregistered (it is
// still a prometheus.Collector the caller may register). If reg already
// holds these metrics — a second collector on the same registry — it
// returns a *types.Error of KindValidation that wraps the
// prometheus.AlreadyRegisteredError (errors.As finds it, with the existing
// collector); it never panics.
func NewPrometheusCollector(reg prometheus.Registerer, opts ...PrometheusOption) (*PrometheusCollector, error) {
	cfg := prometheusConfig{
		namespace:       "tinkex",
		httpBuckets:     DefaultHTTPBuckets,
		trainingBuckets: DefaultTrainingBuckets,
		samplingBuckets: DefaultSamplingBuckets,
	}
	for _, o := range opts {
		o(&cfg)
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	ns := cfg.namespace
	c := &PrometheusCollector{attachments: map[*Bus]struct{}{}}
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		v := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: name, Help: help}, labels)
		c.collectors = append(c.collectors, v)
		return v
	}
	histogram := func(name, help string, buckets []float64, labels ...string) *prometheus.HistogramVec {
		v := prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: ns, Name: name, Help: help, Buckets: buckets}, labels)
		c.collectors = append(c.collectors, v)
		return v
	}
	c.httpRequests = counter("http_requests_total",
		"Logical HTTP requests (all attempts of one call) that ended, by config fingerprint, pool and status class of the last response (none when there was no response).",
		"config", "pool", "status_class")
	c.httpDuration = histogram("http_request_duration_seconds",
		"Duration of logical HTTP requests including retries and backoff sleeps.",
		cfg.httpBuckets, "config", "pool", "status_class")
	c.httpRetries = counter("http_retries_total",
		"HTTP attempts that failed and were retried, by config fingerprint and status (none for transport errors).",
		"config", "status")
	c.backoffs = counter("limiter_backoffs_total",
		"Times a config entered a shared 429 backoff (tinkex.limiter.backoff.set events).", "config")
	c.backoffActive = prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Name: "limiter_backoff_active",
		Help: "1 while a config's shared 429 backoff is in force, else 0."}, []string{"config"})
	c.collectors = append(c.collectors, c.backoffActive)
	c.queueStates = counter("queue_state_changes_total",
		"Queue state changes observed while polling futures, by new state.", "state")
	c.futureErrors = counter("future_errors_total",
		"Problems seen while polling futures, by type.", "type")
	c.trainingOps = counter("training_operations_total",
		"Training operations that ended, by operation and outcome (ok, error, or canceled when the caller's context ended).", "op", "outcome")
	c.trainingDuration = histogram("training_operation_duration_seconds",
		"Duration of training operations from submit to result.", cfg.trainingBuckets, "op", "outcome")
	c.samplingRequests = counter("sampling_requests_total",
		"Sample calls that ended, by config fingerprint and outcome (ok, error, or canceled when the caller's context ended).", "config", "outcome")
	c.samplingDuration = histogram("sampling_request_duration_seconds",
		"Duration of Sample calls, including 429 waits and polling.", cfg.samplingBuckets, "config", "outcome")
	c.childStarts = counter("supervisor_child_starts_total",
		"Supervised children started, by child kind (the child id's prefix).", "child")
	c.childRestarts = counter("supervisor_child_restarts_total",
		"Supervised children restarted after a failure, by child kind.", "child")
	c.childStops = counter("supervisor_child_stops_total",
		"Supervised children that stopped, by child kind.", "child")
	c.intensityExceeded = counter("supervisor_intensity_exceeded_total",
		"Times a supervisor exceeded its restart intensity and gave up, by supervisor kind.", "supervisor")
	c.handlerFailures = prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Name: "telemetry_handler_failures_total",
		Help: "Telemetry handlers that panicked and were detached."})
	c.collectors = append(c.collectors, c.handlerFailures)

	for _, s := range knownQueueStates {
		c.queueStates.WithLabelValues(s)
	}
	for _, s := range knownFutureErrors {
		c.futureErrors.WithLabelValues(s)
	}

	if reg != nil {
		if err := reg.Register(c); err != nil {
			return nil, &types.Error{Kind: types.KindValidation, Op: "telemetry.prometheus",
				Message: "cannot register the tinkex metrics (already registered on this registry?)", Err: err}
		}
	}
	return c, nil
}

// Describe implements prometheus.Collector.
func (c *PrometheusCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, m := range c.collectors {
		m.Describe(ch)
	}
}

// Collect implements prometheus.Collector.
func (c *PrometheusCollector) Collect(ch chan<- prometheus.Metric) {
	for _, m := range c.collectors {
		m.Collect(ch)
	}
}

// prometheusEvents are the events the collector counts. Listing them rather
// than "tinkex.*" keeps Bus.Enabled false for HTTP and sampling starts, so
// emitters can skip building those events.
var prometheusEvents = []string{
	HTTPRequestStop, HTTPRequestError, HTTPRetry,
	LimiterBackoffSet, LimiterBackoffCleared,
	QueueStateChange, "tinkex.future.*",
	"tinkex.training.*",
	SamplingSample + ".stop", SamplingSample + ".exception",
	"tinkex.supervisor.*",
	HandlerFailed,
}

// Attach subscribes the collector to every event of bus. It fails on a nil
// bus or when the collector is already attached to it. The returned detach
// is idempotent; metrics keep their values after detaching.
func (c *PrometheusCollector) Attach(bus *Bus) (detach func(), err error) {
	if bus == nil {
		return nil, errors.New("telemetry: PrometheusCollector.Attach on a nil Bus")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.attachments[bus]; ok {
		return nil, fmt.Errorf("telemetry: prometheus collector: %w", ErrDuplicateHandler)
	}
	busDetach, err := bus.attachOnce("", "tinkex.prometheus", prometheusEvents, c.Handle)
	if err != nil {
		return nil, fmt.Errorf("telemetry: prometheus collector: %w", err)
	}
	c.attachments[bus] = struct{}{}
	var once sync.Once
	return func() {
		once.Do(func() {
			c.mu.Lock()
			defer c.mu.Unlock()
			busDetach()
			delete(c.attachments, bus)
		})
	}, nil
}

// Handle records one event. Attach wires it to a bus; it is exported so
// that an event source other than a Bus can feed the collector.
func (c *PrometheusCollector) Handle(ev Event) {
	md := ev.Metadata
	switch ev.Name {
	case HTTPRequestStop, HTTPRequestError:
		labels := []string{labelOrNone(md[KeyConfig]), labelOrNone(md[KeyPool]), statusClass(md[KeyStatus])}
		c.httpRequests.WithLabelValues(labels...).Inc()
		if d, ok := ev.Measurements[MeasureDuration]; ok {
			c.httpDuration.WithLabelValues(labels...).Observe(d)
		}
	case HTTPRetry:
		c.httpRetries.WithLabelValues(labelOrNone(md[KeyConfig]), statusCode(md[KeyStatus])).Inc()
	case LimiterBackoffSet:
		cfg := labelOrNone(md[KeyConfig])
		c.backoffs.WithLabelValues(cfg).Inc()
		c.backoffActive.WithLabelValues(cfg).Set(1)
	case LimiterBackoffCleared:
		c.backoffActive.WithLabelValues(labelOrNone(md[KeyConfig])).Set(0)
	case QueueStateChange:
		c.queueStates.WithLabelValues(queueState(md[KeyQueueState])).Inc()
	case FutureAPIError, FutureConnectionError, FutureRequestFailed, FutureTimeout:
		c.futureErrors.WithLabelValues(futureErrorTypes[ev.Name]).Inc()
	case SamplingSample + ".stop", SamplingSample + ".exception":
		labels := []string{labelOrNone(md[KeyConfig]), outcome(ev.Name, md)}
		c.samplingRequests.WithLabelValues(labels...).Inc()
		if d, ok := ev.Measurements[MeasureDuration]; ok {
			c.samplingDuration.WithLabelValues(labels...).Observe(d)
		}
	case SupervisorChildStarted:
		c.childStarts.WithLabelValues(idKind(md[KeyChild])).Inc()
	case SupervisorChildRestarted:
		c.childRestarts.WithLabelValues(idKind(md[KeyChild])).Inc()
	case SupervisorChildStopped:
		c.childStops.WithLabelValues(idKind(md[KeyChild])).Inc()
	case SupervisorIntensityExceeded:
		c.intensityExceeded.WithLabelValues(idKind(md[KeySupervisor])).Inc()
	case HandlerFailed:
		c.handlerFailures.Inc()
	default:
		if op, ok := trainingOp(ev.Name); ok {
			labels := []string{op, outcome(ev.Name, md)}
			c.trainingOps.WithLabelValues(labels...).Inc()
			if d, ok := ev.Measurements[MeasureDuration]; ok {
				c.trainingDuration.WithLabelValues(labels...).Observe(d)
			}
		}
	}
}

// trainingOp extracts <op> from "tinkex.training.<op>.stop|exception".
func trainingOp(name string) (string, bool) {
	rest, ok := strings.CutPrefix(name, TrainingPrefix)
	if !ok {
		return "", false
	}
	var op string
	if op, ok = strings.CutSuffix(rest, ".stop"); !ok {
		if op, ok = strings.CutSuffix(rest, ".exception"); !ok {
			return "", false
		}
	}
	return boundedWord(op), true
}

// outcome is "ok" for a .stop event, "canceled" for an .exception whose
// kind is canceled (the caller gave up: not a failure of the service), and
// "error" for any other .exception.
func outcome(name string, md map[string]any) string {
	if strings.HasSuffix(name, ".exception") {
		if k, _ := md[KeyKind].(string); k == types.KindCanceled.String() {
			return "canceled"
		}
		return "error"
	}
	return "ok"
}

func labelOrNone(v any) string {
	s, ok := v.(string)
	if !ok || s == "" {
		return "none"
	}
	return s
}

func statusOf(v any) int {
	switch x := v.(type) {
	case int:
		return x
	case int64:
		return int(x)
	case int32:
		return int(x)
	case float64:
		return int(x)
	case string:
		n, _ := strconv.Atoi(x)
		return n
	}
	return 0
}

// statusClass maps an HTTP status to "2xx".."5xx", or "none" when there
// was no response.
func statusClass(v any) string {
	s := statusOf(v)
	if s < 100 || s > 599 {
		return "none"
	}
	return strconv.Itoa(s/100) + "xx"
}

func statusCode(v any) string {
	s := statusOf(v)
	if s < 100 || s > 599 {
		return "none"
	}
	return strconv.Itoa(s)
}

func queueState(v any) string {
	s, _ := v.(string)
	for _, k := range knownQueueStates {
		if s == k {
			return s
		}
	}
	return "unknown"
}

// idKind derives a bounded kind from a supervision id: the part before the
// first ':' ("sampling:s-12" → "sampling", "registry" → "registry").
func idKind(v any) string {
	s, _ := v.(string)
	if s == "" {
		return "none"
	}
	kind, _, _ := strings.Cut(s, ":")
	return boundedWord(kind)
}

// boundedWord keeps a label value that looks like a code-defined name
// (lowercase letters and '_', at most 32 bytes) and maps anything else to
// "other", so a stray id (with digits, hex, a user's name) cannot blow up
// cardinality.
func boundedWord(s string) string {
	if s == "" || len(s) > 32 {
		return "other"
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r == '_') {
			return "other"
		}
	}
	return s
}

package chaos

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tinkex-go/tinkex"
	"github.com/tinkex-go/tinkex/internal/inspect"
	"github.com/tinkex-go/tinkex/tinkertest"
	"github.com/tinkex-go/tinkex/types"
)

// syncBuffer is a bytes.Buffer safe for concurrent writers (the logger).
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// exposures finds every place a key shows in text: the key itself or any
// prefix of it longer than the "tml-" marker (all of which contain its first
// five characters), or the start of its secret part without the marker.
func exposures(text string) []string {
	needles := map[string]bool{}
	for _, key := range []string{keyA, keyB} {
		needles[key[:len("tml-")+1]] = true
		needles[key[len("tml-"):len("tml-")+6]] = true
	}
	var found []string
	for needle := range needles {
		for off := 0; ; {
			i := strings.Index(text[off:], needle)
			if i < 0 {
				break
			}
			i += off
			lo, hi := max(0, i-40), min(len(text), i+len(needle)+40)
			found = append(found, fmt.Sprintf("%q at %d: …%s…", needle, i, text[lo:hi]))
			off = i + 1
		}
	}
	return found
}

func TestExposuresFindsPrefixes(t *testing.T) {
	assert.Empty(t, exposures("tml- is the marker; fingerprint "+types.KeyFingerprint(keyA)))
	assert.NotEmpty(t, exposures("key="+keyA[:5]))
	assert.NotEmpty(t, exposures("key=[REDACTED] "+keyB[4:12]))
	assert.Len(t, exposures(keyA+" and "+keyB), 4)
}

// TestSecretsNeverExposed runs the chaos mix (faults, crashes) with the
// logger at debug level, the Prometheus collector and server telemetry on,
// captures everything a user or an operator could see, and looks for the
// keys in it.
func TestSecretsNeverExposed(t *testing.T) {
	logs := &syncBuffer{}
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	reg := prometheus.NewRegistry()
	h := newHarness(t, runOptions{requests: 400, seed: 42, logger: logger, registry: reg})
	ops := h.plan()
	h.execute(ops)
	require.Positive(t, len(h.crashesSent()), "the mix crashed actors")

	captured := map[string]*strings.Builder{}
	capture := func(name string, format string, args ...any) {
		b := captured[name]
		if b == nil {
			b = &strings.Builder{}
			captured[name] = b
		}
		fmt.Fprintf(b, format+"\n", args...)
	}

	errs := 0
	for _, o := range ops {
		if o.err != nil {
			errs++
			capture("error strings", "%s | %v | %+v | %#v", o.err.Error(), o.err, o.err, o.err)
		}
	}
	require.Positive(t, errs, "the mix produced errors")

	for _, e := range h.events.all() {
		capture("telemetry events", "%v | %+v | %#v", e, e, e)
	}
	rec := httptest.NewRecorder()
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	require.Equal(t, http.StatusOK, rec.Code)
	require.Contains(t, rec.Body.String(), "tinkex_", "the collector exported metrics")
	capture("/metrics", "%s", rec.Body.String())

	batches := h.srv.TelemetryBatches()
	require.NotEmpty(t, batches, "the server received telemetry")
	for _, b := range batches {
		j, err := json.Marshal(b)
		require.NoError(t, err)
		capture("telemetry batches", "%s", j)
	}

	tree, err := h.tree()
	require.NoError(t, err)
	capture("Tree()", "%s | %v | %+v | %#v", tree.String(), tree, tree, tree)

	reg2 := inspect.Registry(h.rt)
	capture("registry", "%v | %+v | %#v", reg2, reg2, reg2)
	for _, e := range reg2.Entries() {
		capture("registry", "%v | %+v | %#v", e, e, e)
	}
	capture("registry", "%v", reg2.Counters())

	for _, e := range h.srv.Requests(tinkertest.Match{}) {
		capture("server request log", "%v", e.Header)
	}

	// Printed while the clients work: String/GoString/LogValue must not
	// reflect over live state (the race detector checks).
	capture("public values", "%v | %+v | %#v", h.rt, h.rt, h.rt)
	for i, svc := range h.svcs {
		tc, sc := h.trainers[i], h.samplers[i]
		capture("public values", "%v | %+v | %#v", svc, svc, svc)
		capture("public values", "%v | %+v | %#v", tc, tc, tc)
		capture("public values", "%v | %+v | %#v", sc, sc, sc)
		capture("public values", "%v | %+v | %#v", svc.Rest(), svc.Rest(), svc.Rest())
		capture("public values", "%v | %+v | %#v", inspect.Limiter(svc), inspect.Limiter(svc), inspect.Limiter(svc))
		capture("public values", "%v | %+v", inspect.Limiter(svc).Identity(), svc.LimiterStats())
		capture("public values", "%+v", svc.ClientConfig())
		f := tc.OptimStep(t.Context(), tinkex.DefaultAdamParams())
		capture("public values", "%v | %+v | %#v", f, f, f)
		_, _ = f.Result(t.Context())
		slogged := &syncBuffer{}
		l := slog.New(slog.NewTextHandler(slogged, nil))
		l.Info("values", "svc", svc, "tc", tc, "sc", sc, "rt", h.rt, "registry", reg2, "future", f, "limiter", inspect.Limiter(svc))
		capture("slog of public values", "%s", slogged.String())
	}

	h.stop()
	capture("log lines", "%s", logs.String())
	require.Contains(t, logs.String(), "chaos crash", "the panics were logged")
	require.Contains(t, logs.String(), `"level":"DEBUG"`, "debug records were logged")

	total := 0
	for _, name := range sortedKeys(captured) {
		found := exposures(captured[name].String())
		total += len(found)
		assert.Empty(t, limit(found, 5), "key exposures in %s", name)
		t.Logf("%-22s %8d bytes, %d key exposures", name, captured[name].Len(), len(found))
	}
	t.Logf("key exposures: %d", total)
}

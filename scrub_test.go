package tinkex

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tinkex-go/tinkex/httpclient"
	"github.com/tinkex-go/tinkex/telemetry"
	"github.com/tinkex-go/tinkex/tinkertest"
	"github.com/tinkex-go/tinkex/types"
)

// A server that echoes the key back in its session messages, a failed
// future's error text and a queue-state reason: the key reaches no log line,
// error or event, because server text is scrubbed where it enters.
func TestServerTextIsScrubbedOfTheKey(t *testing.T) {
	logger, logged := captureLogs(slog.LevelDebug)
	e := newEnv(t, []tinkertest.Option{tinkertest.WithSessionMessages(
		"welcome "+keyA, "your key "+keyA+" expires soon", "key "+keyA+" is over quota")}, WithLogger(logger))
	rec := recordEvents(t, e.rt.bus)
	svc := e.service(t)
	tc := trainer(t, svc)

	e.srv.Inject(tinkertest.Fault{Endpoint: tinkertest.EndpointRetrieveFuture, QueueState: "paused_capacity",
		QueueStateReason: "waiting for " + keyA, Times: 1})
	e.srv.Inject(tinkertest.Fault{Endpoint: tinkertest.EndpointOptimStep, FutureError: "bad request from " + keyA,
		Category: types.CategoryUser, Times: 1})
	_, failed := tc.OptimStep(ctxT(t), types.DefaultAdamParams()).Result(ctxT(t))
	require.ErrorIs(t, failed, types.ErrRequestFailed)
	assert.Contains(t, failed.Error(), "bad request from [REDACTED:"+types.KeyFingerprint(keyA)+"]")
	_, err := tc.OptimStep(ctxT(t), types.DefaultAdamParams()).Result(ctxT(t))
	require.NoError(t, err)

	require.Len(t, rec.named(telemetry.FutureRequestFailed), 1)
	logs := logged()
	for _, want := range []string{"welcome [REDACTED:", "expires soon", "is over quota", "is waiting: waiting for [REDACTED:"} {
		assert.Contains(t, logs, want, "the message is logged, scrubbed")
	}
	var evs strings.Builder
	rec.mu.Lock()
	for _, ev := range rec.evs {
		fmt.Fprintf(&evs, "%v %+v\n", ev.Name, ev.Metadata)
	}
	rec.mu.Unlock()
	for what, text := range map[string]string{"logs": logs, "events": evs.String(), "error": failed.Error()} {
		assert.NotContains(t, text, keyA, what)
		assert.NotContains(t, text, keyA[:12], what)
	}
	assert.Contains(t, evs.String(), "bad request from [REDACTED:", "the request_failed event carries the scrubbed text")
}

// A failed future's error text and a queue reason are cut at
// httpclient.ServerTextLimit after scrubbing: a 200 KB server text does not
// become a 200 KB error or event, and a key straddling the cut leaves no
// prefix behind.
func TestHugeServerTextIsCutAfterScrubbing(t *testing.T) {
	e := newEnv(t, nil)
	rec := recordEvents(t, e.rt.bus)
	tc := trainer(t, e.service(t))
	huge := strings.Repeat("é", (httpclient.ServerTextLimit-10)/2) + keyA + strings.Repeat("x", 200_000)
	e.srv.Inject(tinkertest.Fault{Endpoint: tinkertest.EndpointOptimStep, FutureError: huge,
		Category: types.CategoryServer, Times: 1})
	_, failed := tc.OptimStep(ctxT(t), types.DefaultAdamParams()).Result(ctxT(t))
	require.ErrorIs(t, failed, types.ErrRequestFailed)
	var te *types.Error
	require.ErrorAs(t, failed, &te)
	assert.LessOrEqual(t, len(te.Message), httpclient.ServerTextLimit+len("…"))
	assert.True(t, utf8.ValidString(te.Message), "cut on a rune boundary")
	assert.True(t, strings.HasSuffix(te.Message, "…"), "the cut is marked")
	assert.NotContains(t, te.Message, keyA[:8])
	assert.Contains(t, te.Message, "[REDACTED", "the key before the cut is named, scrubbed")
	evs := rec.named(telemetry.FutureRequestFailed)
	require.Len(t, evs, 1)
	assert.Less(t, len(fmt.Sprint(evs[0].Metadata)), 4*httpclient.ServerTextLimit)
}

// A front that answers client/dynamic_config with a line that is not HTTP,
// quoting the X-API-Key it received (everything else goes to the fake):
// the transport error net/http returns quotes that line, and the session's
// "dynamic config unavailable" warning logs the error. It reaches the log
// scrubbed.
func TestTransportErrorsAreScrubbedBeforeTheyAreLogged(t *testing.T) {
	logger, logs := captureLogs(slog.LevelWarn)
	e := newEnv(t, nil, WithLogger(logger), WithEventLogs(false))
	target, err := url.Parse(e.srv.URL())
	require.NoError(t, err)
	proxy := httputil.NewSingleHostReverseProxy(target)
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/v1/client/dynamic_config" {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				fmt.Fprintf(conn, "echo:%s\r\n\r\n", r.Header.Get("X-Api-Key"))
				_ = conn.Close()
			}
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close)
	_, err = e.rt.NewServiceClient(ctxT(t), WithAPIKey(keyA), WithBaseURL(front.URL), WithCallRetryBudget(0))
	require.NoError(t, err)
	out := logs()
	require.Contains(t, out, "dynamic config unavailable")
	assert.Contains(t, out, "malformed HTTP response", "the cause is still logged")
	assert.NotContains(t, out, keyA, "the key reached the log")
}

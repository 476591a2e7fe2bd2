package tinkex

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tinkex-go/tinkex/types"
)

// idRewriter is a hostile server in front of tinkertest: in the JSON answers
// of one endpoint it appends a string to one id field, and it strips that
// string again from the JSON requests that carry the id back, so the id
// would work if the client kept using it.
type idRewriter struct {
	srv     *httptest.Server
	rewrote atomic.Int64
}

func newIDRewriter(t *testing.T, upstream, path, field, suffix string) *idRewriter {
	t.Helper()
	target, err := url.Parse(upstream)
	require.NoError(t, err)
	re := regexp.MustCompile(`("` + regexp.QuoteMeta(field) + `"\s*:\s*")([^"]*)(")`)
	w := &idRewriter{}
	proxy := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.Host = target.Host
			if pr.In.Body == nil || !strings.Contains(pr.In.Header.Get("Content-Type"), "json") {
				return
			}
			body, _ := io.ReadAll(pr.In.Body)
			body = bytes.ReplaceAll(body, []byte(suffix), nil)
			pr.Out.Body = io.NopCloser(bytes.NewReader(body))
			pr.Out.ContentLength = int64(len(body))
			pr.Out.Header.Set("Content-Length", strconv.Itoa(len(body)))
		},
		ModifyResponse: func(resp *http.Response) error {
			if resp.Request.URL.Path != path || !strings.Contains(resp.Header.Get("Content-Type"), "json") {
				return nil
			}
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				return err
			}
			out := re.ReplaceAll(body, []byte("${1}${2}"+suffix+"${3}"))
			if !bytes.Equal(out, body) {
				w.rewrote.Add(1)
			}
			resp.Body = io.NopCloser(bytes.NewReader(out))
			resp.ContentLength = int64(len(out))
			resp.Header.Set("Content-Length", strconv.Itoa(len(out)))
			return nil
		},
	}
	w.srv = httptest.NewServer(proxy)
	t.Cleanup(w.srv.Close)
	return w
}

// A hostile server that puts the key (glued to a real id, so no word
// boundary gives it away) or a long credential-shaped string into an id it
// answers: the id is refused where it enters, with a KindValidation error
// naming the field, and the key reaches no error, event or log line.
func TestServerIDsCarryingACredentialAreRefused(t *testing.T) {
	jwtLike := "eyJ" + strings.Repeat("A", 600)
	cases := []struct {
		name, path, field, suffix string
		run                       func(t *testing.T, e *env, url string) error
	}{
		{"session_id", "/api/v1/create_session", "session_id", keyA, func(t *testing.T, e *env, url string) error {
			_, err := e.rt.NewServiceClient(ctxT(t), WithAPIKey(keyA), WithBaseURL(url))
			return err
		}},
		{"create_model request_id", "/api/v1/create_model", "request_id", keyA, func(t *testing.T, e *env, url string) error {
			svc := serviceAt(t, e, url)
			_, err := svc.CreateLoRATrainingClient(ctxT(t), "meta-llama/Llama-3.2-1B")
			return err
		}},
		{"create_model model_id", "/api/v1/retrieve_future", "model_id", keyA, func(t *testing.T, e *env, url string) error {
			svc := serviceAt(t, e, url)
			_, err := svc.CreateLoRATrainingClient(ctxT(t), "meta-llama/Llama-3.2-1B")
			return err
		}},
		{"optim_step request_id", "/api/v1/optim_step", "request_id", "x" + keyA, func(t *testing.T, e *env, url string) error {
			tc := trainer(t, serviceAt(t, e, url))
			_, err := tc.OptimStep(ctxT(t), types.DefaultAdamParams()).Result(ctxT(t))
			return err
		}},
		{"asample request_id", "/api/v1/asample", "request_id", keyA, func(t *testing.T, e *env, url string) error {
			sc := sampler(t, e, serviceAt(t, e, url))
			_, err := sc.Sample(ctxT(t), prompt, 1, types.DefaultSamplingParams())
			return err
		}},
		{"sampling_session_id", "/api/v1/create_sampling_session", "sampling_session_id", jwtLike, func(t *testing.T, e *env, url string) error {
			_, err := serviceAt(t, e, url).CreateSamplingClient(ctxT(t), WithBaseModel("meta-llama/Llama-3.2-1B"))
			return err
		}},
		{"save_weights_for_sampler sampling_session_id", "/api/v1/retrieve_future", "sampling_session_id", keyA, func(t *testing.T, e *env, url string) error {
			tc := trainer(t, serviceAt(t, e, url))
			_, err := tc.SaveWeightsAndGetSamplingClient(ctxT(t))
			return err
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			logger, logged := captureLogs(slog.LevelDebug)
			e := newEnv(t, nil, WithLogger(logger))
			rec := recordEvents(t, e.rt.bus)
			hostile := newIDRewriter(t, e.srv.URL(), c.path, c.field, c.suffix)
			err := c.run(t, e, hostile.srv.URL)
			require.Positive(t, hostile.rewrote.Load(), "the hostile answer was sent")
			require.Error(t, err)
			assert.Equal(t, types.KindValidation, types.KindOf(err), "%v", err)
			assert.Contains(t, err.Error(), c.field)
			var evs strings.Builder
			rec.mu.Lock()
			for _, ev := range rec.evs {
				fmt.Fprintf(&evs, "%v %+v\n", ev.Name, ev.Metadata)
			}
			rec.mu.Unlock()
			for what, text := range map[string]string{"error": fmt.Sprintf("%v %+v", err, err), "events": evs.String(), "logs": logged()} {
				assert.NotContains(t, text, keyA[:12], what)
				assert.NotContains(t, text, jwtLike[:40], what)
			}
		})
	}
}

func serviceAt(t *testing.T, e *env, url string, opts ...ServiceOption) *ServiceClient {
	t.Helper()
	svc, err := e.rt.NewServiceClient(context.Background(), append([]ServiceOption{WithAPIKey(keyA), WithBaseURL(url)}, opts...)...)
	require.NoError(t, err)
	return svc
}

func TestCheckServerIDAcceptsRealIDs(t *testing.T) {
	e := newEnv(t, nil)
	svc := e.service(t)
	for _, id := range []string{"3f1c2a9e-6b1d-4c1e-9f7a-1b2c3d4e5f60", "sess-1:train:0", "sampler_42", "a"} {
		assert.NoError(t, checkServerID(svc.http, "op", "id", id), id)
	}
	for _, id := range []string{strings.Repeat("a", 513), "a b", "a\x00b", "a\nb", "\xff", "tml-" + strings.Repeat("z", 20)} {
		assert.Error(t, checkServerID(svc.http, "op", "id", id), "%q", id)
	}
}

// A submit whose answer is refused (no request_id, or one carrying a
// credential) reached the server: its seq_id is not lost, and the next
// operation runs instead of failing with ErrSeqGap.
func TestRefusedSubmitAnswerLosesNoSeqID(t *testing.T) {
	e := newEnv(t, nil)
	hostile := newIDRewriter(t, e.srv.URL(), "/api/v1/optim_step", "request_id", keyA)
	tc := trainer(t, serviceAt(t, e, hostile.srv.URL))
	_, err := tc.OptimStep(ctxT(t), types.DefaultAdamParams()).Result(ctxT(t))
	require.ErrorIs(t, err, types.ErrValidation)
	_, err = tc.ForwardBackward(ctxT(t), []types.Datum{datum(t, 1, 2)}, types.LossCrossEntropy, nil).Result(ctxT(t))
	require.NoError(t, err, "no seq gap: the refused answer's submit reached the server")
}

// A base URL with the key (or a credential-shaped string) pasted into it
// would carry it into every event, log line and tree dump: refused, and the
// error does not quote it. A host that merely starts with "tml-" passes.
func TestBaseURLHoldingTheKeyIsRefused(t *testing.T) {
	none := func(string) string { return "" }
	for _, u := range []string{"https://api.example/" + keyA, "https://api.example/v1/x" + keyA + "/y", "https://api.example/tml-pasted-by-mistake-0123"} {
		_, err := resolve([]ServiceOption{WithAPIKey(keyA), WithBaseURL(u)}, getenvLookup(none))
		require.ErrorIs(t, err, types.ErrValidation, u)
		assert.NotContains(t, err.Error(), keyA[:12])
		assert.NotContains(t, err.Error(), "tml-pasted")
	}
	c, err := resolve([]ServiceOption{WithAPIKey(keyA), WithBaseURL("https://tml-gateway.example/services/tinker")}, getenvLookup(none))
	require.NoError(t, err)
	assert.Equal(t, "https://tml-gateway.example/services/tinker", c.baseURL)
}

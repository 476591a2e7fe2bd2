package tinkex

import (
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tinkex-go/tinkex/types"
)

// resultRewriter replaces the completed result of polls of one request type
// with a fixed JSON body, once armed (a server that answers malformed
// results).
type resultRewriter struct {
	requestType string
	body        atomic.Pointer[string]
}

func (rw *resultRewriter) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	b := rw.body.Load()
	if err != nil || b == nil || !strings.HasSuffix(r.URL.Path, "/retrieve_future") ||
		r.Header.Get("X-Tinker-Request-Type") != rw.requestType || resp.StatusCode != 200 {
		return resp, err
	}
	orig, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		return nil, err
	}
	if strings.Contains(string(orig), `"try_again"`) || strings.Contains(string(orig), `"complete_metadata"`) {
		resp.Body = io.NopCloser(strings.NewReader(string(orig)))
		return resp, nil
	}
	resp.Header.Set("Content-Type", "application/json")
	resp.Header.Del("Content-Length")
	resp.ContentLength = int64(len(*b))
	resp.Body = io.NopCloser(strings.NewReader(*b))
	return resp, nil
}

// A completed result that does not answer the request (no sequences for
// num_samples=1, no loss outputs for one datum) is a KindValidation error
// with the future's request id, not an empty success.
func TestMalformedResultsAreNotSuccess(t *testing.T) {
	for _, body := range []string{`{}`, `{"sequences":null}`, `{"sequences":[]}`} {
		t.Run("sample "+body, func(t *testing.T) {
			e := newEnv(t, nil)
			rw := &resultRewriter{requestType: "Sample"}
			hc := &http.Client{Transport: rw}
			t.Cleanup(hc.CloseIdleConnections)
			svc := e.service(t, WithHTTPClient(hc))
			sc := sampler(t, e, svc)
			rw.body.Store(&body)
			resp, err := sc.Sample(ctxT(t), prompt, 1, types.DefaultSamplingParams())
			assert.Nil(t, resp)
			require.ErrorIs(t, err, types.ErrValidation)
			var te *types.Error
			require.ErrorAs(t, err, &te)
			assert.NotEmpty(t, te.RequestID)
			assert.Contains(t, err.Error(), "0 sequences for num_samples=1")
		})
	}
	t.Run("forward_backward without loss outputs", func(t *testing.T) {
		e := newEnv(t, nil)
		rw := &resultRewriter{requestType: "ForwardBackward"}
		hc := &http.Client{Transport: rw}
		t.Cleanup(hc.CloseIdleConnections)
		svc := e.service(t, WithHTTPClient(hc))
		tc := trainer(t, svc)
		body := `{"loss_fn_output_type":"cross_entropy","loss_fn_outputs":[],"metrics":{"loss:sum":1}}`
		rw.body.Store(&body)
		f := tc.ForwardBackward(ctxT(t), []types.Datum{datum(t, 1, 2, 3)}, types.LossCrossEntropy)
		out, err := f.Result(ctxT(t))
		assert.Nil(t, out)
		require.ErrorIs(t, err, types.ErrValidation)
		var te *types.Error
		require.ErrorAs(t, err, &te)
		assert.Equal(t, f.RequestID(), te.RequestID)
		assert.Contains(t, err.Error(), "0 loss function outputs for 1 datums")
	})
}

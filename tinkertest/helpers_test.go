package tinkertest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	keyA = "tml-key-a-0123456789"
	keyB = "tml-key-b-0123456789"
)

// tc is a plain net/http client for one key.
type tc struct {
	t    *testing.T
	srv  *Server
	key  string
	http *http.Client
}

func newServer(t *testing.T, opts ...Option) *Server {
	t.Helper()
	srv := NewServer(opts...)
	t.Cleanup(srv.Close)
	return srv
}

func client(t *testing.T, srv *Server, key string) *tc {
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return &tc{t: t, srv: srv, key: key, http: &http.Client{Transport: tr}}
}

type resp struct {
	status int
	header http.Header
	body   []byte
}

func (r resp) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(r.body, &m), "body: %s", r.body)
	return m
}

func (c *tc) do(method, endpoint string, body []byte, hdr map[string]string) resp {
	c.t.Helper()
	r, err := c.try(method, endpoint, body, hdr)
	require.NoError(c.t, err)
	return r
}

// try is do without assertions, for use off the test goroutine.
func (c *tc) try(method, endpoint string, body []byte, hdr map[string]string) (resp, error) {
	req, err := http.NewRequest(method, c.srv.URL()+"/api/v1/"+endpoint, bytes.NewReader(body))
	if err != nil {
		return resp{}, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.key != "" {
		req.Header.Set("X-API-Key", c.key)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := c.http.Do(req)
	if err != nil {
		return resp{}, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return resp{status: res.StatusCode, header: res.Header, body: b}, err
}

func (c *tc) post(endpoint string, body any) resp {
	c.t.Helper()
	b, err := json.Marshal(body)
	require.NoError(c.t, err)
	return c.do(http.MethodPost, endpoint, b, nil)
}

func (c *tc) get(endpoint string) resp {
	c.t.Helper()
	return c.do(http.MethodGet, endpoint, nil, nil)
}

// ok posts and requires 200, returning the JSON body.
func (c *tc) ok(endpoint string, body any) map[string]any {
	c.t.Helper()
	r := c.post(endpoint, body)
	require.Equal(c.t, http.StatusOK, r.status, "%s: %s", endpoint, r.body)
	return r.json(c.t)
}

func (c *tc) session() string {
	c.t.Helper()
	m := c.ok(EndpointCreateSession, map[string]any{"tags": []string{}, "user_metadata": map[string]any{},
		"sdk_version": "0.25.0", "type": "create_session"})
	return m["session_id"].(string)
}

// poll retrieves a future once with the given Accept.
func (c *tc) poll(id string, metaOnly bool, accept string) resp {
	c.t.Helper()
	b, _ := json.Marshal(map[string]any{"request_id": id, "allow_metadata_only": metaOnly})
	return c.do(http.MethodPost, EndpointRetrieveFuture, b, map[string]string{"Accept": accept})
}

// result polls until the future is not try_again (the server's work is
// done at once by default, so this takes one poll).
func (c *tc) result(id string) map[string]any {
	c.t.Helper()
	for i := 0; i < 100; i++ {
		r := c.poll(id, false, "application/json")
		require.Equal(c.t, http.StatusOK, r.status, "%s", r.body)
		m := r.json(c.t)
		if m["type"] != "try_again" {
			return m
		}
	}
	c.t.Fatalf("future %s never finished", id)
	return nil
}

func (c *tc) model(sid string, n int) string {
	c.t.Helper()
	m := c.ok(EndpointCreateModel, createModelBody(sid, n))
	res := c.result(m["request_id"].(string))
	return res["model_id"].(string)
}

func createModelBody(sid string, n int) map[string]any {
	return map[string]any{"session_id": sid, "model_seq_id": n, "base_model": "meta-llama/Llama-3.2-1B",
		"lora_config": map[string]any{"rank": 8, "train_unembed": true, "train_mlp": true, "train_attn": true},
		"type":        "create_model"}
}

func adam(lr float64) map[string]any {
	return map[string]any{"learning_rate": lr, "beta1": 0.9, "beta2": 0.95, "eps": 1e-12, "weight_decay": 0.0, "grad_clip_norm": 0.0}
}

func optimBody(model string, seq int, lr float64) map[string]any {
	return map[string]any{"adam_params": adam(lr), "model_id": model, "seq_id": seq, "type": "optim_step"}
}

func textInput(toks ...int) map[string]any {
	return map[string]any{"chunks": []any{map[string]any{"type": "encoded_text", "tokens": toks}}}
}

func sampleBody(sampler string, seq int, prompt []int, maxTokens int) map[string]any {
	sp := map[string]any{"temperature": 1.0, "top_k": -1, "top_p": 1.0}
	if maxTokens > 0 {
		sp["max_tokens"] = maxTokens
	}
	return map[string]any{"sampling_session_id": sampler, "seq_id": seq, "num_samples": 1, "prompt": textInput(prompt...),
		"sampling_params": sp, "prompt_logprobs": false, "topk_prompt_logprobs": 0, "type": "sample"}
}

func (c *tc) sampler(sid string, n int) string {
	c.t.Helper()
	m := c.ok(EndpointCreateSamplingSession, map[string]any{"session_id": sid, "sampling_session_seq_id": n,
		"base_model": "meta-llama/Llama-3.2-1B", "type": "create_sampling_session"})
	return m["sampling_session_id"].(string)
}

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }

type atomicCounter struct{ n atomic.Int64 }

func (c *atomicCounter) next() int64 { return c.n.Add(1) - 1 }

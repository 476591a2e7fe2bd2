package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tinkex-go/tinkex/tinkertest"
)

func TestFaultTransport(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.URL.Path)
		mu.Unlock()
		_, _ = io.WriteString(w, `{"request_id":"r1"}`)
	}))
	defer srv.Close()
	ft := &faultTransport{next: http.DefaultTransport.(*http.Transport).Clone()}
	defer ft.next.(*http.Transport).CloseIdleConnections()
	hc := &http.Client{Transport: ft}
	ft.inject(tinkertest.Fault{Key: "tml-a", Endpoint: tinkertest.EndpointAsample, Status: 429, RetryAfterMs: "1000", Times: 2})
	ft.inject(tinkertest.Fault{Key: "tml-a", Endpoint: tinkertest.EndpointOptimStep, Status: 400, Body: `{"category":"user"}`, Times: 1})

	post := func(key, path string) (int, string, http.Header) {
		req, err := http.NewRequest(http.MethodPost, srv.URL+path, strings.NewReader("{}"))
		require.NoError(t, err)
		req.Header.Set("X-API-Key", key)
		res, err := hc.Do(req)
		require.NoError(t, err)
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		require.NoError(t, err)
		return res.StatusCode, string(b), res.Header
	}
	status, _, h := post("tml-a", "/api/v1/asample")
	assert.Equal(t, 429, status)
	assert.Equal(t, "1000", h.Get("retry-after-ms"))
	status, _, _ = post("tml-b", "/api/v1/asample")
	assert.Equal(t, 200, status, "another key is untouched")
	status, _, _ = post("tml-a", "/api/v1/asample")
	assert.Equal(t, 429, status)
	status, _, _ = post("tml-a", "/api/v1/asample")
	assert.Equal(t, 200, status, "Times is respected")

	status, body, _ := post("tml-a", "/api/v1/optim_step")
	assert.Equal(t, 400, status)
	assert.JSONEq(t, `{"category":"user"}`, body)
	status, _, _ = post("tml-a", "/api/v1/optim_step")
	assert.Equal(t, 200, status)

	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, []string{"/api/v1/asample", "/api/v1/asample", "/api/v1/optim_step", "/api/v1/optim_step"}, seen,
		"faulted asamples are not sent; a faulted training submit is sent and its answer replaced")
}

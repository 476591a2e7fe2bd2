package main

import (
	"io"
	"net/http"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestServeMetrics(t *testing.T) {
	d := &demo{reg: prometheus.NewRegistry()}
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "demo_test_total", Help: "test"})
	require.NoError(t, d.reg.Register(c))
	c.Add(3)
	addr, stop, err := d.serveMetrics("127.0.0.1:0")
	require.NoError(t, err)
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	res, err := client.Get("http://" + addr + "/metrics")
	require.NoError(t, err)
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, res.StatusCode)
	assert.Contains(t, string(body), "demo_test_total 3")
	stop()
	_, err = client.Get("http://" + addr + "/metrics")
	assert.Error(t, err, "stopped with the run")

	_, _, err = d.serveMetrics("not an address")
	assert.ErrorContains(t, err, "-metrics-addr")
}

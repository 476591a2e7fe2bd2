package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestRunPrintsURLAndStops(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	errc := make(chan error, 1)
	go func() {
		errc <- run(ctx, []string{"-addr", "127.0.0.1:0", "-keys", "tml-only", "-hold", "10ms"}, pw, io.Discard)
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	require.NoError(t, err)
	base := strings.TrimSpace(line)
	require.True(t, strings.HasPrefix(base, "http://127.0.0.1:"), base)

	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr}
	res, err := hc.Get(base + "/api/v1/healthz")
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, http.StatusOK, res.StatusCode)

	req, _ := http.NewRequest(http.MethodGet, base+"/api/v1/get_server_capabilities", nil)
	req.Header.Set("X-API-Key", "tml-other")
	res, err = hc.Do(req)
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, http.StatusUnauthorized, res.StatusCode, "-keys restricts the accepted keys")

	cancel()
	require.NoError(t, <-errc)
	_, err = hc.Get(base + "/api/v1/healthz")
	assert.Error(t, err, "stopped")
}

func TestRunRejectsBadFlags(t *testing.T) {
	assert.Error(t, run(context.Background(), []string{"-nope"}, io.Discard, io.Discard))
	assert.Error(t, run(context.Background(), []string{"-addr", "not-an-addr"}, io.Discard, io.Discard))
}

func TestControlInjectsFaultsAndReportsInFlight(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	errc := make(chan error, 1)
	go func() {
		errc <- run(ctx, []string{"-addr", "127.0.0.1:0", "-control", "127.0.0.1:0"}, pw, io.Discard)
		pw.Close()
	}()
	rd := bufio.NewReader(pr)
	base, err := rd.ReadString('\n')
	require.NoError(t, err)
	ctl, err := rd.ReadString('\n')
	require.NoError(t, err)
	base, ctl = strings.TrimSpace(base), strings.TrimSpace(ctl)
	go func() { _, _ = io.Copy(io.Discard, rd) }()

	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr}
	res, err := hc.Post(ctl+"/faults", "application/json", strings.NewReader(`{"Key":"tml-ctl","Endpoint":"get_server_capabilities","Status":429,"RetryAfter":"3"}`))
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
	req, _ := http.NewRequest(http.MethodGet, base+"/api/v1/get_server_capabilities", nil)
	req.Header.Set("X-API-Key", "tml-ctl")
	res, err = hc.Do(req)
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, http.StatusTooManyRequests, res.StatusCode)
	assert.Equal(t, "3", res.Header.Get("Retry-After"))

	res, err = hc.Get(ctl + "/inflight?key=tml-ctl&endpoint=get_server_capabilities")
	require.NoError(t, err)
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	assert.JSONEq(t, `{"now":0,"peak":1}`, string(body))
	res, err = hc.Get(ctl + "/count?key=tml-ctl&status=429")
	require.NoError(t, err)
	body, _ = io.ReadAll(res.Body)
	res.Body.Close()
	assert.JSONEq(t, `{"count":1}`, string(body))

	cancel()
	require.NoError(t, <-errc)
}

func TestRunServesTLSWithHTTP2AndWritesTheCertificate(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	certFile := filepath.Join(t.TempDir(), "fake.pem")
	pr, pw := io.Pipe()
	errc := make(chan error, 1)
	go func() {
		errc <- run(ctx, []string{"-addr", "127.0.0.1:0", "-tls", "-cert", certFile}, pw, io.Discard)
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	require.NoError(t, err)
	base := strings.TrimSpace(line)
	require.True(t, strings.HasPrefix(base, "https://127.0.0.1:"), base)

	pemBytes, err := os.ReadFile(certFile)
	require.NoError(t, err)
	roots := x509.NewCertPool()
	require.True(t, roots.AppendCertsFromPEM(pemBytes), "the file holds a PEM certificate")
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}, ForceAttemptHTTP2: true}
	defer tr.CloseIdleConnections()
	res, err := (&http.Client{Transport: tr}).Get(base + "/api/v1/healthz")
	require.NoError(t, err, "the written certificate is the one served")
	res.Body.Close()
	assert.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, 2, res.ProtoMajor, "HTTP/2, as the production service")

	cancel()
	require.NoError(t, <-errc)
}

func TestRunRefusesCertWithoutTLS(t *testing.T) {
	err := run(context.Background(), []string{"-cert", filepath.Join(t.TempDir(), "x.pem")}, io.Discard, io.Discard)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "-cert needs -tls")
}

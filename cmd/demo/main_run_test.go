package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/tinkex-go/tinkex/types"
)

// Against a real server without -yes and without a terminal, the demo says
// what it would do, sends nothing and exits 2; the key itself is never
// printed, only its fingerprint.
func TestRealServerNeedsConfirmation(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hits.Add(1) }))
	defer srv.Close()
	const key = "tml-a-real-looking-key-0123456789"
	var stdout, stderr bytes.Buffer
	code := mainCode(context.Background(), []string{"-base-url", srv.URL}, env(map[string]string{envAPIKey: key}),
		strings.NewReader(""), &stdout, &stderr, false, nil)
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr.String(), "WARNING: this run talks to a real Tinker server")
	assert.Contains(t, stderr.String(), "pass -yes")
	assert.Contains(t, stderr.String(), types.KeyFingerprint(key))
	assert.NotContains(t, stderr.String()+stdout.String(), key)
	assert.Zero(t, hits.Load(), "nothing was sent")

	stderr.Reset()
	code = mainCode(context.Background(), []string{"-base-url", srv.URL}, env(map[string]string{envAPIKey: key}),
		strings.NewReader("n\n"), &stdout, &stderr, true, nil)
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr.String(), "Continue? [y/N]")
	assert.Contains(t, stderr.String(), errDeclined.Error())
	assert.Zero(t, hits.Load())
}

func TestUsageErrorsExit2(t *testing.T) {
	var stdout, stderr bytes.Buffer
	assert.Equal(t, 2, mainCode(context.Background(), []string{"-duration", "-1s"}, noEnv, strings.NewReader(""), &stdout, &stderr, false, nil))
	assert.Contains(t, stderr.String(), "-duration must be positive")
	assert.Equal(t, 0, mainCode(context.Background(), []string{"-h"}, noEnv, strings.NewReader(""), &stdout, &stderr, false, nil))
}

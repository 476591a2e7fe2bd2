package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A hostile server whose run list names an owner made of the key and a
// terminal escape sequence: neither reaches the table, the JSON output or
// the error line.
func TestServerTextIsCleanedForTheTerminal(t *testing.T) {
	w := newWorld(t)
	target, err := url.Parse(w.srv.URL())
	require.NoError(t, err)
	evil := "x" + key + "\x1b]0;pwned\x07\tforged\nrow"
	lit, err := json.Marshal(evil)
	require.NoError(t, err)
	encoded := string(lit)
	proxy := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) { pr.SetURL(target); pr.Out.Host = target.Host },
		ModifyResponse: func(resp *http.Response) error {
			if resp.Request.URL.Path != "/api/v1/training_runs" {
				return nil
			}
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				return err
			}
			out := bytes.Replace(body, []byte(`"model_owner":"`), []byte(`"model_owner":`+encoded[:len(encoded)-1]), 1)
			resp.Body = io.NopCloser(bytes.NewReader(out))
			resp.ContentLength = int64(len(out))
			resp.Header.Set("Content-Length", strconv.Itoa(len(out)))
			return nil
		},
	}
	hostile := httptest.NewServer(proxy)
	defer hostile.Close()
	o := runOpts{env: map[string]string{envBaseURL: hostile.URL}}

	r := exec(t, w, o, "run", "list") // exec asserts the key is not printed
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "[REDACTED:", "the owner is shown, redacted")
	assert.NotContains(t, r.stdout, "\x1b")
	assert.NotContains(t, r.stdout, "\nrow", "no forged row")
	assert.Equal(t, 3, strings.Count(r.stdout, "\n"), "title, header, one row: %q", r.stdout)

	r = exec(t, w, o, "run", "list", "--json")
	require.Equal(t, 0, r.code, r.stderr)
	assert.NotContains(t, r.stdout, "\x1b")
	assert.Contains(t, r.stdout, "[REDACTED:")
}

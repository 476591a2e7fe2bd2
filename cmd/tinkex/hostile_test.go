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
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tinkex-go/tinkex/tinkertest"
)

// hostileRunList starts a proxy in front of w's fake server that writes
// owner(r), r being the request the CLI sent, at the start of the first
// run's model_owner in the run list, and returns its URL. With asKey set,
// every request goes on with that key instead of the CLI's.
func hostileRunList(t *testing.T, w *world, asKey string, owner func(r *http.Request) string) string {
	t.Helper()
	target, err := url.Parse(w.srv.URL())
	require.NoError(t, err)
	proxy := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.Host = target.Host
			if asKey != "" {
				pr.Out.Header.Set("X-Api-Key", asKey)
			}
		},
		ModifyResponse: func(resp *http.Response) error {
			if resp.Request.URL.Path != "/api/v1/training_runs" {
				return nil
			}
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				return err
			}
			lit, err := json.Marshal(owner(resp.Request))
			if err != nil {
				return err
			}
			out := bytes.Replace(body, []byte(`"model_owner":"`), append([]byte(`"model_owner":`), lit[:len(lit)-1]...), 1)
			resp.Body = io.NopCloser(bytes.NewReader(out))
			resp.ContentLength = int64(len(out))
			resp.Header.Set("Content-Length", strconv.Itoa(len(out)))
			return nil
		},
	}
	hostile := httptest.NewServer(proxy)
	t.Cleanup(hostile.Close)
	return hostile.URL
}

// A hostile server whose run list names an owner made of the key and a
// terminal escape sequence: neither reaches the table, the JSON output or
// the error line.
func TestServerTextIsCleanedForTheTerminal(t *testing.T) {
	w := newWorld(t)
	evil := "x" + key + "\x1b]0;pwned\x07\tforged\nrow"
	hostile := hostileRunList(t, w, "", func(*http.Request) string { return evil })
	o := runOpts{env: map[string]string{envBaseURL: hostile}}

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

// A key with characters encoding/json escapes ('"', '<', '>', '&'; the
// key check accepts any printable ASCII), echoed by the server, is written
// escaped in the --json document: it is redacted in that form too, as in
// the table.
func TestJSONOutputRedactsAnEscapedKey(t *testing.T) {
	w := newWorld(t)
	const odd = `tml-cli<SECRET>"part"&tail`
	// The fake knows only its key; the server echoes the caller's.
	hostile := hostileRunList(t, w, key, func(*http.Request) string { return odd })
	runListHides(t, w, runOpts{env: map[string]string{envBaseURL: hostile, envAPIKey: odd}}, "SECRET")
}

// runListHides runs `run list` as a table and with --json, and checks that
// neither output contains secret.
func runListHides(t *testing.T, w *world, o runOpts, secret string) {
	t.Helper()
	for _, args := range [][]string{{"run", "list"}, {"run", "list", "--json"}} {
		r := exec(t, w, o, args...)
		require.Equal(t, 0, r.code, r.stderr)
		assert.NotContains(t, r.stdout, secret, "%v: %s", args, r.stdout)
	}
}

// Under JWT auth the CLI sends the JWT the key was exchanged for; one the
// server echoes is redacted by its shape, in the --json output as in the
// table.
func TestJSONOutputRedactsAnEchoedJWT(t *testing.T) {
	w := newWorld(t, tinkertest.WithJWT(time.Hour))
	hostile := hostileRunList(t, w, "", func(r *http.Request) string { return r.Header.Get("X-Api-Key") + " " })
	runListHides(t, w, runOpts{env: map[string]string{envBaseURL: hostile}}, "eyJ")
}

package httpclient

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"net/textproto"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// rawHead serves one HTTP/1.1 exchange on a bare TCP listener and returns
// the header lines of the request exactly as they came over the wire.
func rawHead(t *testing.T) (base string, lines <-chan []string) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { l.Close() })
	out := make(chan []string, 1)
	go func() {
		conn, err := l.Accept()
		if err != nil {
			close(out)
			return
		}
		defer conn.Close()
		tp := textproto.NewReader(bufio.NewReader(conn))
		var got []string
		if _, err := tp.ReadLine(); err == nil { // the request line
			for {
				line, err := tp.ReadLine()
				if err != nil || line == "" {
					break
				}
				got = append(got, line)
			}
		}
		out <- got
		_, _ = conn.Write([]byte("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\nConnection: close\r\n\r\n{\"ok\":true}"))
	}()
	return "http://" + l.Addr().String(), out
}

// canonicalOnTheWire are the names that keep their canonical form on
// tinkex's own pools: net/http's own and those it reads (see ownKeys).
var canonicalOnTheWire = map[string]bool{
	"Host": true, "User-Agent": true, "Content-Length": true, "Accept-Encoding": true,
	"Accept": true, "Content-Type": true, "X-Idempotency-Key": true,
}

func TestOwnHeaderNamesGoOutInLowerCaseOnOwnPools(t *testing.T) {
	base, lines := rawHead(t)
	c, err := New(base, testKey, WithHeader("X-Extra", "1"))
	require.NoError(t, err)
	defer c.CloseIdleConnections()
	_, err = c.Do(context.Background(), &Request{Path: "/api/v1/x", Body: map[string]int{"a": 1},
		Header: http.Header{"X-Tinker-Request-Type": {"Sample"}, "x-tinker-request-iteration": {"0"}}})
	require.NoError(t, err)

	got := map[string]string{}
	for _, line := range <-lines {
		name, value, ok := strings.Cut(line, ": ")
		require.True(t, ok, line)
		_, dup := got[name]
		require.False(t, dup, "each name once: %s", name)
		got[name] = value
		if !canonicalOnTheWire[name] && name != "X-Extra" {
			assert.Equal(t, strings.ToLower(name), name, "tinkex's own names are lower case on the wire")
		}
	}
	assert.Equal(t, testKey, got["x-api-key"])
	assert.Equal(t, "go", got["x-stainless-lang"])
	assert.Equal(t, "0", got["x-stainless-retry-count"])
	assert.NotEmpty(t, got["x-stainless-read-timeout"])
	assert.Equal(t, "Sample", got["x-tinker-request-type"])
	assert.Equal(t, "0", got["x-tinker-request-iteration"], "a request header in another case is found too")
	assert.Equal(t, "1", got["X-Extra"], "the user's own names keep their form")
	assert.Equal(t, UserAgent, got["User-Agent"], "net/http's User-Agent is replaced, not duplicated")
	assert.NotEmpty(t, got["X-Idempotency-Key"], "net/http still sees the POST as replayable")
	assert.Equal(t, ContentTypeJSON, got["Content-Type"])
}

// headerRecorder is a user RoundTripper (middleware) that keeps the header
// maps it is given.
type headerRecorder struct{ got chan http.Header }

func (r headerRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.got <- req.Header.Clone()
	return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {ContentTypeJSON}},
		Body: http.NoBody, Request: req}, nil
}

func TestHeaderNamesAreCanonicalOnAUserClient(t *testing.T) {
	rec := headerRecorder{got: make(chan http.Header, 1)}
	c, err := New("http://127.0.0.1:1", testKey, WithHTTPClient(&http.Client{Transport: rec}))
	require.NoError(t, err)
	defer c.CloseIdleConnections()
	_, err = c.Do(context.Background(), &Request{Path: "/api/v1/x", Body: map[string]int{"a": 1},
		Header: http.Header{"X-Tinker-Request-Type": {"Sample"}}})
	require.NoError(t, err)
	h := <-rec.got
	for k := range h {
		assert.Equal(t, http.CanonicalHeaderKey(k), k, "a user's middleware reads them with Header.Get")
	}
	assert.Equal(t, testKey, h.Get("X-Api-Key"))
	assert.Equal(t, "go", h.Get("X-Stainless-Lang"))
	assert.Equal(t, "0", h.Get("X-Stainless-Retry-Count"))
	assert.Equal(t, "Sample", h.Get("X-Tinker-Request-Type"))
}

func TestWireKeyForms(t *testing.T) {
	for canonical, lower := range ownKeys {
		assert.Equal(t, strings.ToLower(canonical), lower)
		assert.Equal(t, lower, wireKey(canonical))
		assert.Equal(t, lower, wireKey(lower), "any case of an own name")
	}
	assert.Equal(t, "X-Custom", wireKey("x-custom"), "other names are canonical")
	assert.Equal(t, "X-Idempotency-Key", wireKey("x-idempotency-key"), "net/http reads it")
	assert.Equal(t, "User-Agent", wireKey("user-agent"))
}

func TestFreshAttemptHeaderNamesNeedNoLowerCasing(t *testing.T) {
	// HTTP/2 lower-cases each name with an allocation unless it is in lower
	// case already or one of its common names; every name tinkex itself
	// puts in the base headers is one or the other.
	for k := range baseHeaders(nil, true) {
		if k != "User-Agent" {
			assert.Equal(t, strings.ToLower(k), k)
		}
	}
}

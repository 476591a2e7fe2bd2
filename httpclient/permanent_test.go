package httpclient

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tinkex-go/tinkex/types"
)

// Failures that recur on every attempt are not retried: one attempt, a
// KindValidation error that says why, no backoff.
func TestPermanentTransportFailuresAreNotRetried(t *testing.T) {
	tlsSrv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"ok":true}`))
	}))
	t.Cleanup(tlsSrv.Close)
	plain := newScript(t, reply{body: `{"ok":true}`})

	for _, tc := range []struct {
		name, want string
		setup      func(t *testing.T) (*Client, *delays)
		path       string
	}{
		{name: "untrusted certificate", want: "certificate failed verification", setup: func(t *testing.T) (*Client, *delays) {
			d := &delays{}
			c, err := New(tlsSrv.URL, testKey, withSleep(d.sleep))
			require.NoError(t, err)
			t.Cleanup(c.CloseIdleConnections)
			return c, d
		}},
		{name: "TLS to a plain HTTP server", want: "does not speak TLS", setup: func(t *testing.T) (*Client, *delays) {
			d := &delays{}
			c, err := New("https://"+plain.srv.Listener.Addr().String(), testKey, withSleep(d.sleep))
			require.NoError(t, err)
			t.Cleanup(c.CloseIdleConnections)
			return c, d
		}},
		{name: "invalid header value", want: "invalid header", setup: func(t *testing.T) (*Client, *delays) {
			return newClient(t, plain, WithHeader("X-Custom", "a\nb"))
		}},
		{name: "credential with a control character", want: "invalid header", setup: func(t *testing.T) (*Client, *delays) {
			c, d := newClient(t, plain)
			c.SetCredential("eyJhbGciOi\x00") // a hostile auth/token answer
			return c, d
		}},
		{name: "unsupported scheme", want: "unsupported protocol scheme", setup: func(t *testing.T) (*Client, *delays) {
			c, d := newClient(t, plain)
			c.baseURL = "ftp://" + plain.srv.Listener.Addr().String()
			return c, d
		}},
		{name: "URL that does not parse", want: "does not parse", path: "/api/v1/%zz", setup: func(t *testing.T) (*Client, *delays) {
			return newClient(t, plain)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, d := tc.setup(t)
			path := tc.path
			if path == "" {
				path = "/api/v1/x"
			}
			before := plain.count()
			_, err := c.Do(t.Context(), &Request{Op: "test", Path: path, Body: map[string]int{"a": 1}})
			require.Error(t, err)
			assert.ErrorIs(t, err, types.ErrValidation)
			assert.False(t, types.IsRetryable(err))
			var e *types.Error
			require.ErrorAs(t, err, &e)
			assert.Equal(t, 1, e.Attempts, "one attempt, no retries")
			assert.Empty(t, d.all(), "no backoff")
			assert.Contains(t, err.Error(), tc.want)
			assert.Contains(t, err.Error(), "not retried")
			assert.NotContains(t, err.Error(), testKey)
			assert.Equal(t, before, plain.count(), "no request reached the server")
		})
	}
}

// A transient transport failure is still retried.
func TestConnectionRefusedIsStillRetried(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	d := &delays{}
	c, err := New(url, testKey, withSleep(d.sleep), WithMaxRetries(2))
	require.NoError(t, err)
	_, err = c.Do(t.Context(), &Request{Path: "/api/v1/x"})
	assert.ErrorIs(t, err, types.ErrConnection)
	assert.Len(t, d.all(), 2)
}

package httpclient

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tinkex-go/tinkex/types"
)

// A body cut short (the server promised more bytes than it sent) is a
// transport failure: retried, and a Connection error when retries run out.
func TestTruncatedBodyIsRetriedAsConnectionError(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		if n == 1 || r.URL.Path == "/api/v1/always" {
			w.Header().Set("Content-Length", strconv.Itoa(100))
			w.WriteHeader(200)
			_, _ = w.Write([]byte(`{"ok":`))
			return // the handler returns early: net/http closes the connection
		}
		_, _ = w.Write([]byte(`{"ok":true}`))
	}))
	defer srv.Close()
	d := &delays{}
	c, err := New(srv.URL, testKey, withSleep(d.sleep))
	require.NoError(t, err)
	defer c.CloseIdleConnections()

	var out okBody
	resp, err := c.Do(t.Context(), &Request{Path: "/api/v1/x", Into: JSONInto(&out)})
	require.NoError(t, err)
	assert.True(t, out.OK)
	assert.Equal(t, 2, resp.Attempts)

	_, err = c.Do(t.Context(), &Request{Path: "/api/v1/always", Policy: Policy{MaxRetries: Retries(1)}})
	assert.ErrorIs(t, err, types.ErrConnection)
}

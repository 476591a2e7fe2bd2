package httpclient

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tinkex-go/tinkex/types"
)

// thirdParty is a second origin that records whatever reaches it.
type thirdParty struct {
	srv    *httptest.Server
	mu     sync.Mutex
	hits   int
	keys   []string
	bodies []string
}

func newThirdParty(t *testing.T) *thirdParty {
	t.Helper()
	tp := &thirdParty{}
	tp.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		tp.mu.Lock()
		tp.hits++
		tp.keys = append(tp.keys, r.Header.Get("X-Api-Key"))
		tp.bodies = append(tp.bodies, string(b))
		tp.mu.Unlock()
		_, _ = w.Write([]byte(`{"ok":true}`))
	}))
	t.Cleanup(tp.srv.Close)
	return tp
}

func (tp *thirdParty) seen() (int, []string, []string) {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	return tp.hits, tp.keys, tp.bodies
}

func TestRedirectsAreNeverFollowed(t *testing.T) {
	for _, status := range []int{301, 302, 303, 307, 308} {
		for _, user := range []bool{false, true} {
			name := http.StatusText(status)
			if user {
				name += "/user http.Client"
			}
			t.Run(name, func(t *testing.T) {
				tp := newThirdParty(t)
				loc := tp.srv.URL + "/steal/" + testKey + "?token=" + testKey
				s := newScript(t, reply{status: status, header: map[string]string{"Location": loc}})
				var opts []Option
				if user {
					hc := &http.Client{} // CheckRedirect nil: would follow up to 10 redirects
					opts = append(opts, WithHTTPClient(hc))
					t.Cleanup(hc.CloseIdleConnections)
					defer func() { assert.Nil(t, hc.CheckRedirect, "the user's client is not modified") }()
				}
				c, _ := newClient(t, s, opts...)
				_, err := post(c, Policy{})
				require.Error(t, err)

				hits, keys, bodies := tp.seen()
				assert.Zero(t, hits, "the second origin saw nothing (keys %v, bodies %v)", keys, bodies)
				assert.Equal(t, 1, s.count(), "sent once to the configured origin, not retried")
				assert.ErrorIs(t, err, types.ErrUser)
				assert.True(t, types.IsUserError(err))
				assert.False(t, types.IsRetryable(err))
				var e *types.Error
				require.ErrorAs(t, err, &e)
				assert.Equal(t, status, e.StatusCode)
				assert.Contains(t, err.Error(), http.StatusText(status))
				assert.Contains(t, err.Error(), tp.srv.URL+"/…", "the Location's origin is named")
				assert.NotContains(t, err.Error(), "/steal", "the Location's path is redacted")
				assert.NotContains(t, err.Error(), testKey)
				assert.NotContains(t, err.Error(), "tml-")
			})
		}
	}
}

func TestRedirectWithoutLocation(t *testing.T) {
	s := newScript(t, reply{status: 302})
	c, _ := newClient(t, s)
	_, err := post(c, Policy{})
	assert.ErrorIs(t, err, types.ErrUser)
	assert.Contains(t, err.Error(), "Location (none)")
}

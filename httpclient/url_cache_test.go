package httpclient

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Request URLs are built once per base URL and path in the process and
// shared by every Client: a hit allocates nothing, two base URLs never
// share an entry, and a full cache still gives the right URL.
func TestRequestURLsAreCachedPerBaseURLAndPath(t *testing.T) {
	a1, err := New("http://cache-a.example:8080", testKey)
	require.NoError(t, err)
	a2, err := New("http://cache-a.example:8080/", testKey)
	require.NoError(t, err)
	b, err := New("http://cache-b.example:8080", testKey)
	require.NoError(t, err)
	t.Cleanup(func() { a1.CloseIdleConnections(); a2.CloseIdleConnections(); b.CloseIdleConnections() })

	assert.Equal(t, "http://cache-a.example:8080/api/v1/asample", a1.url("/api/v1/asample"))
	assert.Equal(t, "http://cache-b.example:8080/api/v1/asample", b.url("/api/v1/asample"))
	m := *urlCache.m.Load()
	assert.Equal(t, "http://cache-a.example:8080/api/v1/asample", m[urlKey{a1.baseURL, "/api/v1/asample"}])
	assert.Equal(t, "http://cache-a.example:8080/api/v1/asample", a2.url("/api/v1/asample"), "a second Client of the base URL shares it")
	assert.Zero(t, testing.AllocsPerRun(100, func() { _ = a2.url("/api/v1/asample") }), "a hit allocates nothing")

	// Full: nothing more is cached, the URL is still right.
	full := make(map[urlKey]string, maxCachedRequestURLs)
	for k, v := range m {
		full[k] = v
	}
	for i := 0; len(full) < maxCachedRequestURLs; i++ {
		full[urlKey{"http://filler.example", string(rune('a'+i%26)) + string(rune(i))}] = "x"
	}
	saved := urlCache.m.Load()
	urlCache.m.Store(&full)
	t.Cleanup(func() { urlCache.m.Store(saved) })
	assert.Equal(t, "http://cache-b.example:8080/api/v1/never-cached", b.url("/api/v1/never-cached"))
	assert.Len(t, *urlCache.m.Load(), maxCachedRequestURLs)
	_, cached := (*urlCache.m.Load())[urlKey{b.baseURL, "/api/v1/never-cached"}]
	assert.False(t, cached)
}

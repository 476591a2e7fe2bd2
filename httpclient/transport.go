package httpclient

import (
	"net"
	"net/http"
	"sync"
	"time"
)

// DefaultPoolSizes are the per-host connection limits of each pool kind.
// Futures get the most: every in-flight future holds a long poll.
var DefaultPoolSizes = map[Pool]int{
	PoolTraining:  64,
	PoolSession:   8,
	PoolSampling:  512,
	PoolFutures:   1024,
	PoolTelemetry: 4,
}

// Transports hands out one *http.Client per {base URL, pool kind}, so pools
// are isolated from each other and shared by every Client of that base URL.
// Its clients never follow a redirect (see refuseRedirect).
// It is safe for concurrent use. The zero value is not usable; call
// NewTransports.
type Transports struct {
	mu    sync.Mutex
	sizes map[Pool]int
	m     map[transportKey]*http.Client
}

type transportKey struct {
	baseURL string
	pool    Pool
}

// NewTransports returns an empty set of pools. sizes overrides
// DefaultPoolSizes per pool kind (nil keeps the defaults).
func NewTransports(sizes map[Pool]int) *Transports {
	s := make(map[Pool]int, len(DefaultPoolSizes))
	for p, n := range DefaultPoolSizes {
		s[p] = n
	}
	for p, n := range sizes {
		if n > 0 {
			s[p] = n
		}
	}
	return &Transports{sizes: s, m: map[transportKey]*http.Client{}}
}

// Client returns the pool's *http.Client for a normalized base URL.
func (t *Transports) Client(baseURL string, p Pool) *http.Client {
	k := transportKey{baseURL, p}
	t.mu.Lock()
	defer t.mu.Unlock()
	if c, ok := t.m[k]; ok {
		return c
	}
	n := t.sizes[p]
	if n <= 0 {
		n = 64
	}
	tr := &http.Transport{
		Proxy: http.ProxyFromEnvironment,
		DialContext: (&net.Dialer{
			Timeout:   5 * time.Second,
			KeepAlive: 30 * time.Second,
		}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          n,
		MaxIdleConnsPerHost:   n,
		MaxConnsPerHost:       n,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	c := &http.Client{Transport: tr, CheckRedirect: refuseRedirect}
	t.m[k] = c
	return c
}

// CloseIdleConnections closes idle connections of every pool.
func (t *Transports) CloseIdleConnections() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, c := range t.m {
		c.CloseIdleConnections()
	}
}

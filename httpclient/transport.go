package httpclient

import (
	"crypto/tls"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tinkex-go/tinkex/types"
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
//
// A Client holds its base URL's pools through a Lease, resolved once when
// the Client is built, so a request takes no lock to find its pool. The
// pools of a base URL stay open while a Lease on them is held: releasing
// one Client's Lease never closes connections another Client is using, and
// the last Lease released closes the pools' idle connections.
//
// It is safe for concurrent use. The zero value is not usable; call
// NewTransports.
type Transports struct {
	mu    sync.Mutex // guards m and every poolSet's leases
	sizes map[Pool]int
	tls   *tls.Config         // TransportTLS; nil: Go's defaults
	m     map[string]*poolSet // by normalized base URL
}

// TransportOption configures NewTransports.
type TransportOption func(*Transports)

// TransportTLS makes every connection of the pools use a clone of cfg,
// e.g. RootCAs for a private certificate authority. The pools still try
// HTTP/2 (the protocol of the production service). The caller must not
// change cfg afterwards; see ValidateTLSConfig for what is refused.
func TransportTLS(cfg *tls.Config) TransportOption {
	return func(t *Transports) { t.tls = cfg }
}

// ValidateTLSConfig refuses a TLS configuration that would send the API key
// to whoever answers: InsecureSkipVerify without a VerifyConnection or
// VerifyPeerCertificate of its own. Add the server's certificate to RootCAs
// instead. A nil cfg is valid (Go's defaults).
func ValidateTLSConfig(cfg *tls.Config) error {
	if cfg != nil && cfg.InsecureSkipVerify && cfg.VerifyConnection == nil && cfg.VerifyPeerCertificate == nil {
		return types.ValidationError("tls", "InsecureSkipVerify without a verifier of its own would send the API key to any server; "+
			"add the server's certificate to RootCAs instead")
	}
	return nil
}

// poolSet is the pools of one base URL, one *http.Client per pool kind.
type poolSet struct {
	baseURL string
	clients [numPools]*http.Client
	leases  int // held Leases; guarded by Transports.mu
}

// NewTransports returns an empty set of pools. sizes overrides
// DefaultPoolSizes per pool kind (nil keeps the defaults).
func NewTransports(sizes map[Pool]int, opts ...TransportOption) *Transports {
	s := make(map[Pool]int, len(DefaultPoolSizes))
	for p, n := range DefaultPoolSizes {
		s[p] = n
	}
	for p, n := range sizes {
		if n > 0 {
			s[p] = n
		}
	}
	t := &Transports{sizes: s, m: map[string]*poolSet{}}
	for _, o := range opts {
		o(t)
	}
	return t
}

// Client returns the pool's *http.Client for a normalized base URL. An
// unknown pool kind gets the training pool.
func (t *Transports) Client(baseURL string, p Pool) *http.Client {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.setLocked(baseURL).clients[validPool(p)]
}

// Acquire returns a Lease on the pools of a normalized base URL. The
// holder calls Release once it sends no more requests.
func (t *Transports) Acquire(baseURL string) *Lease {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.setLocked(baseURL)
	s.leases++
	return &Lease{t: t, set: s}
}

func (t *Transports) setLocked(baseURL string) *poolSet {
	if s, ok := t.m[baseURL]; ok {
		return s
	}
	s := &poolSet{baseURL: baseURL}
	for p := range s.clients {
		s.clients[p] = t.newClient(Pool(p))
	}
	t.m[baseURL] = s
	return s
}

func (t *Transports) newClient(p Pool) *http.Client {
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
	if t.tls != nil {
		// A clone each: the transport adds its ALPN protocols to the
		// config it is given.
		tr.TLSClientConfig = t.tls.Clone()
	}
	return &http.Client{Transport: tr, CheckRedirect: refuseRedirect}
}

// CloseIdleConnections closes idle connections of every pool.
func (t *Transports) CloseIdleConnections() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, s := range t.m {
		s.closeIdle()
	}
}

func (s *poolSet) closeIdle() {
	for _, c := range s.clients {
		c.CloseIdleConnections()
	}
}

func validPool(p Pool) Pool {
	if p >= numPools {
		return PoolTraining
	}
	return p
}

// Lease is one holder's share of a base URL's pools (see Transports).
type Lease struct {
	t        *Transports
	set      *poolSet
	released atomic.Bool
}

// Client returns the pool's *http.Client, without a lock. An unknown pool
// kind gets the training pool.
func (l *Lease) Client(p Pool) *http.Client { return l.set.clients[validPool(p)] }

// Release gives the lease back. When it was the last lease on its base
// URL's pools, their idle connections are closed and the pools are
// forgotten (the next Acquire builds new ones); otherwise nothing is
// closed, so the other holders keep their connections. The pools' clients
// still work after Release. Releasing twice is harmless.
func (l *Lease) Release() {
	if l.released.Swap(true) {
		return
	}
	l.t.mu.Lock()
	l.set.leases--
	last := l.set.leases == 0
	if last && l.t.m[l.set.baseURL] == l.set {
		delete(l.t.m, l.set.baseURL)
	}
	l.t.mu.Unlock()
	if last {
		l.set.closeIdle()
	}
}

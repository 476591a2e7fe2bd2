package tinkex

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tinkex-go/tinkex/clock"
	"github.com/tinkex-go/tinkex/tinkertest"
	"github.com/tinkex-go/tinkex/types"
)

// With pjwt_auth_enabled the key is exchanged for a JWT, every later
// request carries the JWT, and the JWT is refreshed before it expires.
func TestJWTExchangeAndRefresh(t *testing.T) {
	fc := clock.NewFake(time.Now())
	e := newEnv(t, []tinkertest.Option{tinkertest.WithJWT(302 * time.Second)}, WithClock(fc))
	ctx := ctxT(t)
	svc := e.service(t)
	sc := sampler(t, e, svc)
	_, err := sc.Sample(ctx, prompt, 1, types.DefaultSamplingParams())
	require.NoError(t, err, "the server accepts only JWTs here")

	keyFP := types.KeyFingerprint(keyA)
	tokens := e.srv.Requests(tinkertest.Match{Endpoint: tinkertest.EndpointAuthToken})
	require.Len(t, tokens, 1)
	assert.Equal(t, keyFP, tokens[0].Header.Get("X-API-Key"), "the exchange is sent with the key itself")
	for _, r := range e.srv.Requests(tinkertest.Match{Endpoint: tinkertest.EndpointAsample}) {
		assert.NotEqual(t, keyFP, r.Header.Get("X-API-Key"), "later requests carry the JWT")
	}

	<-fc.BlockUntil(2) // the heartbeat timer and the refresh timer
	fc.Advance(3 * time.Second)
	require.Eventually(t, func() bool { return e.srv.CountEndpoint(tinkertest.EndpointAuthToken) == 2 }, 10*time.Second, time.Millisecond)
	_, err = sc.Sample(ctx, prompt, 1, types.DefaultSamplingParams())
	require.NoError(t, err)
}

func TestJWTExpiry(t *testing.T) {
	enc := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	tok := enc(`{"alg":"HS256"}`) + "." + enc(`{"exp":1700000000,"sub":"u"}`) + ".sig"
	assert.Equal(t, time.Unix(1700000000, 0), jwtExpiry(tok))
	assert.True(t, jwtExpiry("not-a-jwt").IsZero())
	assert.True(t, jwtExpiry(enc(`{}`)+"."+enc(`{"sub":"u"}`)+".s").IsZero())
	assert.True(t, jwtExpiry("a.!!!.c").IsZero())
}

// jwtEnv is a fake server in JWT mode with a JWT of ttl, and a runtime,
// both on one fake clock, heartbeats far apart and telemetry off: the only
// requests are the test's own. ttl 100 s puts the on-demand renewal (from
// 60 s before expiry: +40 s) before the background refresh (half the
// remaining life: +50 s), so the test alone decides who refreshes.
func jwtEnv(t *testing.T, ttl time.Duration) (*env, *clock.Fake) {
	t.Helper()
	fc := clock.NewFake(time.Unix(1_700_000_000, 0))
	e := newEnv(t, []tinkertest.Option{tinkertest.WithJWT(ttl), tinkertest.WithNow(fc.Now)},
		WithClock(fc), WithHeartbeatInterval(time.Hour))
	return e, fc
}

// credentialOf returns the X-API-Key fingerprint of the index-th request
// to endpoint.
func credentialOf(t *testing.T, srv *tinkertest.Server, endpoint string, index int) string {
	t.Helper()
	reqs := srv.Requests(tinkertest.Match{Endpoint: endpoint})
	require.Greater(t, len(reqs), index)
	return reqs[index].Header.Get("X-API-Key")
}

// A request about to go out with ≤ 60 s left on its JWT (the background
// refresh late, the machine asleep) has the JWT refreshed first: it
// carries the new JWT, sent after the one auth/token call.
func TestJWTRefreshedOnDemand(t *testing.T) {
	e, fc := jwtEnv(t, 100*time.Second)
	ctx := ctxT(t)
	svc := e.service(t, WithTelemetry(false))
	_, err := svc.GetServerCapabilities(ctx)
	require.NoError(t, err)
	old := credentialOf(t, e.srv, tinkertest.EndpointCapabilities, 0)
	require.NotEqual(t, types.KeyFingerprint(keyA), old, "a JWT")

	fc.Advance(30 * time.Second) // 70 s left: sent as it is
	_, err = svc.GetServerCapabilities(ctx)
	require.NoError(t, err)
	assert.Equal(t, old, credentialOf(t, e.srv, tinkertest.EndpointCapabilities, 1))
	assert.Equal(t, 1, e.srv.CountEndpoint(tinkertest.EndpointAuthToken))

	fc.Advance(15 * time.Second) // 55 s left
	_, err = svc.GetServerCapabilities(ctx)
	require.NoError(t, err)
	fresh := credentialOf(t, e.srv, tinkertest.EndpointCapabilities, 2)
	assert.NotEqual(t, old, fresh, "the request carries the new JWT")
	assert.NotEqual(t, types.KeyFingerprint(keyA), fresh)
	tokens := e.srv.Requests(tinkertest.Match{Endpoint: tinkertest.EndpointAuthToken})
	require.Len(t, tokens, 2)
	caps := e.srv.Requests(tinkertest.Match{Endpoint: tinkertest.EndpointCapabilities})
	assert.Less(t, tokens[1].Index, caps[2].Index, "refreshed before the request was sent")
	assert.Equal(t, types.KeyFingerprint(keyA), tokens[1].Header.Get("X-API-Key"), "with the key itself")

	_, err = svc.GetServerCapabilities(ctx)
	require.NoError(t, err)
	assert.Equal(t, fresh, credentialOf(t, e.srv, tinkertest.EndpointCapabilities, 3))
	assert.Equal(t, 2, e.srv.CountEndpoint(tinkertest.EndpointAuthToken), "the new JWT has its runway")
}

// authGate is a proxy in front of the fake that holds auth/token requests,
// once armed, until released.
type authGate struct {
	url     string
	armed   atomic.Bool
	arrived chan struct{}
	release chan struct{}
	once    sync.Once
	held    atomic.Int32
}

// open lets held and later auth/token requests through.
func (g *authGate) open() { g.once.Do(func() { close(g.release) }) }

func newAuthGate(t *testing.T, upstream string) *authGate {
	t.Helper()
	target, err := url.Parse(upstream)
	require.NoError(t, err)
	g := &authGate{arrived: make(chan struct{}, 1), release: make(chan struct{})}
	proxy := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
		pr.SetURL(target)
		pr.Out.Host = target.Host
	}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/v1/auth/token" && g.armed.Load() {
			g.held.Add(1)
			select {
			case g.arrived <- struct{}{}:
			default:
			}
			select {
			case <-g.release:
			case <-r.Context().Done():
				return
			}
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(g.open) // before srv.Close: a failed test leaves nothing held
	g.url = srv.URL
	return g
}

// flightWaiters is how many callers wait for the refresh in flight.
func flightWaiters(a *jwtAuth) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.flight == nil {
		return 0
	}
	return a.flight.waiters
}

// Concurrent requests that need the refresh share one: one auth/token
// call, all of them wait for it and then carry the new JWT. A caller whose
// context ends stops waiting (KindCanceled) without ending the refresh.
func TestJWTOnDemandRefreshIsShared(t *testing.T) {
	e, fc := jwtEnv(t, 100*time.Second)
	g := newAuthGate(t, e.srv.URL())
	ctx := ctxT(t)
	svc, err := e.rt.NewServiceClient(ctx, WithAPIKey(keyA), WithBaseURL(g.url), WithTelemetry(false))
	require.NoError(t, err)
	t.Cleanup(func() { _ = svc.Close(context.Background()) })
	_, err = svc.GetServerCapabilities(ctx)
	require.NoError(t, err)
	old := credentialOf(t, e.srv, tinkertest.EndpointCapabilities, 0)

	fc.Advance(45 * time.Second) // 55 s left
	g.armed.Store(true)
	const n = 8
	errs := make(chan error, n)
	for range n {
		go func() {
			_, err := svc.GetServerCapabilities(ctx)
			errs <- err
		}()
	}
	impatient, cancel := context.WithCancel(ctx)
	gaveUp := make(chan error, 1)
	go func() {
		_, err := svc.GetServerCapabilities(impatient)
		gaveUp <- err
	}()
	select {
	case <-g.arrived:
	case <-ctx.Done():
		t.Fatal("no refresh started")
	}
	require.Eventually(t, func() bool { return flightWaiters(svc.jwt) == n+1 }, 20*time.Second, time.Millisecond,
		"every caller waits for the one refresh")
	cancel()
	assert.ErrorIs(t, <-gaveUp, types.ErrCanceled)
	g.open()
	for range n {
		require.NoError(t, <-errs)
	}
	assert.Equal(t, int32(1), g.held.Load(), "one auth/token call")
	assert.Equal(t, 2, e.srv.CountEndpoint(tinkertest.EndpointAuthToken))
	caps := e.srv.Requests(tinkertest.Match{Endpoint: tinkertest.EndpointCapabilities})
	require.Len(t, caps, 1+n)
	fresh := caps[1].Header.Get("X-API-Key")
	assert.NotEqual(t, old, fresh)
	for _, r := range caps[1:] {
		assert.Equal(t, fresh, r.Header.Get("X-API-Key"), "every waiter sends the new JWT")
	}
}

// After a failed refresh none is tried for 60 s: the JWT is sent while it
// is valid; once it has expired a request fails at once with the refresh's
// error and sends nothing; 60 s after the failure the next one refreshes.
func TestJWTFailedRefreshIsNotRetriedWithin60s(t *testing.T) {
	e, fc := jwtEnv(t, 100*time.Second)
	ctx := ctxT(t)
	svc := e.service(t, WithTelemetry(false))
	caps := func() error {
		_, err := svc.GetServerCapabilities(ctx)
		return err
	}
	require.NoError(t, caps())
	old := credentialOf(t, e.srv, tinkertest.EndpointCapabilities, 0)
	e.srv.Inject(tinkertest.Fault{Endpoint: tinkertest.EndpointAuthToken, Status: 403, Times: 1})

	fc.Advance(45 * time.Second) // 55 s left: the refresh fails (+45 s)
	require.NoError(t, caps(), "the JWT is still valid: sent as it is")
	assert.Equal(t, 2, e.srv.CountEndpoint(tinkertest.EndpointAuthToken))
	assert.Equal(t, old, credentialOf(t, e.srv, tinkertest.EndpointCapabilities, 1))

	fc.Advance(30 * time.Second) // +75 s: 25 s left, 30 s after the failure
	require.NoError(t, caps())
	assert.Equal(t, 2, e.srv.CountEndpoint(tinkertest.EndpointAuthToken), "not retried within 60 s")
	assert.Equal(t, old, credentialOf(t, e.srv, tinkertest.EndpointCapabilities, 2))

	fc.Advance(27 * time.Second) // +102 s: expired, 57 s after the failure
	err := caps()
	require.ErrorIs(t, err, types.ErrPermission, "the refresh's error")
	assert.Contains(t, err.Error(), "expired")
	assert.NotContains(t, err.Error(), "eyJ")
	assert.Equal(t, 2, e.srv.CountEndpoint(tinkertest.EndpointAuthToken))
	assert.Equal(t, 3, e.srv.CountEndpoint(tinkertest.EndpointCapabilities), "nothing sent with an expired JWT")

	fc.Advance(4 * time.Second) // +106 s: 61 s after the failure
	require.NoError(t, caps())
	assert.Equal(t, 3, e.srv.CountEndpoint(tinkertest.EndpointAuthToken))
	fresh := credentialOf(t, e.srv, tinkertest.EndpointCapabilities, 3)
	assert.NotEqual(t, old, fresh)
}

// A refresh goes through the HTTP layer alone, as the SDK's, which calls
// auth/token outside execute_with_retries: a retryable failure the HTTP
// layer gives up on fails the refresh, and the request goes out with the
// still-valid JWT, where the second layer would hold it for its backoff
// (on this fake clock, for ever). The start-up exchange keeps both layers.
func TestJWTRefreshHasTheHTTPLayerOnly(t *testing.T) {
	e, fc := jwtEnv(t, 100*time.Second)
	svc := e.service(t, WithTelemetry(false), WithMaxRetries(0))
	ctx := ctxT(t)
	_, err := svc.GetServerCapabilities(ctx)
	require.NoError(t, err)
	old := credentialOf(t, e.srv, tinkertest.EndpointCapabilities, 0)
	e.srv.Inject(tinkertest.Fault{Endpoint: tinkertest.EndpointAuthToken, Status: 503, Times: 1})

	fc.Advance(45 * time.Second) // 55 s left: refreshed on demand, which fails
	short, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_, err = svc.GetServerCapabilities(short)
	require.NoError(t, err, "not held by a second-layer backoff")
	assert.Equal(t, 2, e.srv.CountEndpoint(tinkertest.EndpointAuthToken), "one attempt (WithMaxRetries(0)), no resend")
	assert.Equal(t, old, credentialOf(t, e.srv, tinkertest.EndpointCapabilities, 1), "the valid JWT is sent")
	svc.jwt.mu.Lock()
	lastErr := svc.jwt.lastErr
	svc.jwt.mu.Unlock()
	assert.ErrorIs(t, lastErr, types.ErrServer, "the refresh failed on the 503")
}

// A request whose JWT has expired, reaching the on-demand refresh while
// its client is closing (a refresh can no longer start), fails with
// ErrClientStopped; it is not told to go out with the expired JWT.
func TestJWTRenewalDuringCloseIsClientStopped(t *testing.T) {
	e, fc := jwtEnv(t, 100*time.Second)
	svc := e.service(t, WithTelemetry(false))
	require.NoError(t, svc.Close(ctxT(t)))
	fc.Advance(200 * time.Second) // the JWT has expired; nothing refreshes it
	err := svc.jwt.RenewCredential(ctxT(t))
	require.Error(t, err)
	assert.ErrorIs(t, err, types.ErrClientStopped)
}

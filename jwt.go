package tinkex

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/tinkex-go/tinkex/httpclient"
	"github.com/tinkex-go/tinkex/types"
)

// JWT timing (reference §3.2): the background loop refreshes 300 s before
// expiry; a request about to go out with ≤ 60 s left has the JWT refreshed
// first; after a failed refresh none is tried for 60 s.
const (
	jwtRefreshBefore  = 300 * time.Second
	jwtRenewOnDemand  = 60 * time.Second
	jwtRetryAfter     = 60 * time.Second
	jwtAuthTokenPath  = "/api/v1/auth/token"
	jwtAuthTokenOp    = "auth_token"
	jwtMaxLen         = 16 << 10 // a real JWT is well under 2 KiB
	jwtRefreshMinWait = time.Second
)

// jwtAuth is a ServiceClient's JWT auth (server config pjwt_auth_enabled):
// it exchanges the API key for a JWT (POST auth/token, sent with the raw
// key), makes the HTTP client send the JWT, refreshes it in the background
// 300 s before it expires and, as the HTTP client's CredentialRenewer, on
// demand before a request would carry it with ≤ 60 s left — after a failed
// background refresh, or a sleep of the machine.
//
// One refresh runs at a time (a flight), shared by the background loop and
// every request that needs it; after a failure none starts for 60 s, and
// requests send the JWT they have while it is valid, or fail at once, with
// the refresh's error, once it has expired. The state is guarded by mu: it
// is touched only off the hot path, which reads the credential's renewal
// time from the HTTP client's atomic alone.
type jwtAuth struct {
	s *ServiceClient

	mu      sync.Mutex
	exp     time.Time   // expiry of the JWT in use; zero: none yet, or no exp claim
	flight  *jwtRefresh // the refresh running, nil when none
	retryAt time.Time   // after a failed refresh: no refresh before this
	lastErr error       // why the last refresh failed, nil after a success
}

// jwtRenewer is the ServiceClient as its HTTP client's CredentialRenewer
// (a conversion, not an allocation): it renews through the ServiceClient's
// jwtAuth, which establish makes before the HTTP client holds a credential
// to renew, so before any request can call this.
type jwtRenewer ServiceClient

// RenewCredential implements httpclient.CredentialRenewer.
func (r *jwtRenewer) RenewCredential(ctx context.Context) error {
	if r.jwt == nil {
		return nil // no JWT auth: nothing expires
	}
	return r.jwt.RenewCredential(ctx)
}

// jwtRefresh is one refresh in flight.
type jwtRefresh struct {
	done    chan struct{} // closed when it ended; err is set before
	err     error
	waiters int // callers that waited for it, guarded by jwtAuth.mu
}

// exchange trades the API key for a JWT and has the HTTP client send it
// from now on, renewed on demand from 60 s before its expiry. A JWT that
// cannot go in a header is refused and the current credential kept. call
// is the retry row: CallClientConfig at start-up, CallAuthRefresh for a
// refresh.
func (a *jwtAuth) exchange(ctx context.Context, call httpclient.Call) error {
	s := a.s
	var resp types.AuthTokenResponse
	if _, err := s.http.Do(ctx, &httpclient.Request{Op: jwtAuthTokenOp, Path: jwtAuthTokenPath,
		Call: call, Body: types.AuthTokenRequest{}, Header: http.Header{"X-API-Key": {s.cfg.apiKey}},
		Policy: httpclient.Policy{Pool: httpclient.PoolSession}, Into: httpclient.JSONInto(&resp)}); err != nil {
		return err
	}
	if resp.JWT == "" {
		return types.ValidationError(jwtAuthTokenOp, "server answered auth/token without a jwt")
	}
	// A token that cannot go in a header would make every later request
	// fail inside net/http.
	if len(resp.JWT) > jwtMaxLen || strings.IndexFunc(resp.JWT, func(r rune) bool { return r <= ' ' || r >= 0x7f }) >= 0 {
		return types.ValidationError(jwtAuthTokenOp,
			"server answered auth/token with a jwt that cannot be sent in a header (%d bytes, over %d or with spaces, control or non-ASCII characters; not shown)", len(resp.JWT), jwtMaxLen)
	}
	exp := jwtExpiry(resp.JWT)
	var renewAt time.Time
	if !exp.IsZero() {
		renewAt = exp.Add(-jwtRenewOnDemand)
	}
	a.mu.Lock()
	s.http.SetExpiringCredential(resp.JWT, renewAt)
	a.exp = exp
	a.mu.Unlock()
	return nil
}

// RenewCredential implements httpclient.CredentialRenewer: it returns
// once the JWT may be sent — refreshed, by this call's flight or another's,
// or not yet expired although the refresh failed — or with the error the
// request fails with: KindCanceled when ctx ends first, else the failed
// refresh's (its kind, so a retryable one is resent), the JWT having
// expired.
func (a *jwtAuth) RenewCredential(ctx context.Context) error {
	a.mu.Lock()
	now := a.s.rt.clock.Now()
	if !a.dueLocked(now, jwtRenewOnDemand) {
		a.mu.Unlock()
		return nil // refreshed meanwhile
	}
	f := a.flight
	if f == nil {
		if now.Before(a.retryAt) {
			err := a.staleLocked(now)
			a.mu.Unlock()
			return err
		}
		f = a.startLocked()
	}
	f.waiters++
	a.mu.Unlock()
	select {
	case <-f.done:
	case <-ctx.Done():
		return types.CanceledError(jwtAuthTokenOp, context.Cause(ctx))
	}
	if f.err == nil {
		return nil
	}
	if types.KindOf(f.err) == types.KindClientStopped {
		return f.err // no refresh could start: the client is closing
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.staleLocked(a.s.rt.clock.Now())
}

// dueLocked reports whether the JWT in use has at most lead left at now.
func (a *jwtAuth) dueLocked(now time.Time, lead time.Duration) bool {
	return !a.exp.IsZero() && !now.Before(a.exp.Add(-lead))
}

// staleLocked is the verdict on a JWT whose refresh failed: nil while it is
// still valid (it is sent), else an error naming the failure.
func (a *jwtAuth) staleLocked(now time.Time) error {
	if now.Before(a.exp) || a.lastErr == nil {
		return nil
	}
	kind := types.KindOf(a.lastErr)
	if kind == types.KindUnknown || kind == types.KindCanceled {
		kind = types.KindConnection
	}
	return &Error{Kind: kind, Op: jwtAuthTokenOp,
		Message: fmt.Sprintf("the JWT expired at %s and could not be refreshed; the next refresh is tried from %s",
			a.exp.UTC().Format(time.RFC3339), a.retryAt.UTC().Format(time.RFC3339)),
		Err: a.lastErr}
}

// startLocked starts a refresh on a goroutine of the ServiceClient's
// background work (Close cancels and waits for it).
func (a *jwtAuth) startLocked() *jwtRefresh {
	f := &jwtRefresh{done: make(chan struct{})}
	a.flight = f
	ok := a.s.goBackgroundCtx(func(ctx context.Context) {
		err := a.exchange(ctx, httpclient.CallAuthRefresh)
		if err != nil && ctx.Err() == nil {
			a.s.rt.logger.Warn("tinkex: JWT refresh failed; retrying in 60 s", "service", a.s.name, "error", err)
		}
		a.mu.Lock()
		a.flight = nil
		if err != nil {
			a.retryAt, a.lastErr = a.s.rt.clock.Now().Add(jwtRetryAfter), err
		} else {
			a.retryAt, a.lastErr = time.Time{}, nil
		}
		f.err = err
		a.mu.Unlock()
		close(f.done)
	})
	if !ok {
		a.flight = nil
		f.err = a.s.stoppedError(jwtAuthTokenOp)
		close(f.done)
	}
	return f
}

// refreshLoop refreshes the JWT 300 s before it expires (half its
// remaining life when that is shorter, at least 1 s apart), not within
// 60 s of a failed refresh, until ctx ends. A JWT refreshed on demand
// meanwhile is planned for afresh; a token without expiry ends the loop.
func (a *jwtAuth) refreshLoop(ctx context.Context) {
	for {
		a.mu.Lock()
		exp, retryAt := a.exp, a.retryAt
		a.mu.Unlock()
		if exp.IsZero() {
			return
		}
		now := a.s.rt.clock.Now()
		wait := exp.Sub(now) - jwtRefreshBefore
		if wait < 0 {
			wait = max(exp.Sub(now)/2, jwtRefreshMinWait)
		}
		wait = max(wait, retryAt.Sub(now))
		if a.s.rt.sleep(ctx, wait) != nil {
			return
		}
		a.mu.Lock()
		if !a.exp.Equal(exp) || a.s.rt.clock.Now().Before(a.retryAt) {
			a.mu.Unlock()
			continue
		}
		f := a.flight
		if f == nil {
			f = a.startLocked()
		}
		a.mu.Unlock()
		select {
		case <-f.done:
		case <-ctx.Done():
			return
		}
	}
}

// jwtExpiry reads the exp claim of a JWT without verifying it (as the Python
// SDK does); zero when absent or unreadable.
func jwtExpiry(token string) time.Time {
	var claims struct {
		Exp float64 `json:"exp"`
	}
	if !types.JWTClaims(token, &claims) || claims.Exp <= 0 {
		return time.Time{}
	}
	return time.Unix(int64(claims.Exp), 0)
}

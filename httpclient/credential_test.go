package httpclient

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tinkex-go/tinkex/clock"
	"github.com/tinkex-go/tinkex/types"
)

// renewer installs a new token on every call, after failing the first
// fails calls with err.
type renewer struct {
	c     *Client
	calls atomic.Int32
	err   error
	fails int32
	next  string
}

func (r *renewer) RenewCredential(ctx context.Context) error {
	if r.calls.Add(1) <= r.fails {
		return r.err
	}
	r.c.SetExpiringCredential(r.next, time.Time{})
	return nil
}

// An expiring credential is sent as it is until its renewal time; from
// then the renewer runs before the attempt, which carries the new token. A
// request with an X-API-Key of its own (auth/token) does not wait for it.
func TestExpiringCredentialIsRenewedBeforeTheAttempt(t *testing.T) {
	fc := clock.NewFake(time.Unix(1_700_000_000, 0))
	s := newScript(t, reply{body: `{"ok":true}`})
	r := &renewer{next: "eyJ.new.sig"}
	c, _ := newClient(t, s, WithClock(fc), WithCredentialRenewer(r))
	r.c = c
	c.SetExpiringCredential("eyJ.old.sig", fc.Now().Add(time.Minute))

	_, err := post(c, Policy{})
	require.NoError(t, err)
	assert.Equal(t, "eyJ.old.sig", s.header(0, "X-API-Key"))
	assert.Zero(t, r.calls.Load(), "not due yet")

	fc.Advance(time.Minute)
	_, err = c.Do(context.Background(), &Request{Path: "/api/v1/x", Header: http.Header{"X-API-Key": {"tml-raw"}}})
	require.NoError(t, err)
	assert.Equal(t, "tml-raw", s.header(1, "X-API-Key"))
	assert.Zero(t, r.calls.Load(), "a request with its own credential is not held up")

	_, err = post(c, Policy{})
	require.NoError(t, err)
	assert.Equal(t, int32(1), r.calls.Load())
	assert.Equal(t, "eyJ.new.sig", s.header(2, "X-API-Key"), "renewed before it was sent")
	_, err = post(c, Policy{})
	require.NoError(t, err)
	assert.Equal(t, int32(1), r.calls.Load(), "the new credential does not expire")
}

// A failed renewal fails the attempt sequence before anything is sent,
// with the renewal's kind; the second layer resends a retryable one.
func TestFailedRenewalSendsNothing(t *testing.T) {
	fc := clock.NewFake(time.Unix(1_700_000_000, 0))
	s := newScript(t, reply{body: `{"ok":true}`})
	r := &renewer{err: &types.Error{Kind: types.KindAuth, Op: "auth_token", StatusCode: 401, Message: "key revoked"}, fails: 1, next: "eyJ.new.sig"}
	c, _ := newClient(t, s, WithClock(fc), WithCredentialRenewer(r))
	r.c = c
	c.SetExpiringCredential("eyJ.old.sig", fc.Now())

	_, err := post(c, Policy{})
	require.ErrorIs(t, err, types.ErrAuth)
	assert.Contains(t, err.Error(), "key revoked")
	assert.Zero(t, s.count(), "nothing sent")
	var te *types.Error
	require.ErrorAs(t, err, &te)
	assert.Zero(t, te.Attempts)

	assert.False(t, types.IsRetryable(err))

	c.SetExpiringCredential("eyJ.old.sig", fc.Now())
	r.err, r.fails = &types.Error{Kind: types.KindServer, Op: "auth_token", StatusCode: 503}, 3
	_, err = c.Do(context.Background(), &Request{Path: "/api/v1/x", Call: CallTrainingSubmit})
	require.NoError(t, err)
	assert.Equal(t, int32(4), r.calls.Load(), "a retryable failure is resent by the second layer")
	require.Equal(t, 1, s.count(), "and only the renewed request is sent")
	assert.Equal(t, "eyJ.new.sig", s.header(0, "X-API-Key"))
	assert.Equal(t, "0", s.header(0, "x-stainless-retry-count"))
}

// Canceling the caller's context while the renewal runs ends the call
// with KindCanceled, and nothing is sent.
func TestRenewalHonoursCancellation(t *testing.T) {
	fc := clock.NewFake(time.Unix(1_700_000_000, 0))
	s := newScript(t, reply{body: `{"ok":true}`})
	c, _ := newClient(t, s, WithClock(fc), WithCredentialRenewer(blockingRenewer{}))
	c.SetExpiringCredential("eyJ.old.sig", fc.Now())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := c.Do(ctx, &Request{Path: "/api/v1/x"})
	require.ErrorIs(t, err, types.ErrCanceled)
	assert.Zero(t, s.count())
}

// blockingRenewer waits for its caller's context, as a renewal that takes
// longer than the caller will wait.
type blockingRenewer struct{}

func (blockingRenewer) RenewCredential(ctx context.Context) error {
	<-ctx.Done()
	return types.CanceledError("auth_token", ctx.Err())
}

// A fresh credential costs the request path no allocation (and no lock:
// one atomic load and one clock read).
func TestFreshCredentialCheckDoesNotAllocate(t *testing.T) {
	c, err := New("http://x", testKey, WithCredentialRenewer(blockingRenewer{}))
	require.NoError(t, err)
	c.SetExpiringCredential("eyJ.tok.sig", time.Now().Add(time.Hour))
	cl := &call{c: c, req: &Request{Path: "/api/v1/x"}}
	ctx := context.Background()
	assert.Zero(t, testing.AllocsPerRun(100, func() {
		if cl.renewCredential(ctx) != nil {
			t.Fatal("renewed a fresh credential")
		}
	}))
}

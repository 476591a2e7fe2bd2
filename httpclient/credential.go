package httpclient

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/tinkex-go/tinkex/types"
)

// credential is what a Client sends as X-API-Key, and from when (UnixNano
// on the client's clock) it must be renewed before a request goes out with
// it; renewAt 0 means never. A new credential is a new value, so one
// atomic load reads both.
type credential struct {
	header  []string // the X-API-Key value (read-only)
	renewAt int64
}

// CredentialRenewer renews an expiring credential (SetExpiringCredential)
// on demand: before an attempt that would carry the credential at or after
// its renewal time, the Client calls RenewCredential and sends the request
// with whatever credential it holds once that returns nil (renewed, or
// still good enough to send). An error fails the attempt sequence with it,
// before anything is sent: the second layer resends the call when
// types.IsRetryable says so. Concurrent calls must share one renewal, and
// each must return once its ctx ends (then with a KindCanceled error). The
// request that renews (its own X-API-Key header set, as auth/token sends
// the raw key) is never held up by it.
type CredentialRenewer interface {
	RenewCredential(ctx context.Context) error
}

// WithCredentialRenewer sets who renews an expiring credential on demand
// (see CredentialRenewer). Without one, a credential is sent as it is.
func WithCredentialRenewer(r CredentialRenewer) Option {
	return func(c *Client) { c.renewer = r }
}

// SetCredential replaces the credential sent as X-API-Key, e.g. with the
// JWT the API key was exchanged for. Requests already sent keep theirs. The
// config (and its fingerprint) stays that of the API key. An empty token
// restores the API key. The credential is never renewed on demand.
func (c *Client) SetCredential(token string) { c.SetExpiringCredential(token, time.Time{}) }

// SetExpiringCredential is SetCredential for a credential that must be
// renewed from renewAt on (on the client's clock): from then, each attempt
// first has the CredentialRenewer renew it. A zero renewAt means never.
// Until then, a request pays one atomic load and one clock read for it.
func (c *Client) SetExpiringCredential(token string, renewAt time.Time) {
	if token == "" {
		token = c.apiKey
	}
	cr := &credential{header: []string{token}}
	if !renewAt.IsZero() {
		cr.renewAt = max(renewAt.UnixNano(), 1)
	}
	c.credential.Store(cr)
}

// token is the credential now sent.
func (c *Client) token() string { return c.credential.Load().header[0] }

// CredentialClaims decodes the payload of the credential now sent as
// X-API-Key into dst, when that credential is a JWT (the one the key was
// exchanged for, or a key that is itself a JWT), without verifying it. It
// reports false for a plain API key or a JWT whose payload does not
// decode. The token itself never leaves the client.
func (c *Client) CredentialClaims(dst any) bool {
	token := c.token()
	return strings.HasPrefix(token, "eyJ") && types.JWTClaims(token, dst)
}

// renewCredential has the credential renewed when the next attempt would
// carry it past its renewal time (see CredentialRenewer). It returns the
// error that ends the attempt sequence, or nil to send.
func (cl *call) renewCredential(ctx context.Context) *types.Error {
	c := cl.c
	if cr := c.credential.Load(); cr.renewAt == 0 || c.renewer == nil || c.clock.Now().UnixNano() < cr.renewAt {
		return nil
	}
	for k := range cl.req.Header {
		if http.CanonicalHeaderKey(k) == "X-Api-Key" {
			return nil // the request sends a credential of its own
		}
	}
	err := c.renewer.RenewCredential(ctx)
	if err == nil {
		return nil
	}
	kind := types.KindOf(err)
	if kind == types.KindUnknown {
		kind = types.KindAuth
	}
	return &types.Error{Kind: kind, Op: cl.op, Method: cl.method, Path: cl.req.Path,
		Message: "not sent: the credential needs renewing and could not be renewed",
		Err:     types.RedactError(err, cl.secrets()...)}
}

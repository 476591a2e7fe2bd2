package tinkex

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tinkex-go/tinkex/tinkertest"
	"github.com/tinkex-go/tinkex/types"
)

// WithTLSConfig: tinkex's own pools trust a private certificate authority
// and speak HTTP/2 to the service, as the SDK does (http2=True); the
// caller's config is cloned, not changed.
func TestWithTLSConfigTrustsAPrivateCAAndSpeaksHTTP2(t *testing.T) {
	srv := tinkertest.NewServer(tinkertest.WithTLS())
	t.Cleanup(srv.Close)
	roots := x509.NewCertPool()
	require.True(t, roots.AppendCertsFromPEM(srv.CertificatePEM()))
	cfg := &tls.Config{RootCAs: roots}
	rt, err := Start(context.Background(), withGetenv(noEnv), WithTLSConfig(cfg))
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		require.NoError(t, rt.Stop(ctx))
	})
	ctx := ctxT(t)
	svc, err := rt.NewServiceClient(ctx, WithAPIKey(keyA), WithBaseURL(srv.URL()), WithTelemetry(false))
	require.NoError(t, err)
	_, err = svc.GetServerCapabilities(ctx)
	require.NoError(t, err)

	reqs := srv.Requests(tinkertest.Match{})
	require.GreaterOrEqual(t, len(reqs), 3, "client/config, create_session, get_server_capabilities")
	for _, r := range reqs {
		assert.Equal(t, "HTTP/2.0", r.Proto, r.Path)
		assert.Equal(t, "go", r.Header.Get("X-Stainless-Lang"), r.Path)
		assert.Equal(t, types.KeyFingerprint(keyA), r.Header.Get("X-API-Key"), r.Path)
	}
	assert.Nil(t, cfg.NextProtos, "the transport changed a clone, not the caller's config")
}

// Without the server's certificate in its roots the same service is
// refused: WithTLSConfig replaces Go's defaults, it does not weaken them.
func TestWithTLSConfigWithoutTheCAStillVerifies(t *testing.T) {
	srv := tinkertest.NewServer(tinkertest.WithTLS())
	t.Cleanup(srv.Close)
	rt, err := Start(context.Background(), withGetenv(noEnv), WithTLSConfig(&tls.Config{RootCAs: x509.NewCertPool()}))
	require.NoError(t, err)
	t.Cleanup(func() { _ = rt.Stop(context.Background()) })
	_, err = rt.NewServiceClient(ctxT(t), WithAPIKey(keyA), WithBaseURL(srv.URL()))
	require.ErrorIs(t, err, types.ErrValidation)
	assert.Contains(t, err.Error(), "certificate")
	assert.Zero(t, srv.Count(tinkertest.Match{}))
}

// BEHAVIOR (Security): the key never leaves its origin, so a config that
// would send it to any server is refused at Start; one with a verifier of
// its own is the caller's decision and accepted.
func TestWithTLSConfigRefusesInsecureSkipVerify(t *testing.T) {
	_, err := Start(context.Background(), withGetenv(noEnv), WithTLSConfig(&tls.Config{InsecureSkipVerify: true}))
	require.ErrorIs(t, err, types.ErrValidation)
	assert.Contains(t, err.Error(), "RootCAs")

	verify := func(tls.ConnectionState) error { return nil }
	rt, err := Start(context.Background(), withGetenv(noEnv),
		WithTLSConfig(&tls.Config{InsecureSkipVerify: true, VerifyConnection: verify}))
	require.NoError(t, err)
	require.NoError(t, rt.Stop(context.Background()))
}

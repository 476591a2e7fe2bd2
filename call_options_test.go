package tinkex

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tinkex-go/tinkex/tinkertest"
	"github.com/tinkex-go/tinkex/types"
)

// TestRequestOptionsReachEveryRequestOfACall: a header given with
// WithRequestOptions is on the submit and on every poll of the call, and
// only on that call's requests.
func TestRequestOptionsReachEveryRequestOfACall(t *testing.T) {
	e := newEnv(t, nil)
	ctx := ctxT(t)
	tc := trainer(t, e.service(t))
	traced := WithRequestOptions(ctx, WithHeader("X-Trace-Id", "t-1"), WithRequestTimeout(7*time.Second))
	_, err := tc.ForwardBackward(traced, []types.Datum{datum(t, 1, 2)}, types.LossCrossEntropy).Result(ctx)
	require.NoError(t, err)
	_, err = tc.OptimStep(ctx, types.DefaultAdamParams()).Result(ctx)
	require.NoError(t, err)

	fb := e.srv.Requests(tinkertest.Match{Endpoint: tinkertest.EndpointForwardBackward})
	require.Len(t, fb, 1)
	assert.Equal(t, "t-1", fb[0].Header.Get("X-Trace-Id"))
	assert.Equal(t, "7", fb[0].Header.Get("X-Stainless-Read-Timeout"))
	polls := 0
	for _, r := range e.srv.Requests(tinkertest.Match{Endpoint: tinkertest.EndpointRetrieveFuture}) {
		switch r.Header.Get("X-Tinker-Request-Type") {
		case "ForwardBackward":
			polls++
			assert.Equal(t, "t-1", r.Header.Get("X-Trace-Id"))
		case "OptimStep":
			assert.Empty(t, r.Header.Get("X-Trace-Id"), "another call's requests do not carry it")
		}
	}
	assert.Positive(t, polls)
	for _, r := range e.srv.Requests(tinkertest.Match{Endpoint: tinkertest.EndpointOptimStep}) {
		assert.Empty(t, r.Header.Get("X-Trace-Id"))
	}
}

func TestRequestMaxRetriesPerCall(t *testing.T) {
	e := newEnv(t, nil)
	ctx := ctxT(t)
	// The second layer (get_info is a CallRead) is off, so the count below
	// is the HTTP layer's alone.
	tc := trainer(t, e.service(t, WithCallRetryBudget(0)))
	e.srv.Inject(tinkertest.Fault{Endpoint: tinkertest.EndpointGetInfo, Status: 503})
	_, err := tc.GetInfo(WithRequestOptions(ctx, WithRequestMaxRetries(1)))
	require.ErrorIs(t, err, types.ErrServer)
	assert.Equal(t, 2, e.srv.Count(tinkertest.Match{Endpoint: tinkertest.EndpointGetInfo}), "one retry, not the default 10")

	_, err = tc.GetInfo(WithRequestOptions(ctx, WithRequestMaxRetries(-1)))
	require.ErrorIs(t, err, types.ErrValidation)
	assert.Equal(t, 2, e.srv.Count(tinkertest.Match{Endpoint: tinkertest.EndpointGetInfo}), "nothing sent for a negative count")
}

func TestDefaultHeadersAndCloudflareEnv(t *testing.T) {
	const secret = "cf-secret-0123456789abcdef"
	env := map[string]string{EnvCloudflareClientID: "cf-id.access", EnvCloudflareClientSecret: secret}
	logger, logs := captureLogs(slog.LevelDebug)
	e := newEnv(t, nil, withGetenv(func(k string) string { return env[k] }), WithLogger(logger))
	svc := e.service(t, WithDefaultHeaders(map[string]string{"X-Team": "research", "CF-Access-Client-Id": "cf-id.explicit"}))
	tc := trainer(t, svc)
	_, err := tc.GetInfo(ctxT(t))
	require.NoError(t, err)
	for _, r := range e.srv.Requests(tinkertest.Match{Endpoint: tinkertest.EndpointGetInfo}) {
		assert.Equal(t, "research", r.Header.Get("X-Team"))
		assert.Equal(t, "cf-id.explicit", r.Header.Get("CF-Access-Client-Id"), "an explicit header wins over the environment")
		assert.Equal(t, types.KeyFingerprint(secret), r.Header.Get("CF-Access-Client-Secret"), "sent (the fake logs its fingerprint)")
	}
	assert.NotContains(t, logs(), secret)
	// The secret is scrubbed from server text like the key.
	e.srv.Inject(tinkertest.Fault{Endpoint: tinkertest.EndpointGetInfo, Status: 400, Body: `{"detail":"bad secret ` + secret + `"}`, Times: 1})
	_, err = tc.GetInfo(ctxT(t))
	require.Error(t, err)
	assert.False(t, strings.Contains(err.Error(), secret), err.Error())
}

func TestCredentialCmd(t *testing.T) {
	run := func(cmd string, opts ...ServiceOption) (resolvedConfig, error) {
		return resolve(opts, getenvLookup(func(k string) string {
			if k == EnvCredentialCmd {
				return cmd
			}
			return ""
		}))
	}
	c, err := run("printf 'tml-from-cmd-0123456789\\n'")
	require.NoError(t, err)
	assert.Equal(t, "tml-from-cmd-0123456789", c.apiKey)

	c, err = run("exit 3", WithAPIKey("tml-explicit-0123456789"))
	require.NoError(t, err, "an explicit key means the command is not run")
	assert.Equal(t, "tml-explicit-0123456789", c.apiKey)

	_, err = run("echo tml-leaked-secret-0123 >&2; exit 3")
	require.ErrorIs(t, err, types.ErrValidation)
	assert.Contains(t, err.Error(), "TINKER_CREDENTIAL_CMD failed with exit status 3")
	assert.NotContains(t, err.Error(), "tml-leaked-secret")

	_, err = run("true")
	require.ErrorIs(t, err, types.ErrValidation)
	assert.Contains(t, err.Error(), "printed nothing")

	_, err = run("echo not-a-key-0123456789")
	require.ErrorIs(t, err, types.ErrValidation)
	assert.NotContains(t, err.Error(), "not-a-key-0123456789", "a bad credential is not echoed")

	_, err = run("sleep 5", func(c *serviceConfig) { c.credentialCmdTimeout = 50 * time.Millisecond })
	require.ErrorIs(t, err, types.ErrValidation)
	assert.Contains(t, err.Error(), "did not finish within 50ms")
}

package tinkex

import (
	"encoding/base64"
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

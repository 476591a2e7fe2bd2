package tinkertest

import (
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAuthKeys(t *testing.T) {
	srv := newServer(t)
	body := map[string]any{"sdk_version": "0.25.0"}
	cases := []struct {
		name, key string
		want      int
	}{
		{"missing", "", 401},
		{"malformed", "sk-123", 401},
		{"api key", keyA, 200},
		{"jwt-shaped key", "eyJhbGciOi.x.y", 200},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			r := client(t, srv, tt.key).post(EndpointClientConfig, body)
			assert.Equal(t, tt.want, r.status)
			if tt.want == 401 {
				assert.NotEmpty(t, r.json(t)["detail"])
			}
		})
	}
	e := srv.Requests(Match{Status: 401})
	require.Len(t, e, 2)
	assert.Empty(t, e[0].KeyFingerprint)
}

func TestAuthRestrictedKeys(t *testing.T) {
	srv := newServer(t, WithKeys(keyA))
	assert.Equal(t, 200, client(t, srv, keyA).post(EndpointClientConfig, map[string]any{"sdk_version": "0.25.0"}).status)
	r := client(t, srv, keyB).post(EndpointClientConfig, map[string]any{"sdk_version": "0.25.0"})
	assert.Equal(t, 401, r.status)
	assert.NotContains(t, string(r.body), keyB)
}

func TestJWTMode(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	srv := newServer(t, WithJWT(10*time.Minute), WithNow(clock))
	raw := client(t, srv, keyA)

	cfg := raw.ok(EndpointClientConfig, map[string]any{"sdk_version": "0.25.0"})
	assert.Equal(t, true, cfg["pjwt_auth_enabled"])
	// Raw keys are refused past config and token exchange.
	r := raw.post(EndpointCreateSession, map[string]any{"tags": []string{}, "user_metadata": map[string]any{}, "sdk_version": "0.25.0", "type": "create_session"})
	assert.Equal(t, 401, r.status)
	assert.Contains(t, r.json(t)["detail"], "JWT")

	tok := raw.ok(EndpointAuthToken, map[string]any{})["jwt"].(string)
	require.True(t, len(tok) > 3 && tok[:3] == "eyJ")
	jc := client(t, srv, tok)
	sid := jc.session()
	assert.Equal(t, 200, jc.post(EndpointHeartbeat, map[string]any{"session_id": sid, "type": "session_heartbeat"}).status)
	// The JWT acts for the key: same owner, same fingerprint in the log.
	assert.Equal(t, srv.Sessions()[0].KeyFingerprint, srv.Requests(Match{Endpoint: EndpointAuthToken})[0].KeyFingerprint)
	assert.Len(t, srv.Requests(Match{Key: keyA}), 5)

	// A forged token and an expired one are refused.
	assert.Equal(t, 401, client(t, srv, tok[:len(tok)-2]+"xx").post(EndpointHeartbeat, map[string]any{"session_id": sid, "type": "session_heartbeat"}).status)
	mu.Lock()
	now = now.Add(11 * time.Minute)
	mu.Unlock()
	r = jc.post(EndpointHeartbeat, map[string]any{"session_id": sid, "type": "session_heartbeat"})
	assert.Equal(t, 401, r.status)
	assert.Contains(t, r.json(t)["detail"], "Invalid JWT")
	fresh := srv.IssueJWT(keyA)
	assert.Equal(t, 200, client(t, srv, fresh).post(EndpointHeartbeat, map[string]any{"session_id": sid, "type": "session_heartbeat"}).status)
}

func TestAuthTokenWithoutJWTMode(t *testing.T) {
	srv := newServer(t)
	r := client(t, srv, keyA).post(EndpointAuthToken, map[string]any{})
	assert.Equal(t, http.StatusNotFound, r.status)
}

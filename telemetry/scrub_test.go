package telemetry

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/tinkex-go/tinkex/types"
)

func TestIsSecretKey(t *testing.T) {
	secret := []string{"api_key", "API_KEY", "X-API-Key", "x-api-key", "apikey", "key", "Authorization",
		"token", "access_token", "refresh-token", "password", "Cookie", "request_headers", "response_headers",
		"private_key", "client_secret", "credentials", "auth"}
	public := []string{"config", "num_tokens", "max_tokens", "tokenizer_id", "idempotency_key", "kind",
		"base_url", "status", "request_id", "monkey", "keys", "session_id"}
	for _, k := range secret {
		assert.True(t, IsSecretKey(k), k)
	}
	for _, k := range public {
		assert.False(t, IsSecretKey(k), k)
	}
}

func TestScrubString(t *testing.T) {
	const key = "tml-abcDEF_123-xyz"
	fp := "[REDACTED:" + types.KeyFingerprint(key) + "]"
	tests := []struct{ in, want string }{
		{"nothing here", "nothing here"},
		{"key " + key + " rejected", "key " + fp + " rejected"},
		{"x-tml-abc", "x-[REDACTED:" + types.KeyFingerprint("tml-abc") + "]"},
		{"an html-page stays", "an html-page stays"},
		{"Bearer abc.def", "[REDACTED:" + types.KeyFingerprint("Bearer abc.def") + "]"},
		{"eyJ alone is too short", "eyJ alone is too short"},
	}
	for _, tc := range tests {
		assert.Equal(t, tc.want, ScrubString(tc.in), tc.in)
	}
	jwt := "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1In0.c2ln"
	got := ScrubString("t=" + jwt + ";")
	assert.Equal(t, "t=[REDACTED:"+types.KeyFingerprint(jwt)+"];", got, "the whole three-part JWT goes")
}

type stringer struct{}

func (stringer) String() string { return "s tml-zzz" }

type opaque struct{ Key string }

func TestScrubMetadata(t *testing.T) {
	assert.Nil(t, ScrubMetadata(nil))
	in := map[string]any{
		"api_key": "tml-1",
		"n":       3,
		"f":       1.5,
		"ok":      true,
		"d":       time.Second,
		"s":       "tml-abc",
		"err":     errors.New("tml-abc"),
		"str":     stringer{},
		"strs":    []string{"tml-abc", "fine"},
		"anys":    []any{"tml-abc", 1},
		"m":       map[string]any{"token": "t", "x": "tml-abc"},
		"ms":      map[string]string{"authorization": "t", "x": "tml-abc"},
		"opaque":  opaque{Key: "tml-abc"},
		"nil":     nil,
	}
	out := ScrubMetadata(in)
	fp := "[REDACTED:" + types.KeyFingerprint("tml-abc") + "]"
	assert.Equal(t, Redacted, out["api_key"])
	assert.Equal(t, 3, out["n"])
	assert.Equal(t, 1.5, out["f"])
	assert.Equal(t, true, out["ok"])
	assert.Equal(t, time.Second, out["d"])
	assert.Equal(t, fp, out["s"])
	assert.Equal(t, fp, out["err"])
	assert.Equal(t, "s [REDACTED:"+types.KeyFingerprint("tml-zzz")+"]", out["str"])
	assert.Equal(t, []string{fp, "fine"}, out["strs"])
	assert.Equal(t, []any{fp, 1}, out["anys"])
	assert.Equal(t, map[string]any{"token": Redacted, "x": fp}, out["m"])
	assert.Equal(t, map[string]any{"authorization": Redacted, "x": fp}, out["ms"])
	assert.Equal(t, "{"+fp+"}", out["opaque"])
	assert.Nil(t, out["nil"])
	assert.Equal(t, "tml-1", in["api_key"], "input is not modified")
}

func TestScrubMetadataStopsOnCycles(t *testing.T) {
	m := map[string]any{}
	m["self"] = m
	assert.NotPanics(t, func() { ScrubMetadata(m) })
}

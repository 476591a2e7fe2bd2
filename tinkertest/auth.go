package tinkertest

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/tinkex-go/tinkex/types"
)

// Auth. The credential travels in X-API-Key. A key must start with "tml-"
// or "eyJ"; a missing or malformed key, or one outside WithKeys, gets 401.
// Callers are identified by types.KeyFingerprint of their key; under JWT
// mode by the fingerprint of the key the JWT was issued for, so faults,
// rate limits and ownership follow the user, not the token.

func randomBytes(n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return b
}

func (s *Server) authenticate(r *http.Request, endpoint string) (string, reply, bool) {
	key := r.Header.Get("X-API-Key")
	if key == "" {
		return "", detailReply(http.StatusUnauthorized, "missing X-API-Key header"), false
	}
	if !strings.HasPrefix(key, "tml-") && !strings.HasPrefix(key, "eyJ") {
		return "", detailReply(http.StatusUnauthorized, "invalid API key: it must start with \"tml-\""), false
	}
	rawAllowed := s.cfg.jwtTTL == 0 || endpoint == EndpointClientConfig || endpoint == EndpointAuthToken
	if s.cfg.jwtTTL > 0 && strings.HasPrefix(key, "eyJ") {
		if owner, ok := s.verifyJWT(key); ok {
			return owner, reply{}, true
		}
		if !rawAllowed || s.cfg.keys != nil && !s.cfg.keys[key] {
			return "", detailReply(http.StatusUnauthorized, "Invalid JWT"), false
		}
	}
	if !rawAllowed {
		return "", detailReply(http.StatusUnauthorized, "Invalid JWT: this server requires a JWT from auth/token"), false
	}
	if s.cfg.keys != nil && !s.cfg.keys[key] {
		return "", detailReply(http.StatusUnauthorized, "invalid API key"), false
	}
	return types.KeyFingerprint(key), reply{}, true
}

type jwtClaims struct {
	Sub   string `json:"sub"`
	Email string `json:"email"`
	Fp    string `json:"tinkertest_key_fp"`
	Iat   int64  `json:"iat"`
	Exp   int64  `json:"exp"`
}

var b64 = base64.RawURLEncoding

func (s *Server) signJWT(fp string, now time.Time) string {
	head := b64.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))
	claims, _ := json.Marshal(jwtClaims{
		Sub:   "user:" + fp,
		Email: fp + "@tinkertest.invalid",
		Fp:    fp,
		Iat:   now.Unix(),
		Exp:   now.Add(s.cfg.jwtTTL).Unix(),
	})
	body := head + "." + b64.EncodeToString(claims)
	mac := hmac.New(sha256.New, s.jwtKey)
	mac.Write([]byte(body))
	return body + "." + b64.EncodeToString(mac.Sum(nil))
}

// verifyJWT checks a token's signature and expiry and returns the owner.
func (s *Server) verifyJWT(tok string) (string, bool) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return "", false
	}
	mac := hmac.New(sha256.New, s.jwtKey)
	mac.Write([]byte(parts[0] + "." + parts[1]))
	sig, err := b64.DecodeString(parts[2])
	if err != nil || !hmac.Equal(sig, mac.Sum(nil)) {
		return "", false
	}
	raw, err := b64.DecodeString(parts[1])
	if err != nil {
		return "", false
	}
	var c jwtClaims
	if json.Unmarshal(raw, &c) != nil || c.Fp == "" {
		return "", false
	}
	if s.now().Unix() >= c.Exp {
		return "", false
	}
	return c.Fp, true
}

// IssueJWT returns a JWT for key as auth/token would, valid for the
// WithJWT ttl from now. It panics if JWT mode is off.
func (s *Server) IssueJWT(key string) string {
	if s.cfg.jwtTTL == 0 {
		panic("tinkertest: IssueJWT needs WithJWT")
	}
	return s.signJWT(types.KeyFingerprint(key), s.now())
}

func (c *call) authToken() reply {
	o, rep, ok := c.parse()
	if !ok {
		return rep
	}
	if err := o.finish(); err != nil {
		return detailReply(http.StatusBadRequest, "%v", err)
	}
	if c.s.cfg.jwtTTL == 0 {
		return detailReply(http.StatusNotFound, "JWT auth is not enabled on this server (client/config says pjwt_auth_enabled=false)")
	}
	return okJSON(map[string]string{"jwt": c.s.signJWT(c.owner, c.s.now())})
}

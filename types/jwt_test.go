package types

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// JWTClaims reads a JWT's payload unverified; anything that is not three
// parts with a base64url JSON middle is refused.
func TestJWTClaims(t *testing.T) {
	var c struct {
		Sub string  `json:"sub"`
		Exp float64 `json:"exp"`
	}
	// {"sub":"u1","exp":1700000000}
	assert.True(t, JWTClaims("eyJhbGciOiJub25lIn0.eyJzdWIiOiJ1MSIsImV4cCI6MTcwMDAwMDAwMH0.sig", &c))
	assert.Equal(t, "u1", c.Sub)
	assert.Equal(t, 1.7e9, c.Exp)
	for _, bad := range []string{"", "a.b", "a.b.c.d", "x.!!!.y", "x.bm90IGpzb24.y"} {
		assert.False(t, JWTClaims(bad, &c), "%q", bad)
	}
}

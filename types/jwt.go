package types

import (
	"encoding/base64"
	"encoding/json"
	"strings"
)

// JWTClaims decodes the payload of the JWT token (its middle part,
// base64url) into dst without verifying the signature, as the Python SDK
// reads a JWT's claims. It reports false for a token that is not three
// dot-separated parts or whose payload does not decode as JSON into dst.
func JWTClaims(token string, dst any) bool {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return false
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return false
	}
	return json.Unmarshal(payload, dst) == nil
}

package telemetry

import (
	"fmt"
	"strings"
	"time"

	"github.com/tinkex-go/tinkex/types"
)

// Redacted replaces the value of a metadata key that names a credential.
const Redacted = "[REDACTED]"

var secretSegments = map[string]bool{
	"token": true, "authorization": true, "auth": true, "secret": true,
	"password": true, "passwd": true, "cookie": true, "credential": true, "credentials": true,
	"apikey": true, "bearer": true, "jwt": true, "headers": true, "header": true,
}

var secretKeyQualifiers = map[string]bool{"api": true, "private": true, "secret": true, "access": true, "signing": true}

// IsSecretKey reports whether a metadata key names something that may hold
// a credential: api_key, X-API-Key, authorization, access_token, password,
// cookie, request_headers and the like. Matching is by whole words of the
// key, case-insensitively, so "num_tokens" or "tokenizer_id" are not secret.
func IsSecretKey(key string) bool {
	words := strings.FieldsFunc(strings.ToLower(key), func(r rune) bool {
		return r == '_' || r == '-' || r == '.' || r == ' '
	})
	for i, w := range words {
		if secretSegments[w] {
			return true
		}
		if w == "key" && (len(words) == 1 || i > 0 && secretKeyQualifiers[words[i-1]]) {
			return true
		}
	}
	return false
}

// ScrubString replaces anything in s that looks like a Tinker credential —
// "tml-…" API keys, "eyJ…" JWTs, "Bearer …" tokens — with
// "[REDACTED:<fingerprint>]", where the fingerprint is types.KeyFingerprint
// of the match, so two lines naming the same key can still be correlated.
// It is types.Redact without known secrets: emitters never put a key in
// metadata, and this is the second line of defence for everything that
// leaves the process (log lines, server telemetry).
func ScrubString(s string) string { return types.Redact(s) }

// ScrubMetadata returns a copy of md that is safe to print or send: values
// under secret-looking keys (IsSecretKey) become Redacted, strings, errors
// and fmt.Stringers are passed through ScrubString, nested maps and slices
// are scrubbed recursively, and values of other types (structs, pointers)
// are rendered with %v and scrubbed. Numbers, bools, times and durations are
// kept as they are. A nil map gives nil.
func ScrubMetadata(md map[string]any) map[string]any {
	if md == nil {
		return nil
	}
	out := make(map[string]any, len(md))
	for k, v := range md {
		if IsSecretKey(k) {
			out[k] = Redacted
			continue
		}
		out[k] = scrubValue(v, 0)
	}
	return out
}

func scrubValue(v any, depth int) any {
	if depth > 8 {
		return Redacted // a cycle or absurd nesting: refuse rather than recurse forever
	}
	switch x := v.(type) {
	case nil, bool, int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64,
		float32, float64, time.Duration, time.Time:
		return x
	case string:
		return ScrubString(x)
	case error:
		return ScrubString(x.Error())
	case fmt.Stringer:
		return ScrubString(x.String())
	case []string:
		out := make([]string, len(x))
		for i, s := range x {
			out[i] = ScrubString(s)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = scrubValue(e, depth+1)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			if IsSecretKey(k) {
				out[k] = Redacted
				continue
			}
			out[k] = scrubValue(e, depth+1)
		}
		return out
	case map[string]string:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = e
		}
		return scrubValue(m, depth)
	default:
		return ScrubString(fmt.Sprintf("%v", x))
	}
}

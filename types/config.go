package types

import (
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"strconv"
	"strings"
)

// DefaultBaseURL is the production Tinker service, used when neither an
// option nor TINKER_BASE_URL names one.
const DefaultBaseURL = "https://tinker.thinkingmachines.dev/services/tinker-prod"

// NormalizeBaseURL returns the canonical form of a Tinker base URL: lower-cased
// scheme and host, the scheme's default port dropped (80 for http, 443 for
// https), and the path without trailing slashes. Two URLs that normalize
// equal address the same server and share a limiter.
//
// It rejects, with a KindValidation error that quotes the URL only as
// RedactURL does (scheme and host; never a path, user:password, query or
// anything credential-shaped): an
// empty or unparsable URL, a scheme other than http/https, a missing host, a
// user:password part, a port outside 1..65535, a query or a fragment.
func NormalizeBaseURL(raw string) (string, error) {
	const op = "base_url"
	s := strings.TrimSpace(raw)
	if s == "" {
		return "", ValidationError(op, "base URL is empty")
	}
	u, err := url.Parse(s)
	if err != nil {
		return "", ValidationError(op, "base URL %q is not a valid URL", RedactURL(s))
	}
	if u.User != nil {
		return "", ValidationError(op, "base URL must not contain a user:password part (got %q); pass the API key with WithAPIKey or TINKER_API_KEY", RedactURL(s))
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "http" && scheme != "https" {
		return "", ValidationError(op, "base URL %q must start with http:// or https://", RedactURL(s))
	}
	if u.Host == "" || u.Hostname() == "" {
		return "", ValidationError(op, "base URL %q has no host", RedactURL(s))
	}
	if u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		return "", ValidationError(op, "base URL %q must not have a query or fragment", RedactURL(s))
	}
	// An IPv6 zone ("fe80::1%25eth0") names an interface: it keeps its case
	// and its escape. A '%' anywhere else in a host is refused: cutting at
	// it would name another host.
	host, zone := u.Hostname(), ""
	if strings.Contains(host, "%") {
		if !strings.Contains(host, ":") {
			return "", ValidationError(op, "base URL %q has a %% in its host name", RedactURL(s))
		}
		host, zone, _ = strings.Cut(host, "%")
		if zone == "" || strings.ContainsFunc(zone, func(r rune) bool {
			return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-._~", r))
		}) {
			return "", ValidationError(op, "base URL %q has an IPv6 zone that is not a plain interface name", RedactURL(s))
		}
	}
	host = strings.ToLower(host)
	port := u.Port()
	if port != "" {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 {
			return "", ValidationError(op, "base URL %q has port %.10q; a port must be in 1..65535", RedactURL(s), port)
		}
		port = strconv.Itoa(n) // "0080" and "80" are the same port
	}
	if (scheme == "http" && port == "80") || (scheme == "https" && port == "443") {
		port = ""
	}
	hostport := host
	if strings.Contains(host, ":") { // IPv6 literal
		if zone != "" {
			host += "%25" + zone
		}
		hostport = "[" + host + "]"
	}
	if port != "" {
		hostport += ":" + port
	}
	path := strings.TrimRight(u.EscapedPath(), "/")
	if n, h := len(scheme), len(hostport); len(raw) == n+3+h+len(path) && raw[:n] == scheme &&
		raw[n:n+3] == "://" && raw[n+3:n+3+h] == hostport && raw[n+3+h:] == path {
		return raw, nil // already normalized: no copy (a client normalizes its config's URL again)
	}
	return scheme + "://" + hostport + path, nil
}

// ValidateAPIKey checks the form of a Tinker credential: it must be present,
// start with "tml-" (an API key) or "eyJ" (a JWT), and consist of printable
// ASCII only: white space, control characters and other bytes (which
// net/http would refuse to send as a header, on every attempt) are refused
// here, naming their position. The error never contains the key.
func ValidateAPIKey(key string) error {
	const op = "api_key"
	if key == "" {
		return ValidationError(op, "no API key: pass WithAPIKey or set TINKER_API_KEY")
	}
	// Bytes first: a key pasted with white space around it is told so,
	// not that its prefix is wrong.
	for i := 0; i < len(key); i++ {
		if c := key[i]; c <= ' ' || c >= 0x7f {
			what := "a control character or non-ASCII byte"
			if c == ' ' || c == '\t' || c == '\n' || c == '\r' {
				what = "white space"
			}
			return ValidationError(op, "the API key contains %s at byte %d of %d; copy the key again without it", what, i, len(key))
		}
	}
	if !strings.HasPrefix(key, "tml-") && !strings.HasPrefix(key, "eyJ") {
		return ValidationError(op, "the API key must start with \"tml-\" (or be a JWT starting with \"eyJ\"); got a key of %d characters with another prefix", len(key))
	}
	return nil
}

// KeyFingerprint returns a short, stable, non-reversible identifier of an API
// key, safe to log: 12 hex digits of a SHA-256.
func KeyFingerprint(key string) string {
	return shortHash("tinkex-key\x00" + key)
}

// ConfigFingerprint identifies a {normalized base URL, API key} config in
// names, logs, metrics and telemetry without revealing the key.
func ConfigFingerprint(normalizedBaseURL, key string) string {
	return shortHash("tinkex-config\x00" + normalizedBaseURL + "\x00" + key)
}

func shortHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:6])
}

package types

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// credentialShape matches text that looks like a Tinker credential: "tml-…"
// API keys, "eyJ…" JWTs (up to three dot-separated parts) and "Bearer …"
// tokens.
var credentialShape = regexp.MustCompile(`\btml-[A-Za-z0-9_\-]+|\beyJ[A-Za-z0-9_\-]{5,}(?:\.[A-Za-z0-9_\-]*){0,2}|(?i:\bbearer\s+)[A-Za-z0-9_\-.~+/=]+`)

// Redact is the one scrubbing function of tinkex. It returns s with every
// occurrence of each of the given secrets (the API key, the JWT it was
// exchanged for), and then anything shaped like a Tinker credential ("tml-…",
// "eyJ…", "Bearer …"), replaced by "[REDACTED:<fingerprint>]", where the
// fingerprint is KeyFingerprint of what was removed, so two lines naming the
// same key can still be correlated.
//
// Text that comes from a server (error bodies, future errors, session
// messages, queue-state reasons, a Location header) must pass through Redact
// before it is cut short, logged, wrapped in an error or put in an event:
// cutting first could leave a prefix of the key that no longer matches.
// Secrets are matched whole and of any length, as they are and as a JSON
// encoder writes them inside a string (a key with '"', '\\' or '<' echoed
// in a JSON error body); empty secrets are ignored.
func Redact(s string, secrets ...string) string {
	if len(secrets) > 1 {
		// Longest first, so a secret that contains another goes as a whole.
		secrets = slices.Clone(secrets)
		slices.SortFunc(secrets, func(a, b string) int { return len(b) - len(a) })
	}
	for _, secret := range secrets {
		if secret == "" {
			continue
		}
		forms := escapedFormsIn(s, secret)
		for _, form := range [...]string{forms[0], forms[1], forms[2], secret} {
			if form != "" && strings.Contains(s, form) {
				s = strings.ReplaceAll(s, form, "[REDACTED:"+KeyFingerprint(secret)+"]")
			}
		}
	}
	if !strings.Contains(s, "tml-") && !strings.Contains(s, "eyJ") && !containsFold(s, "bearer") {
		return s
	}
	return credentialShape.ReplaceAllStringFunc(s, func(m string) string {
		return "[REDACTED:" + KeyFingerprint(m) + "]"
	})
}

// escapedFormsIn is escapedForms(secret) when s may hold one of them, whole
// or as a partial suffix longer than what secret has in common with all
// of them (its part before the first byte JSON escapes), and none when it
// cannot: s does not contain that common part. Checking it first costs
// nothing, where encoding the forms costs several allocations a call.
func escapedFormsIn(s, secret string) [3]string {
	i := strings.IndexFunc(secret, escapedInJSON)
	if i < 0 || i > 0 && !strings.Contains(s, secret[:i]) {
		return [3]string{}
	}
	return escapedForms(secret)
}

// escapedInJSON reports whether r may be written escaped inside a JSON
// string: by encoding/json with or without HTML escaping, or by Python's
// json with ensure_ascii (anything outside ' '..'~').
func escapedInJSON(r rune) bool {
	return r < 0x20 || r == '"' || r == '\\' || r == '<' || r == '>' || r == '&' || r >= 0x7f
}

// escapedForms returns secret as JSON writes it inside a string, each form
// "" when it is secret itself or an earlier form: [0] as encoding/json does
// by default ('<' as \u003c), [1] without HTML escaping (Python's json with
// ensure_ascii=False), [2] as Python's json.dumps does by default
// (ensure_ascii: every character outside ' '..'~' as \uXXXX, lower-case hex,
// a surrogate pair beyond the BMP).
func escapedForms(secret string) [3]string {
	var forms [3]string
	if !strings.ContainsFunc(secret, escapedInJSON) {
		return forms
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for i, escapeHTML := range [...]bool{true, false} {
		buf.Reset()
		enc.SetEscapeHTML(escapeHTML)
		if enc.Encode(secret) != nil {
			continue
		}
		form := strings.TrimSuffix(buf.String(), "\n")
		forms[i] = form[1 : len(form)-1] // the quotes
	}
	forms[2] = pythonASCII(secret)
	for i := range forms {
		if forms[i] == secret || slices.Contains(forms[:i], forms[i]) {
			forms[i] = ""
		}
	}
	return forms
}

// pythonASCII is s as Python's json.dumps writes it inside a string with
// ensure_ascii (its default): '"' and '\\' and the short escapes \b \f \n
// \r \t, anything else outside ' '..'~' as \uXXXX.
func pythonASCII(s string) string {
	var sb strings.Builder
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			sb.WriteByte('\\')
			sb.WriteRune(r)
		case r == '\b':
			sb.WriteString(`\b`)
		case r == '\f':
			sb.WriteString(`\f`)
		case r == '\n':
			sb.WriteString(`\n`)
		case r == '\r':
			sb.WriteString(`\r`)
		case r == '\t':
			sb.WriteString(`\t`)
		case r >= ' ' && r <= '~':
			sb.WriteRune(r)
		case r > 0xffff:
			r -= 0x10000
			fmt.Fprintf(&sb, `\u%04x\u%04x`, 0xd800+(r>>10), 0xdc00+(r&0x3ff))
		default:
			fmt.Fprintf(&sb, `\u%04x`, r)
		}
	}
	return sb.String()
}

// TrimPartialSecret returns s without its longest trailing part that is
// the start of one of the secrets, as is or JSON-escaped (see Redact): what
// a cut through the middle of a secret leaves, which Redact no longer
// recognises. Text cut short before it is redacted passes through it
// first, so no piece of a secret survives the cut.
func TrimPartialSecret(s string, secrets ...string) string {
	trim := 0
	for _, secret := range secrets {
		if secret == "" {
			continue
		}
		forms := escapedFormsIn(s, secret)
		for _, form := range [...]string{forms[0], forms[1], forms[2], secret} {
			if form != "" {
				trim = max(trim, partialSuffix(s, form))
			}
		}
	}
	return s[:len(s)-trim]
}

// partialSuffix is the length of the longest suffix of s that is a proper
// prefix of secret, 0 if none.
func partialSuffix(s, secret string) int {
	for i := max(0, len(s)-len(secret)+1); i < len(s); i++ {
		if s[i] == secret[0] && strings.HasPrefix(secret, s[i:]) {
			return len(s) - i
		}
	}
	return 0
}

// RedactURL describes a URL that came from outside (a Location header, a
// base URL that failed validation) without anything that may carry a
// credential: it keeps the scheme and the host, drops user:password, and
// replaces the path, query and fragment by "/…". What is left passes through
// Redact with the secrets. An empty string gives "(none)".
func RedactURL(raw string, secrets ...string) string {
	s := strings.TrimSpace(raw)
	if s == "" {
		return "(none)"
	}
	scheme, rest, hasScheme := strings.Cut(s, "://")
	if !hasScheme {
		scheme, rest = "", s
	} else if !isSchemeName(scheme) {
		scheme, rest = "", s
		hasScheme = false
	}
	host, tail := rest, ""
	if i := strings.IndexAny(rest, "/?#\\"); i >= 0 {
		host, tail = rest[:i], rest[i:]
	}
	if at := strings.LastIndex(host, "@"); at >= 0 {
		host = "REDACTED@" + host[at+1:]
	}
	if !hasScheme && tail == "" && host != "" && !strings.Contains(host, ".") && !strings.Contains(host, ":") {
		// A bare word is no host name worth quoting (it may be a key
		// passed in the wrong place).
		host, tail = "", host
	}
	const maxHost = 100
	if len(host) > maxHost {
		host = host[:maxHost] + "…"
	}
	var sb strings.Builder
	if hasScheme {
		sb.WriteString(strings.ToLower(scheme))
		sb.WriteString("://")
	}
	sb.WriteString(host)
	if tail != "" && tail != "/" {
		sb.WriteString("/…")
	}
	return Redact(sb.String(), secrets...)
}

func isSchemeName(s string) bool {
	if s == "" || len(s) > 16 {
		return false
	}
	for i, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
		case i > 0 && (r >= '0' && r <= '9' || r == '+' || r == '-' || r == '.'):
		default:
			return false
		}
	}
	return true
}

// containsFold reports whether s contains the lower-case ASCII word sub in
// any case, in one pass over the positions of its first letter.
func containsFold(s, sub string) bool {
	lower, upper := sub[0], sub[0]-'a'+'A'
	for i := 0; i+len(sub) <= len(s); i++ {
		if (s[i] == lower || s[i] == upper) && strings.EqualFold(s[i:i+len(sub)], sub) {
			return true
		}
	}
	return false
}

// RedactError returns err with Redact applied to its text: err itself when
// nothing in its text needs redacting, else an equivalent error without
// the secret. An *Error keeps its kind, status, ids and fields, with its
// Message redacted and a cause whose text needed redacting replaced by a
// plain error of the redacted text (so no Unwrap leads back to the
// secret). Any other error becomes a plain error of the redacted text.
// Decoders use it on errors about server data (a bad timestamp, an
// unknown dtype or field name), whose text quotes what the server sent.
func RedactError(err error, secrets ...string) error {
	if err == nil {
		return nil
	}
	text := err.Error()
	if Redact(text, secrets...) == text {
		return err
	}
	e, ok := err.(*Error)
	if !ok {
		return errors.New(Redact(text, secrets...))
	}
	c := *e
	c.Message = Redact(c.Message, secrets...)
	c.RequestID = Redact(c.RequestID, secrets...)
	c.Path = Redact(c.Path, secrets...)
	if c.Err != nil {
		c.Err = RedactError(c.Err, secrets...)
	}
	return &c
}

package types

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRedact(t *testing.T) {
	const key = "tml-abc.DEF!123" // printable, but not all of it credential-shaped
	fp := "[REDACTED:" + KeyFingerprint(key) + "]"
	assert.Equal(t, "nothing here", Redact("nothing here", key))
	assert.Equal(t, "bad key "+fp+" given", Redact("bad key "+key+" given", key), "the whole key goes, not just its credential-shaped prefix")
	assert.Equal(t, "x", Redact("x", ""), "an empty secret is ignored")

	long := "tml-" + strings.Repeat("k.", 300) // 604 characters
	got := Redact("echo: "+long+" /echo", long)
	assert.Equal(t, "echo: [REDACTED:"+KeyFingerprint(long)+"] /echo", got)

	jwt := "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1In0.c2ln"
	both := Redact("jwt "+jwt+" key "+key, key, jwt)
	assert.NotContains(t, both, "eyJ")
	assert.NotContains(t, both, "tml-")

	// A key the server never saw whole still goes by its shape.
	assert.NotContains(t, Redact("tml-other-key-0123"), "tml-")
}

func TestRedactURL(t *testing.T) {
	const key = "tml-secret-key-0123456789"
	tests := []struct{ in, want string }{
		{"", "(none)"},
		{"https://other.example/steal/" + key + "?t=" + key, "https://other.example/…"},
		{"https://user:pw@other.example:8443/x", "https://REDACTED@other.example:8443/…"},
		{"ftp://x/" + key, "ftp://x/…"},
		{"http:///" + key, "http:///…"},
		{"/relative/" + key, "/…"},
		{key, "/…"},
		{"HTTP://Host.Example/", "http://Host.Example"},
		{"http://" + key + "/x", "http://[REDACTED:" + KeyFingerprint(key) + "]/…"},
	}
	for _, tc := range tests {
		got := RedactURL(tc.in, key)
		assert.Equal(t, tc.want, got, tc.in)
		assert.NotContains(t, got, key[4:12], tc.in)
	}
}

// A base URL that is really a key, or carries one in its path, is refused
// without quoting the key.
func TestBaseURLErrorsNeverQuoteTheKey(t *testing.T) {
	const key = "tml-secret-key-0123456789"
	for _, raw := range []string{"ftp://x/" + key, "http:///" + key, key, "http://x/%zz" + key,
		"https://user:" + key + "@host/x", "https://host/x?k=" + key, "mailto:" + key} {
		_, err := NormalizeBaseURL(raw)
		if !assert.ErrorIs(t, err, ErrValidation, raw) {
			continue
		}
		assert.NotContains(t, err.Error(), key[4:12], raw)
		assert.NotContains(t, err.Error(), "tml-", raw)
	}
}

func TestRedactBearerAnyCase(t *testing.T) {
	for _, in := range []string{"Authorization: BEARER abc.def", "bearer abc", "x BeArEr tok"} {
		assert.NotContains(t, Redact(in), "abc", in)
		assert.NotContains(t, Redact(in), "tok", in)
	}
	assert.Equal(t, "a beard and a bear", Redact("a beard and a bear"))
}

func TestRedactError(t *testing.T) {
	const key = "tml-redact-error-key-0123456789"
	plain := errors.New("nothing secret")
	assert.Same(t, plain, RedactError(plain, key), "an error with nothing to redact is kept")
	assert.NoError(t, RedactError(nil, key))

	cause := fmt.Errorf("bad value x%s", key) // glued: only the exact secret finds it
	e := &Error{Kind: KindValidation, Op: "op", StatusCode: 200, Message: "about " + key, Err: cause}
	got := RedactError(e, key)
	require.ErrorIs(t, got, ErrValidation, "the kind is kept")
	var ge *Error
	require.ErrorAs(t, got, &ge)
	assert.Equal(t, 200, ge.StatusCode)
	assert.NotContains(t, got.Error(), key)
	assert.NotContains(t, errors.Unwrap(got).Error(), key, "the cause no longer leads to the key")
	assert.Contains(t, e.Message, key, "the original is not modified")

	other := RedactError(fmt.Errorf("wrapped %w", errors.New("eyJhbGciOiJIUzI1NiJ9.e30.sig")))
	assert.NotContains(t, other.Error(), "eyJhbGci")
}

// A key with a character JSON escapes ('"', '\\', '<', '>', '&'; the key
// check allows any printable ASCII) echoed in a JSON document is written
// escaped: it goes whole in both escapings, by encoding/json (HTML too) and
// by Python's json (only '"' and '\\'), with the key's fingerprint.
func TestRedactJSONEscapedSecrets(t *testing.T) {
	const key = `tml-Ab3"SECRET\part"<&>tail`
	fp := "[REDACTED:" + KeyFingerprint(key) + "]"
	for name, text := range map[string]string{
		"encoding/json":    `{"input":"tml-Ab3\"SECRET\\part\"\u003c\u0026\u003etail"}`,
		"no HTML escaping": `{"input":"tml-Ab3\"SECRET\\part\"<&>tail"}`,
		"verbatim":         `input: tml-Ab3"SECRET\part"<&>tail`,
	} {
		t.Run(name, func(t *testing.T) {
			got := Redact(text, key)
			assert.NotContains(t, got, "SECRET")
			assert.NotContains(t, got, "tail")
			assert.Contains(t, got, fp)
		})
	}
	assert.Equal(t, "a "+fp, Redact("a "+key, "other", key), "among several secrets")
}

// TrimPartialSecret drops what a cut through a secret leaves at the end,
// as is or JSON-escaped, and nothing else.
func TestTrimPartialSecret(t *testing.T) {
	const key = `tml-abc.SECRET"x`
	for _, tc := range []struct{ in, want string }{
		{"text tml-abc.SEC", "text "},
		{"text " + key, "text " + key},
		{`text tml-abc.SECRET\"`, "text "},
		{`text tml-abc.SECRET\`, "text "},
		{"text tml", "text "},
		{"word", "word"},
		{"text", "tex"}, // a "t" may start the key
		{"", ""},
	} {
		assert.Equal(t, tc.want, TrimPartialSecret(tc.in, key, ""), "%q", tc.in)
	}
	assert.Equal(t, "a ", TrimPartialSecret("a eyJhb", "tml-x", "eyJhbGci"), "the longest piece of any secret")
}

// A secret with a character JSON escapes costs Redact and
// TrimPartialSecret nothing on text that does not hold the part before
// that character: its escaped forms are encoded only when they may match.
// The cases above show they still match when it does.
func TestRedactEncodesEscapedFormsOnlyWhenTheyMayMatch(t *testing.T) {
	const key = `tml-Ab3"SECRET\part"<&>tail`
	const text = "upstream error: connection reset by peer (request 42)"
	assert.Zero(t, testing.AllocsPerRun(100, func() { _ = Redact(text, key) }), "Redact")
	assert.Zero(t, testing.AllocsPerRun(100, func() { _ = TrimPartialSecret(text, key) }), "TrimPartialSecret")
	assert.Equal(t, "cut ", TrimPartialSecret(`cut tml-Ab3\"SEC`, key), "a cut escaped form")
	assert.Equal(t, "cut ", TrimPartialSecret(`cut tml-Ab`, key), "a cut shorter than the common part")
}

// Python's json.dumps escapes every character outside ' '..'~' as \uXXXX
// by default (ensure_ascii), a surrogate pair beyond the BMP: a secret
// with such characters, echoed by a Python server, goes whole too, and a
// cut through that form is trimmed.
func TestRedactPythonASCIIEscapedSecrets(t *testing.T) {
	const secret = "wt-caf\u00e9\u2603\U0001F600\x7f\"end"
	fp := "[REDACTED:" + KeyFingerprint(secret) + "]"
	const echoed = `{"detail":"bad token wt-caf\u00e9\u2603\ud83d\ude00\u007f\"end"}`
	got := Redact(echoed, secret)
	assert.Equal(t, `{"detail":"bad token `+fp+`"}`, got)
	assert.Equal(t, "bad token ", TrimPartialSecret(`bad token wt-caf\u00e9\u26`, secret))
	assert.Equal(t, `wt-caf\u00e9\u2603\ud83d\ude00\u007f\"end`, pythonASCII(secret))
}

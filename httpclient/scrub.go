package httpclient

import (
	"unicode/utf8"

	"github.com/tinkex-go/tinkex/types"
)

// secrets are the credentials of this client that must never leave the
// process in text: the API key and, once exchanged, the JWT sent instead,
// and any value given to WithSecret (e.g. a Cloudflare Access secret).
func (c *Client) secrets() []string {
	out := append(make([]string, 0, 2+len(c.extraSecrets)), c.apiKey)
	if cred := c.token(); cred != c.apiKey {
		out = append(out, cred)
	}
	return append(out, c.extraSecrets...)
}

// WithSecret adds a value Scrub removes from server text, like the API key:
// a secret sent in a default header.
func WithSecret(secret string) Option {
	return func(c *Client) {
		if secret != "" {
			c.extraSecrets = append(c.extraSecrets, secret)
		}
	}
}

// Scrub removes this client's credentials, and anything shaped like a
// Tinker credential, from text that came from the server (types.Redact).
// Callers apply it where server text enters the process, before the text
// is cut short, logged, wrapped in an error or put in an event.
func (c *Client) Scrub(s string) string { return types.Redact(s, c.secrets()...) }

// secrets are the client's secrets and the request's own (Request.Secrets).
func (cl *call) secrets() []string { return append(cl.c.secrets(), cl.req.Secrets...) }

// scrub is Scrub with the request's own secrets too.
func (cl *call) scrub(s string) string { return types.Redact(s, cl.secrets()...) }

// scrubError returns a transport error whose text is scrubbed (scrub): err
// itself when its text holds nothing to remove, else a *scrubbedError
// around it. net/http's errors quote what the server sent (a malformed
// status or header line echoing the key), so every error of the transport
// passes through here as it is returned, before it reaches an Outcome, an
// error, an event or a log line.
func (cl *call) scrubError(err error) error {
	text := err.Error()
	if s := cl.scrub(text); s != text {
		return &scrubbedError{text: s, cause: err}
	}
	return err
}

// scrubbedError is an error with the text of its cause scrubbed. Unwrap
// returns the cause, so errors.Is and errors.As still reach it (a timeout,
// a *url.Error); the cause's own Error() is not scrubbed.
type scrubbedError struct {
	text  string
	cause error
}

func (e *scrubbedError) Error() string { return e.text }

func (e *scrubbedError) Unwrap() error { return e.cause }

// ServerTextLimit bounds server text that reaches the caller outside an
// HTTP error body: a failed future's error and a queue state's reason.
const ServerTextLimit = 1024

// ScrubShort is Scrub, then a cut at ServerTextLimit bytes (on a rune
// boundary, marked with "…"): scrubbing first, within a bounded window, so
// a secret that straddles the cut leaves no prefix and a huge text is not
// scanned to its end.
func (c *Client) ScrubShort(s string) string { return scrubCut(s, ServerTextLimit, c.secrets()) }

// scrubCut redacts secrets from s and cuts it at limit bytes, on a rune
// boundary, marked with "…" when anything was cut. It scrubs first, within
// a bounded window (scrubWindow), so a secret that straddles the cut leaves
// no prefix and a huge text is not scanned to its end.
func scrubCut(s string, limit int, secrets []string) string {
	w := scrubWindow(s, limit, secrets)
	s, windowed := types.Redact(w, secrets...), len(w) < len(s)
	if len(s) <= limit {
		if windowed {
			return s + "…"
		}
		return s
	}
	cut := limit
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// scrubWindow bounds the text scrubbed before a cut at limit bytes: enough
// past the cut that any secret starting before it is still whole (and 1 KiB
// for a credential-shaped one), so a huge body is not scanned to its end.
// A secret the window's end cuts in two is dropped whole
// (types.TrimPartialSecret): redaction shrinks the text, which would pull
// its start, no longer matching the secret, in front of the cut.
func scrubWindow(s string, limit int, secrets []string) string {
	window := limit + 1024
	for _, sec := range secrets {
		window = max(window, limit+len(sec))
	}
	if len(s) > window {
		return types.TrimPartialSecret(s[:window], secrets...)
	}
	return s
}

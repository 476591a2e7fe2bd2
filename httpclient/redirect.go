package httpclient

import (
	"net/http"
	"strconv"

	"github.com/tinkex-go/tinkex/types"
)

// Origin pinning: the API key goes to the configured base URL only. Every
// *http.Client tinkex sends with, its own (Transports) and a user's
// (WithHTTPClient, used through a copy), has refuseRedirect as its
// CheckRedirect, so a 3xx is never followed to any host, the same or
// another: the request, its X-API-Key and its body are sent exactly once,
// to the configured origin. The 3xx itself comes back as the response and
// Do turns it into a KindUser *types.Error (never retried by the default
// policies) whose message names the status and the redacted Location.

// refuseRedirect is the CheckRedirect of every client: it stops at the 3xx
// and hands it back (http.ErrUseLastResponse) instead of following it.
func refuseRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// PinOrigin returns a copy of a user-supplied client that never follows
// redirects; its transport, jar and timeout are shared with hc, which is
// not modified.
func PinOrigin(hc *http.Client) *http.Client {
	c := *hc
	c.CheckRedirect = refuseRedirect
	return &c
}

// isRedirect reports whether status is a 3xx.
func isRedirect(status int) bool { return status >= 300 && status < 400 }

// redirectMessage is the error text of a refused redirect.
func (cl *call) redirectMessage(out Outcome) string {
	return "the server answered " + strconv.Itoa(out.StatusCode) + " " + http.StatusText(out.StatusCode) +
		" with Location " + types.RedactURL(out.Header.Get("Location"), cl.secrets()...) +
		"; tinkex never follows redirects (the API key goes to the configured base URL only): check the base URL"
}

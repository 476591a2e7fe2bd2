package httpclient

import (
	"net/http"
	"runtime"
	"strings"
	"sync/atomic"

	"github.com/tinkex-go/tinkex/types"
)

// UserAgent is sent on every request: tinkex names itself and the Go runtime.
var UserAgent = "Tinkex/Go " + types.Version

// baseHeaders are the headers every request carries: built once per Client
// that adds headers of its own (WithHeader), shared by all the others (the
// map is never written once built: attempts copy from it). With lower set
// (tinkex's own pools) tinkex's own header names are in their wire form (see
// ownKeys).
func baseHeaders(extra http.Header, lower bool) http.Header {
	if len(extra) > 0 {
		return buildBaseHeaders(extra, lower)
	}
	shared := &sharedBaseHeaders[0]
	if lower {
		shared = &sharedBaseHeaders[1]
	}
	if d := shared.Load(); d != nil && d.userAgent == UserAgent {
		return d.h
	}
	d := &defaultHeaders{userAgent: UserAgent, h: buildBaseHeaders(nil, lower)}
	shared.Store(d)
	return d.h
}

// defaultHeaders are the base headers of Clients without headers of their
// own, for the UserAgent they were built with (a program may set it first).
type defaultHeaders struct {
	userAgent string
	h         http.Header
}

// sharedBaseHeaders holds the default base headers with canonical names [0]
// and in their wire form [1].
var sharedBaseHeaders [2]atomic.Pointer[defaultHeaders]

func buildBaseHeaders(extra http.Header, lower bool) http.Header {
	h := http.Header{}
	h.Set("User-Agent", UserAgent)
	h.Set("X-Stainless-Lang", "go")
	h.Set("X-Stainless-Package-Version", types.Version)
	h.Set("X-Stainless-OS", stainlessOS(runtime.GOOS))
	h.Set("X-Stainless-Arch", stainlessArch(runtime.GOARCH))
	h.Set("X-Stainless-Runtime", "go")
	h.Set("X-Stainless-Runtime-Version", strings.TrimPrefix(runtime.Version(), "go"))
	h.Set("X-Stainless-Async", "goroutines")
	for k, vs := range extra {
		for _, v := range vs {
			h.Add(k, v)
		}
	}
	h.Del("X-API-Key") // the credential is set per attempt (see Client.SetCredential)
	if !lower {
		return h
	}
	w := make(http.Header, len(h))
	for k, vs := range h {
		k = wireKey(k)
		w[k] = append(w[k], vs...)
	}
	return w
}

// ownKeys maps the canonical names of tinkex's own headers, which net/http
// never interprets, to their lower-case wire form. On tinkex's own pools
// these names go into the request's header map in lower case:
//   - HTTP/2 (the production service's protocol) sends every name in lower
//     case and lower-cases each name that is not one of its few common ones
//     anew on every request, an allocation per header (about 25 per sample);
//     a name already in lower case costs none.
//   - HTTP/1.1 writes names as they are in the map. Lower case is what the
//     SDK's default transport (pyqwest, on hyper) sends too; header names
//     are case-insensitive (RFC 9110 §5.1).
//
// Other names keep their canonical form: those net/http reads itself
// (User-Agent; X-Idempotency-Key, which makes a POST replayable), those in
// HTTP/2's common set, which cost no allocation (Accept, Content-Type,
// Content-Encoding), the user's own headers (WithHeader,
// CallOptions.Header), and every name on a user-supplied client
// (WithHTTPClient), whose middleware may read them with Header.Get.
var ownKeys = func() map[string]string {
	m := map[string]string{}
	for _, k := range []string{
		"X-Api-Key",
		"X-Stainless-Lang", "X-Stainless-Package-Version", "X-Stainless-Os", "X-Stainless-Arch",
		"X-Stainless-Runtime", "X-Stainless-Runtime-Version", "X-Stainless-Async",
		"X-Stainless-Retry-Count", "X-Stainless-Read-Timeout", "X-Stainless-Raw-Response",
		"X-Tinker-Request-Type", "X-Tinker-Request-Iteration", "X-Tinker-Create-Promise-Roundtrip-Time",
		"X-Tinker-Sampling-Backpressure",
	} {
		m[k] = strings.ToLower(k)
	}
	return m
}()

// wireKey is the name under which a header goes into a request's map on
// tinkex's own pools: the lower-case form of tinkex's own names (ownKeys),
// the canonical form of any other. It allocates only for a name that is not
// canonical already.
func wireKey(k string) string {
	k = http.CanonicalHeaderKey(k)
	if l, ok := ownKeys[k]; ok {
		return l
	}
	return k
}

// The per-attempt names, in both forms.
var (
	keyAPIKey      = [2]string{"X-Api-Key", ownKeys["X-Api-Key"]}
	keyRetryCount  = [2]string{"X-Stainless-Retry-Count", ownKeys["X-Stainless-Retry-Count"]}
	keyReadTimeout = [2]string{"X-Stainless-Read-Timeout", ownKeys["X-Stainless-Read-Timeout"]}
)

func stainlessOS(goos string) string {
	switch goos {
	case "darwin":
		return "MacOS"
	case "linux":
		return "Linux"
	case "windows":
		return "Windows"
	case "freebsd":
		return "FreeBSD"
	case "openbsd":
		return "OpenBSD"
	case "ios":
		return "iOS"
	case "android":
		return "Android"
	}
	return "Other:" + goos
}

func stainlessArch(goarch string) string {
	switch goarch {
	case "amd64":
		return "x64"
	case "386":
		return "x32"
	case "arm64":
		return "arm64"
	case "arm":
		return "arm"
	}
	return "other:" + goarch
}

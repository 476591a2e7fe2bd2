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
// map is never written once built: attempts copy from it).
func baseHeaders(extra http.Header) http.Header {
	if len(extra) > 0 {
		return buildBaseHeaders(extra)
	}
	if d := sharedBaseHeaders.Load(); d != nil && d.userAgent == UserAgent {
		return d.h
	}
	d := &defaultHeaders{userAgent: UserAgent, h: buildBaseHeaders(nil)}
	sharedBaseHeaders.Store(d)
	return d.h
}

// defaultHeaders are the base headers of Clients without headers of their
// own, for the UserAgent they were built with (a program may set it first).
type defaultHeaders struct {
	userAgent string
	h         http.Header
}

var sharedBaseHeaders atomic.Pointer[defaultHeaders]

func buildBaseHeaders(extra http.Header) http.Header {
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
	return h
}

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

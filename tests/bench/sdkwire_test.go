package bench

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tinkex-go/tinkex/internal/uuid"
	"github.com/tinkex-go/tinkex/tinkertest"
)

// The rawsdk stack is rawClient sending the SDK's wire traffic as tinkex
// sends it: every header of tinkex's asample and retrieve_future requests,
// with the same names and values, where rawhttp sends only the three a
// server needs (X-API-Key, Content-Type, Accept). raw÷tinkex is what tinkex
// costs over the least a correct client does; rawsdk÷tinkex is what it
// costs over net/http for the same bytes on the wire, so the two ratios
// split the gap into the protocol's headers and tinkex's own work.
//
// The headers are taken from tinkex itself, not written down here: one
// tinkex sample against an in-process fake, whose log records each
// request's headers (sdkWireHeaders). Per request the raw client makes the
// values tinkex makes per request (perRequestHeaders).

// perRequestHeaders are the captured headers whose values the raw client
// makes for each request, as tinkex does; the log shows X-API-Key as a
// fingerprint.
var perRequestHeaders = []string{"X-Api-Key", "X-Idempotency-Key", "X-Tinker-Request-Iteration",
	"X-Tinker-Create-Promise-Roundtrip-Time"}

// transportHeaders are the headers net/http writes itself, on both stacks.
var transportHeaders = []string{"Content-Length", "Accept-Encoding"}

// sdkWirePaths are the request paths of a sample, with the endpoint whose
// captured headers each one sends.
var sdkWirePaths = map[string]string{
	"/api/v1/asample":         tinkertest.EndpointAsample,
	"/api/v1/retrieve_future": tinkertest.EndpointRetrieveFuture,
}

var sdkWire struct {
	sync.Mutex
	byPath map[string]http.Header
}

// sdkWireHeaders returns, by request path, the headers tinkex sent on a
// sample's asample and retrieve_future, without the per-request and the
// transport's own ones, under the names tinkex puts on the wire: its own
// (x-api-key, x-stainless-*, x-tinker-*) in lower case, as on its own pools
// (docs/protocol.md row 31). The fake's log has them canonical, as Go's
// server reads them. Taken once per process.
func sdkWireHeaders(tb testing.TB) map[string]http.Header {
	tb.Helper()
	sdkWire.Lock()
	defer sdkWire.Unlock()
	if sdkWire.byPath != nil {
		return sdkWire.byPath
	}
	srv := newServer(tb)
	sc := newSampler(tb, newService(tb, newRuntime(tb), srv, keyA))
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	if _, err := tinkexSample(sc)(ctx); err != nil {
		tb.Fatal(err)
	}
	byPath := map[string]http.Header{}
	for path, ep := range sdkWirePaths {
		reqs := srv.Requests(tinkertest.Match{Endpoint: ep})
		if len(reqs) == 0 {
			tb.Fatalf("tinkex sent no %s", ep)
		}
		h := http.Header{}
		for k, vs := range reqs[len(reqs)-1].Header {
			if containsFold(perRequestHeaders, k) || containsFold(transportHeaders, k) {
				continue
			}
			h[sdkWireName(k)] = vs
		}
		byPath[path] = h
	}
	sdkWire.byPath = byPath
	return byPath
}

// sdkWireName is the name tinkex sends a canonical header name under on
// its own pools.
func sdkWireName(k string) string {
	l := strings.ToLower(k)
	if l == "x-api-key" || strings.HasPrefix(l, "x-stainless-") || strings.HasPrefix(l, "x-tinker-") {
		return l
	}
	return k
}

func containsFold(names []string, k string) bool {
	for _, n := range names {
		if strings.EqualFold(n, k) {
			return true
		}
	}
	return false
}

// pollWire is what a retrieve_future request's per-request headers say:
// the poll's 0-based iteration and how long the submit took.
type pollWire struct {
	iteration int
	roundtrip time.Duration
}

// sdkHeader builds the header of one request to path in the SDK's wire
// form from the captured headers, with the values made per request; poll
// is nil on a submit. ok is false for a path no capture covers (the
// stack's setup calls), which sends rawhttp's three headers.
func (c *rawClient) sdkHeader(path string, poll *pollWire) (h http.Header, ok bool) {
	t, ok := c.sdk[path]
	if !ok {
		return nil, false
	}
	h = make(http.Header, len(t)+len(perRequestHeaders))
	for k, vs := range t {
		h[k] = vs
	}
	h["x-api-key"] = c.keyValue
	h["X-Idempotency-Key"] = []string{"tinkex-go-retry-" + uuid.New()}
	if poll != nil {
		h["x-tinker-request-iteration"] = []string{strconv.Itoa(poll.iteration)}
		h["x-tinker-create-promise-roundtrip-time"] = []string{strconv.FormatFloat(poll.roundtrip.Seconds(), 'f', -1, 64)}
	}
	return h, true
}

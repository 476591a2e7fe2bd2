package main

import (
	"bytes"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/tinkex-go/tinkex/tinkertest"
)

// faultTransport injects the schedule's HTTP faults on the client side, for
// -faults against a server the demo cannot script (such as cmd/tinkerfake
// in another process). A matching request gets the fault's status, headers
// and body; everything else goes to next. Only the fields the schedule uses
// are supported: Key, Endpoint, Times, Status, RetryAfterMs and Body.
//
// A training submit is sent first and only its answer replaced: the server
// orders a model's requests by seq_id and would wait forever for one it
// never saw. Other requests (asample) are answered without being sent.
type faultTransport struct {
	next http.RoundTripper

	mu     sync.Mutex
	nextID int
	faults []*clientFault
}

type clientFault struct {
	id   int
	f    tinkertest.Fault
	left int
}

func (t *faultTransport) inject(f tinkertest.Fault) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.nextID++
	t.faults = append(t.faults, &clientFault{id: t.nextID, f: f, left: f.Times})
	return t.nextID
}

func (t *faultTransport) take(r *http.Request) *tinkertest.Fault {
	t.mu.Lock()
	defer t.mu.Unlock()
	for i, cf := range t.faults {
		f := cf.f
		if f.Key != "" && r.Header.Get("X-API-Key") != f.Key ||
			f.Endpoint != "" && !strings.HasSuffix(r.URL.Path, "/api/v1/"+f.Endpoint) {
			continue
		}
		cf.left--
		if f.Times > 0 && cf.left <= 0 {
			t.faults = append(t.faults[:i:i], t.faults[i+1:]...)
		}
		return &f
	}
	return nil
}

func (t *faultTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	f := t.take(r)
	if f == nil {
		return t.next.RoundTrip(r)
	}
	if trainingSubmit(f.Endpoint) {
		res, err := t.next.RoundTrip(r)
		if err != nil {
			return nil, err
		}
		_, _ = io.Copy(io.Discard, res.Body)
		_ = res.Body.Close()
	} else if r.Body != nil {
		_ = r.Body.Close()
	}
	body := f.Body
	if body == "" {
		body = `{"detail":"injected by the demo: ` + http.StatusText(f.Status) + `"}`
	}
	h := http.Header{"Content-Type": {"application/json"}}
	if f.RetryAfterMs != "" {
		h.Set("retry-after-ms", f.RetryAfterMs)
	}
	return &http.Response{
		Status: strconv.Itoa(f.Status) + " " + http.StatusText(f.Status), StatusCode: f.Status,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, Header: h,
		Body: io.NopCloser(bytes.NewReader([]byte(body))), ContentLength: int64(len(body)), Request: r,
	}, nil
}

// trainingSubmit reports whether endpoint carries a model's seq_id.
func trainingSubmit(endpoint string) bool {
	switch endpoint {
	case tinkertest.EndpointForwardBackward, tinkertest.EndpointForward, tinkertest.EndpointOptimStep,
		tinkertest.EndpointSaveWeights, tinkertest.EndpointSaveWeightsForSampler, tinkertest.EndpointLoadWeights:
		return true
	}
	return false
}

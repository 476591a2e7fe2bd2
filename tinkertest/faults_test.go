package tinkertest

import (
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tinkex-go/tinkex/types"
)

func TestStatusFaultIsPerKeyAndCounted(t *testing.T) {
	srv := newServer(t)
	a, b := client(t, srv, keyA), client(t, srv, keyB)
	smpA, smpB := a.sampler(a.session(), 0), b.sampler(b.session(), 0)
	id := srv.Inject(Fault{Key: keyA, Endpoint: EndpointAsample, Status: 429, RetryAfter: "2", RetryAfterMs: "1500", ShouldRetry: "true", Times: 2})

	for seq := range 2 {
		r := a.post(EndpointAsample, sampleBody(smpA, seq, []int{1}, 1))
		assert.Equal(t, 429, r.status)
		assert.Equal(t, "2", r.header.Get("Retry-After"))
		assert.Equal(t, "1500", r.header.Get("retry-after-ms"))
		assert.Equal(t, "true", r.header.Get("x-should-retry"))
		assert.NotEmpty(t, r.json(t)["detail"])
		// Key B is untouched while A's fault is active.
		assert.Equal(t, 200, b.post(EndpointAsample, sampleBody(smpB, seq, []int{1}, 1)).status)
	}
	assert.Equal(t, 200, a.post(EndpointAsample, sampleBody(smpA, 0, []int{1}, 1)).status, "Times is used up")
	assert.Equal(t, 2, srv.FaultHits(id))
	faulted := srv.Requests(Match{Key: keyA, Endpoint: EndpointAsample, Status: 429})
	require.Len(t, faulted, 2)
	assert.Equal(t, id, faulted[0].FaultID)
	assert.Contains(t, faulted[0].Fault, "status 429")
	info, _ := srv.Sampler(smpA)
	assert.Equal(t, []int64{0}, info.SeqIDs, "faulted requests were not processed")
	assert.Equal(t, smpA, faulted[1].SamplerID, "a faulted request is still logged with its ids")
	assert.Equal(t, int64(1), faulted[1].SeqID)
	assert.Zero(t, srv.Count(Match{Key: keyB, Status: 429}))
}

func TestFaultEveryAndSkip(t *testing.T) {
	srv := newServer(t)
	c := client(t, srv, keyA)
	srv.Inject(Fault{Endpoint: EndpointHealthz, Status: 503, Every: 3})
	srv.Inject(Fault{Endpoint: EndpointCapabilities, Status: 500, Skip: 2, Times: 1})
	var got []int
	for range 6 {
		got = append(got, c.get(EndpointHealthz).status)
	}
	assert.Equal(t, []int{200, 200, 503, 200, 200, 503}, got)
	got = nil
	for range 4 {
		got = append(got, c.get(EndpointCapabilities).status)
	}
	assert.Equal(t, []int{200, 200, 500, 200}, got)
	srv.ClearFaults()
	assert.Equal(t, 200, c.get(EndpointHealthz).status)
	id := srv.Inject(Fault{Status: 500})
	assert.Equal(t, 500, c.get(EndpointHealthz).status)
	srv.RemoveFault(id)
	assert.Equal(t, 200, c.get(EndpointHealthz).status)
}

func TestFutureLevelFaults(t *testing.T) {
	srv := newServer(t)
	c := client(t, srv, keyA)
	smp := c.sampler(c.session(), 0)
	id := c.ok(EndpointAsample, sampleBody(smp, 0, []int{1}, 1))["request_id"].(string)

	cases := []struct {
		name  string
		fault Fault
		check func(t *testing.T, r resp)
	}{
		{"bare 400", Fault{Status: 400, EmptyBody: true}, func(t *testing.T, r resp) {
			assert.Equal(t, 400, r.status)
			assert.Empty(t, r.body)
			assert.Equal(t, "0", r.header.Get("Content-Length"))
		}},
		{"408 with queue state", Fault{Status: 408, QueueState: "paused_capacity", QueueStateReason: "busy"}, func(t *testing.T, r resp) {
			assert.Equal(t, 408, r.status)
			assert.Equal(t, map[string]any{"queue_state": "paused_capacity", "queue_state_reason": "busy"}, r.json(t))
		}},
		{"410", Fault{Status: 410}, func(t *testing.T, r resp) { assert.Equal(t, 410, r.status) }},
		{"402", Fault{Status: 402}, func(t *testing.T, r resp) { assert.Equal(t, 402, r.status) }},
		{"429", Fault{Status: 429}, func(t *testing.T, r resp) { assert.Equal(t, 429, r.status) }},
		{"502", Fault{Status: 502}, func(t *testing.T, r resp) { assert.Equal(t, 502, r.status) }},
		{"custom body", Fault{Status: 500, Body: `{"detail":"boom"}`}, func(t *testing.T, r resp) {
			assert.Equal(t, "boom", r.json(t)["detail"])
		}},
		{"paused rate limit", Fault{QueueState: "paused_rate_limit"}, func(t *testing.T, r resp) {
			assert.Equal(t, 200, r.status)
			assert.Equal(t, map[string]any{"type": "try_again", "request_id": id, "queue_state": "paused_rate_limit"}, r.json(t))
		}},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			tt.fault.Key, tt.fault.Endpoint, tt.fault.Times = keyA, EndpointRetrieveFuture, 1
			srv.Inject(tt.fault)
			tt.check(t, c.poll(id, false, "application/x-protobuf"))
		})
	}

	// N pending polls, then the result.
	srv.Inject(Fault{Endpoint: EndpointRetrieveFuture, QueueState: "active", Times: 3})
	for range 3 {
		assert.Equal(t, "try_again", c.poll(id, false, "application/json").json(t)["type"])
	}
	assert.Contains(t, c.poll(id, false, "application/json").json(t), "sequences")

	// A future error on poll fails the future for good.
	srv.Inject(Fault{Endpoint: EndpointRetrieveFuture, FutureError: "backend exploded", Category: types.CategoryServer, Times: 1})
	want := map[string]any{"error": "backend exploded", "category": "server"}
	assert.Equal(t, want, c.poll(id, false, "application/json").json(t))
	assert.Equal(t, want, c.poll(id, false, "application/json").json(t))

	// A future error on submit: accepted, the future fails.
	srv.Inject(Fault{Endpoint: EndpointAsample, FutureError: "bad prompt", Category: types.CategoryUser, Times: 1})
	id2 := c.ok(EndpointAsample, sampleBody(smp, 1, []int{1}, 1))["request_id"].(string)
	assert.Equal(t, map[string]any{"error": "bad prompt", "category": "user"}, c.poll(id2, false, "application/json").json(t))
}

func TestFaultIsolationForFutureFaults(t *testing.T) {
	srv := newServer(t)
	a, b := client(t, srv, keyA), client(t, srv, keyB)
	smpA, smpB := a.sampler(a.session(), 0), b.sampler(b.session(), 0)
	idA := a.ok(EndpointAsample, sampleBody(smpA, 0, []int{1}, 1))["request_id"].(string)
	idB := b.ok(EndpointAsample, sampleBody(smpB, 0, []int{1}, 1))["request_id"].(string)
	srv.Inject(Fault{Key: keyA, Endpoint: EndpointRetrieveFuture, Status: 503})
	srv.Inject(Fault{Key: keyA, Endpoint: EndpointRetrieveFuture, FutureError: "x"})
	assert.Equal(t, 503, a.poll(idA, false, "application/json").status)
	assert.Contains(t, b.poll(idB, false, "application/json").json(t), "sequences")
}

func rawDo(t *testing.T, srv *Server, endpoint string, body any) (*http.Response, error) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, err := http.NewRequest(http.MethodPost, srv.URL()+"/api/v1/"+endpoint, bytesReader(b))
	require.NoError(t, err)
	req.Header.Set("X-API-Key", keyA)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/x-protobuf")
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return (&http.Client{Transport: tr}).Do(req)
}

var sessionBody = map[string]any{"tags": []string{}, "user_metadata": map[string]any{}, "sdk_version": "0.25.0", "type": "create_session"}

func TestConnectionFaults(t *testing.T) {
	srv := newServer(t)

	srv.Inject(Fault{Endpoint: EndpointCreateSession, Reset: true, Times: 1})
	_, err := rawDo(t, srv, EndpointCreateSession, sessionBody)
	require.Error(t, err, "connection reset")
	assert.Empty(t, srv.Sessions(), "a reset before handling does no work")

	srv.Inject(Fault{Endpoint: EndpointCreateSession, DropResponse: true, Times: 1})
	_, err = rawDo(t, srv, EndpointCreateSession, sessionBody)
	require.Error(t, err)
	assert.Len(t, srv.Sessions(), 1, "a dropped response still did the work")

	srv.Inject(Fault{Endpoint: EndpointCreateSession, Truncate: true, Times: 1})
	res, err := rawDo(t, srv, EndpointCreateSession, sessionBody)
	require.NoError(t, err)
	_, err = io.ReadAll(res.Body)
	res.Body.Close()
	assert.ErrorIs(t, err, io.ErrUnexpectedEOF)
	assert.Len(t, srv.Sessions(), 2)

	srv.Inject(Fault{Endpoint: EndpointCreateSession, Malformed: true, Times: 1})
	res, err = rawDo(t, srv, EndpointCreateSession, sessionBody)
	require.NoError(t, err)
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	assert.Equal(t, 200, res.StatusCode)
	assert.False(t, json.Valid(b))

	// Malformed protobuf result.
	c := client(t, srv, keyA)
	smp := c.sampler(c.session(), 0)
	id := c.ok(EndpointAsample, sampleBody(smp, 0, []int{1}, 1))["request_id"].(string)
	srv.Inject(Fault{Endpoint: EndpointRetrieveFuture, Malformed: true, Times: 1})
	r := c.poll(id, false, "application/x-protobuf")
	assert.Equal(t, "application/x-protobuf", r.header.Get("Content-Type"))
	_, err = types.DecodeSampleResponse(r.body)
	assert.Error(t, err)
	_, err = types.DecodeSampleResponse(c.poll(id, false, "application/x-protobuf").body)
	assert.NoError(t, err, "the result survives a corrupted delivery")
}

func TestDelayFault(t *testing.T) {
	srv := newServer(t)
	c := client(t, srv, keyA)
	id := srv.Inject(Fault{Endpoint: EndpointHealthz, Delay: 5 * time.Millisecond, Times: 1})
	assert.Equal(t, 200, c.get(EndpointHealthz).status, "a delay alone still answers normally")
	assert.Equal(t, 1, srv.FaultHits(id))
	assert.Contains(t, srv.Requests(Match{Endpoint: EndpointHealthz})[0].Fault, "delay")

	// A long delay ends when the server closes.
	srv2 := NewServer()
	srv2.Inject(Fault{Endpoint: EndpointHealthz, Delay: time.Hour})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if res, err := http.Get(srv2.URL() + "/api/v1/healthz"); err == nil {
			res.Body.Close()
		}
	}()
	arrived(t, srv2, EndpointHealthz, 1)
	srv2.Close()
	wg.Wait()
	http.DefaultClient.CloseIdleConnections()
}

func TestRateLimit(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	srv := newServer(t, WithNow(clock), WithRateLimit(RateLimit{Endpoint: EndpointCapabilities, Rate: 2, Burst: 2}))
	a, b := client(t, srv, keyA), client(t, srv, keyB)
	assert.Equal(t, 200, a.get(EndpointCapabilities).status)
	assert.Equal(t, 200, a.get(EndpointCapabilities).status)
	r := a.get(EndpointCapabilities)
	assert.Equal(t, 429, r.status)
	assert.Equal(t, "1", r.header.Get("Retry-After"))
	assert.Equal(t, "500", r.header.Get("retry-after-ms"))
	assert.Equal(t, 200, b.get(EndpointCapabilities).status, "buckets are per key")
	assert.Equal(t, 200, a.get(EndpointHealthz).status, "other endpoints are not limited")
	mu.Lock()
	now = now.Add(500 * time.Millisecond)
	mu.Unlock()
	assert.Equal(t, 200, a.get(EndpointCapabilities).status)
	srv.SetRateLimits()
	for range 5 {
		assert.Equal(t, 200, a.get(EndpointCapabilities).status)
	}
}

package tinkertest

import (
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// arrived waits until n requests to endpoint have reached the server.
func arrived(t *testing.T, srv *Server, endpoint string, n int) {
	t.Helper()
	require.Eventually(t, func() bool { return srv.CountEndpoint(endpoint) >= n }, 10*time.Second, time.Millisecond)
}

func TestLongPollWakesWhenWorkCompletes(t *testing.T) {
	srv := newServer(t, WithLongPollHold(time.Hour))
	c := client(t, srv, keyA)
	smp := c.sampler(c.session(), 0)
	srv.PauseProcessing()
	id := c.ok(EndpointAsample, sampleBody(smp, 0, []int{1}, 2))["request_id"].(string)

	done := make(chan resp, 1)
	go func() { done <- c.poll(id, false, "application/x-protobuf") }()
	arrived(t, srv, EndpointRetrieveFuture, 1)
	srv.ResumeProcessing()
	r := <-done
	assert.Equal(t, http.StatusOK, r.status)
	assert.Equal(t, "application/x-protobuf", r.header.Get("Content-Type"))
}

func TestLongPollAnswersTryAgainAfterHold(t *testing.T) {
	srv := newServer(t, WithLongPollHold(time.Millisecond))
	c := client(t, srv, keyA)
	smp := c.sampler(c.session(), 0)
	srv.PauseProcessing()
	id := c.ok(EndpointAsample, sampleBody(smp, 0, []int{1}, 2))["request_id"].(string)
	m := c.poll(id, true, "application/x-protobuf").json(t)
	assert.Equal(t, map[string]any{"type": "try_again", "request_id": id, "queue_state": "active"}, m)
}

func TestCloseWithPollInFlight(t *testing.T) {
	srv := NewServer(WithLongPollHold(time.Hour))
	c := client(t, srv, keyA)
	smp := c.sampler(c.session(), 0)
	srv.PauseProcessing()
	id := c.ok(EndpointAsample, sampleBody(smp, 0, []int{1}, 2))["request_id"].(string)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		b := []byte(`{"request_id":"` + id + `","allow_metadata_only":false}`)
		req, _ := http.NewRequest(http.MethodPost, srv.URL()+"/api/v1/retrieve_future", bytesReader(b))
		req.Header.Set("X-API-Key", keyA)
		req.Header.Set("Content-Type", "application/json")
		if res, err := c.http.Do(req); err == nil {
			res.Body.Close()
		}
	}()
	arrived(t, srv, EndpointRetrieveFuture, 1)
	srv.Close()
	wg.Wait()
	srv.Close() // idempotent
}

func TestCompleteMetadata(t *testing.T) {
	srv := newServer(t, WithCompleteMetadata())
	c := client(t, srv, keyA)
	smp := c.sampler(c.session(), 0)
	id := c.ok(EndpointAsample, sampleBody(smp, 0, []int{1, 2}, 3))["request_id"].(string)
	meta := c.poll(id, true, "application/x-protobuf")
	require.Equal(t, http.StatusOK, meta.status)
	m := meta.json(t)
	assert.Equal(t, "complete_metadata", m["status"])
	full := c.poll(id, false, "application/x-protobuf")
	assert.Equal(t, "application/x-protobuf", full.header.Get("Content-Type"))
	assert.EqualValues(t, len(full.body), m["response_payload_size"])
}

func TestFutureExpiryAndOwnership(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	srv := newServer(t, WithNow(clock), WithFutureTTL(time.Minute, 10*time.Second))
	c := client(t, srv, keyA)
	smp := c.sampler(c.session(), 0)
	id := c.ok(EndpointAsample, sampleBody(smp, 0, []int{1}, 1))["request_id"].(string)

	assert.Equal(t, http.StatusNotFound, client(t, srv, keyB).poll(id, false, "application/json").status, "another key's future")
	assert.Equal(t, http.StatusNotFound, c.poll("never-issued", false, "application/json").status)

	require.Contains(t, c.result(id), "sequences")
	require.Contains(t, c.result(id), "sequences", "a re-poll soon after delivery still gets the result")
	advance(11 * time.Second)
	c.ok(EndpointAsample, sampleBody(smp, 1, []int{1}, 1)) // a submit sweeps
	r := c.poll(id, false, "application/json")
	assert.Equal(t, http.StatusGone, r.status, "%s", r.body)
	assert.Contains(t, r.json(t)["detail"], "expired")

	// Never retrieved: gone after the completed TTL.
	advance(2 * time.Minute)
	c.ok(EndpointAsample, sampleBody(smp, 2, []int{1}, 1))
	assert.Equal(t, http.StatusGone, c.poll(smp+":1", false, "application/json").status)

	srv.ExpireFuture(smp + ":2")
	assert.Equal(t, http.StatusGone, c.poll(smp+":2", false, "application/json").status)
	assert.Equal(t, 0, srv.Futures())
}

func TestServiceTime(t *testing.T) {
	srv := newServer(t, WithServiceTime(EndpointAsample, 20*time.Millisecond), WithLongPollHold(time.Hour))
	c := client(t, srv, keyA)
	smp := c.sampler(c.session(), 0)
	id := c.ok(EndpointAsample, sampleBody(smp, 0, []int{1}, 1))["request_id"].(string)
	// The long poll holds until the service time has passed; no sleeping here.
	assert.Contains(t, c.poll(id, false, "application/json").json(t), "sequences")
	srv.SetServiceTime(EndpointAsample, time.Hour)
	c.ok(EndpointAsample, sampleBody(smp, 1, []int{1}, 1))
	// Close stops the pending timer (goleak checks it).
}

package tinkertest

import (
	"encoding/json"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestInFlightCountsConcurrentSubmitsPerKey(t *testing.T) {
	srv := newServer(t)
	a, b := client(t, srv, keyA), client(t, srv, keyB)
	smpA, smpB := a.sampler(a.session(), 0), b.sampler(b.session(), 0)
	// Hold A's submits in the server (a Delay fault) until three are in.
	srv.Inject(Fault{Key: keyA, Endpoint: EndpointAsample, Delay: time.Hour, Times: 3})
	var wg sync.WaitGroup
	for seq := range 3 {
		wg.Add(1)
		body, err := json.Marshal(sampleBody(smpA, seq, []int{1}, 1))
		require.NoError(t, err)
		go func() {
			defer wg.Done()
			_, _ = a.try(http.MethodPost, EndpointAsample, body, nil) // ends with the server's close
		}()
	}
	require.Eventually(t, func() bool { now, _ := srv.InFlight(keyA, EndpointAsample); return now == 3 }, 10*time.Second, time.Millisecond)
	now, _ := srv.InFlight(keyB, EndpointAsample)
	assert.Zero(t, now, "key B has nothing in flight")
	assert.Equal(t, 200, b.post(EndpointAsample, sampleBody(smpB, 0, []int{1}, 1)).status)
	_, peakB := srv.InFlight(keyB, EndpointAsample)
	assert.Equal(t, 1, peakB)
	srv.Close() // ends the held requests
	wg.Wait()
	now, peak := srv.InFlight(keyA, EndpointAsample)
	assert.Zero(t, now)
	assert.Equal(t, 3, peak)
	srv.ResetPeak(keyA, EndpointAsample)
	_, peak = srv.InFlight(keyA, EndpointAsample)
	assert.Zero(t, peak)
}

package tinkertest

import (
	"encoding/json"
	"net/http"
	"testing"
)

// BenchmarkSampleRoundTrip measures one asample submit plus one
// retrieve_future poll (protobuf result) against the fake, in parallel.
func BenchmarkSampleRoundTrip(b *testing.B) {
	srv := NewServer(WithLogLimit(1000))
	defer srv.Close()
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	defer tr.CloseIdleConnections()
	c := &tc{srv: srv, key: keyA, http: &http.Client{Transport: tr}}
	sid, err := postID(c, EndpointCreateSession, sessionBody, "session_id")
	if err != nil {
		b.Fatal(err)
	}
	smp, err := postID(c, EndpointCreateSamplingSession, map[string]any{"session_id": sid, "sampling_session_seq_id": 0,
		"base_model": "Qwen/Qwen3-8B", "type": "create_sampling_session"}, "sampling_session_id")
	if err != nil {
		b.Fatal(err)
	}
	var seq atomicCounter
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			id, err := postID(c, EndpointAsample, sampleBody(smp, int(seq.next()), []int{1, 2, 3, 4}, 16), "request_id")
			if err != nil {
				b.Error(err)
				return
			}
			body, _ := json.Marshal(map[string]any{"request_id": id, "allow_metadata_only": false})
			r, err := c.try(http.MethodPost, EndpointRetrieveFuture, body, map[string]string{"Accept": "application/x-protobuf"})
			if err != nil || r.status != http.StatusOK {
				b.Errorf("poll: %v %d", err, r.status)
				return
			}
		}
	})
}

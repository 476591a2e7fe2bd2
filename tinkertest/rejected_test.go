package tinkertest

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A training submit refused for good (an injected 400) spends its seq_id:
// the next seq_id runs without waiting for it, and a resubmission of the
// refused one answers its failed future. A retryable refusal (503) does not.
func TestRejectedSubmitSpendsItsSeqID(t *testing.T) {
	srv := newServer(t, WithLongPollHold(0))
	c := client(t, srv, keyA)
	model := c.model(c.session(), 0)

	srv.Inject(Fault{Endpoint: EndpointOptimStep, Status: http.StatusBadRequest, Times: 1})
	r := c.post(EndpointOptimStep, optimBody(model, 1, 1e-4))
	require.Equal(t, http.StatusBadRequest, r.status)
	entries := srv.Requests(Match{Endpoint: EndpointOptimStep})
	require.Len(t, entries, 1)
	assert.Equal(t, int64(1), entries[0].SeqID, "the refused request is logged with its seq_id")

	o2 := c.ok(EndpointOptimStep, optimBody(model, 2, 1e-4))
	res := c.result(o2["request_id"].(string))
	assert.Contains(t, res, "metrics", "seq 2 ran without waiting for the refused seq 1")

	again := c.ok(EndpointOptimStep, optimBody(model, 1, 1e-4))
	assert.Equal(t, model+":1", again["request_id"])
	failed := c.poll(model+":1", false, "application/json").json(t)
	assert.Equal(t, "user", failed["category"])

	srv.Inject(Fault{Endpoint: EndpointOptimStep, Status: http.StatusServiceUnavailable, Times: 1})
	require.Equal(t, http.StatusServiceUnavailable, c.post(EndpointOptimStep, optimBody(model, 3, 1e-4)).status)
	info, ok := srv.Model(model)
	require.True(t, ok)
	assert.Equal(t, int64(3), info.NextSeqID, "a retryable refusal leaves seq 3 for the client's retry")
	o3 := c.ok(EndpointOptimStep, optimBody(model, 3, 1e-4))
	assert.Contains(t, c.result(o3["request_id"].(string)), "metrics")
}

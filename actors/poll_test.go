package actors

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tinkex-go/tinkex/telemetry"
	"github.com/tinkex-go/tinkex/tinkertest"
	"github.com/tinkex-go/tinkex/types"
)

// complete_metadata: the first poll announces the size, the client reserves
// it in the in-flight byte budget and polls again without metadata-only.
func TestPollCompleteMetadataTwoStep(t *testing.T) {
	e := newEnv(t, []tinkertest.Option{tinkertest.WithCompleteMetadata()})
	svc := e.service(t)
	sc := sampler(t, e, svc)
	res, err := sc.Sample(ctxT(t), prompt, 2, types.DefaultSamplingParams())
	require.NoError(t, err)
	assert.Len(t, res.Sequences, 2)
	polls := e.srv.Requests(tinkertest.Match{Endpoint: tinkertest.EndpointRetrieveFuture})
	require.Len(t, polls, 2)
	assert.Equal(t, true, polls[0].Body.(map[string]any)["allow_metadata_only"])
	assert.Equal(t, false, polls[1].Body.(map[string]any)["allow_metadata_only"])
	assert.Equal(t, int64(0), svc.inflight.Stats().BytesInUse, "the reservation is released after decoding")
}

// A poll deadline ends a future that never completes with KindTimeout.
func TestPollDeadline(t *testing.T) {
	e := newEnv(t, nil, WithPollDeadline(50*time.Millisecond))
	rec := recordEvents(t, e.rt.bus)
	svc := e.service(t)
	tc := trainer(t, svc)
	e.srv.PauseProcessing()
	defer e.srv.ResumeProcessing()
	_, err := tc.OptimStep(ctxT(t), types.DefaultAdamParams()).Result(ctxT(t))
	assert.ErrorIs(t, err, types.ErrTimeout)
	assert.Contains(t, err.Error(), "poll deadline")
	assert.Len(t, rec.named(telemetry.FutureTimeout), 1)
}

// A paused queue state is logged, once per minute at most.
func TestPausedQueueStateIsLoggedDebounced(t *testing.T) {
	logger, logged := captureLogs(slog.LevelInfo)
	e := newEnv(t, nil, WithLogger(logger))
	svc := e.service(t)
	tc := trainer(t, svc)
	e.srv.Inject(tinkertest.Fault{Endpoint: tinkertest.EndpointRetrieveFuture, QueueState: "paused_capacity", Times: 5})
	_, err := tc.OptimStep(ctxT(t), types.DefaultAdamParams()).Result(ctxT(t))
	require.NoError(t, err)
	out := logged()
	assert.Equal(t, 1, strings.Count(out, "optim_step is waiting: Tinker backend is running short on capacity"), out)
}

// Server telemetry: a user error becomes a user_error event in a batch.
func TestUserErrorReachesServerTelemetry(t *testing.T) {
	e := newEnv(t, nil)
	svc := e.service(t, WithTelemetry(true))
	tc := trainer(t, svc)
	e.srv.Inject(tinkertest.Fault{Endpoint: tinkertest.EndpointOptimStep, FutureError: "bad", Category: types.CategoryUser, Times: 1})
	_, err := tc.OptimStep(ctxT(t), types.DefaultAdamParams()).Result(ctxT(t))
	require.ErrorIs(t, err, types.ErrRequestFailed)
	require.NoError(t, svc.Close(context.Background()))
	var names []string
	for _, b := range e.srv.TelemetryBatches() {
		for _, ev := range b.Events {
			if n, ok := ev["event_name"].(string); ok {
				names = append(names, n)
			}
		}
		raw, err := json.Marshal(b.Body)
		require.NoError(t, err)
		assert.NotContains(t, string(raw), keyA)
	}
	assert.Contains(t, names, "user_error")
}

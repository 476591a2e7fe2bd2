package tinkex

import (
	"context"
	"fmt"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tinkex-go/tinkex/clock"
	"github.com/tinkex-go/tinkex/tinkertest"
)

// A ServiceClient made WithoutSession is the SDK's REST holder (reference
// §1, §3.3): client/config and dynamic_config, then no create_session and
// no heartbeat, ever; its SessionID is "sessionless-<uuid4>". REST calls
// work; training and sampling clients are refused before anything is sent.
func TestWithoutSessionCreatesNoSessionAndSendsNoHeartbeat(t *testing.T) {
	fc := clock.NewFake(time.Unix(1_700_000_000, 0))
	e := newEnv(t, nil, WithClock(fc))
	svc := e.service(t, WithoutSession(), WithTelemetry(false))
	ctx := ctxT(t)

	assert.Regexp(t, regexp.MustCompile(`^sessionless-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`), svc.SessionID())
	assert.Equal(t, 1, e.srv.CountEndpoint(tinkertest.EndpointClientConfig))
	assert.Equal(t, 1, e.srv.CountEndpoint(tinkertest.EndpointDynamicConfig))
	assert.Zero(t, e.srv.CountEndpoint(tinkertest.EndpointCreateSession))
	assert.Empty(t, e.srv.Sessions())
	assert.Zero(t, fc.Pending(), "no heartbeat armed")
	fc.Advance(time.Hour)
	assert.Zero(t, e.srv.CountEndpoint(tinkertest.EndpointHeartbeat))

	_, err := svc.GetServerCapabilities(ctx)
	require.NoError(t, err)
	_, err = svc.Rest().ListTrainingRuns(ctx)
	require.NoError(t, err)

	before := len(e.srv.Requests(tinkertest.Match{}))
	_, err = svc.CreateLoRATrainingClient(ctx, "Qwen/Qwen3-8B")
	assertNoSession(t, err, "create_model")
	_, err = svc.CreateTrainingClientFromState(ctx, "tinker://run/weights/c0")
	assertNoSession(t, err, "create_training_client_from_state")
	_, err = svc.CreateSamplingClient(ctx, WithBaseModel("Qwen/Qwen3-8B"))
	assertNoSession(t, err, "create_sampling_session")
	assert.Len(t, e.srv.Requests(tinkertest.Match{}), before, "nothing sent")

	require.NoError(t, svc.Close(context.Background()))
	assert.Zero(t, fc.Pending(), "nothing left armed")
}

func assertNoSession(t *testing.T, err error, op string) {
	t.Helper()
	require.Error(t, err, op)
	assert.ErrorIs(t, err, ErrNoSession, op)
	assert.ErrorIs(t, err, ErrValidation, op)
	var te *Error
	require.ErrorAs(t, err, &te, op)
	assert.Equal(t, op, te.Op)
}

// The REST holder's telemetry carries its sessionless id and no
// SESSION_START (reference §5).
func TestWithoutSessionTelemetryIsSessionless(t *testing.T) {
	e := newEnv(t, nil)
	svc := e.service(t, WithoutSession(), WithTelemetry(true))
	_, err := svc.Rest().GetTrainingRun(ctxT(t), "no-such-run")
	require.Error(t, err)
	require.NoError(t, svc.Close(context.Background()))
	batches := e.srv.TelemetryBatches()
	require.NotEmpty(t, batches, "the failed call's event is flushed by Close")
	for _, b := range batches {
		assert.Equal(t, svc.SessionID(), b.SessionID)
		for _, ev := range b.Events {
			assert.NotEqual(t, "SESSION_START", fmt.Sprint(ev["event"]))
		}
	}
}

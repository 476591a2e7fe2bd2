package tinkex

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tinkex-go/tinkex/tinkertest"
	"github.com/tinkex-go/tinkex/types"
)

// TestUnloadClosesTheTrainingClient: after Unload every call fails with
// ErrClientStopped and sends nothing (not a server 404), and the client's
// actor has left the tree.
func TestUnloadClosesTheTrainingClient(t *testing.T) {
	e := newEnv(t, nil)
	ctx := ctxT(t)
	svc := e.service(t)
	tc := trainer(t, svc)
	_, err := tc.Unload(ctx)
	require.NoError(t, err)
	sent := len(e.srv.Requests(tinkertest.Match{}))

	calls := map[string]error{}
	_, calls["forward_backward"] = tc.ForwardBackward(ctx, []types.Datum{datum(t, 1, 2)}, types.LossCrossEntropy).Result(ctx)
	_, calls["optim_step"] = tc.OptimStep(ctx, types.DefaultAdamParams()).Result(ctx)
	_, calls["save_state"] = tc.SaveState(ctx, "after").Result(ctx)
	_, calls["get_info"] = tc.GetInfo(ctx)
	_, calls["unload"] = tc.Unload(ctx)
	for name, err := range calls {
		assert.ErrorIs(t, err, types.ErrClientStopped, name)
		assert.NotErrorIs(t, err, types.ErrNotFound, name)
		assert.Contains(t, err.Error(), "unloaded", name)
	}
	var others []string
	for _, r := range e.srv.Requests(tinkertest.Match{})[sent:] {
		switch r.Endpoint {
		case tinkertest.EndpointHeartbeat, tinkertest.EndpointTelemetry:
		default:
			others = append(others, r.Endpoint)
		}
	}
	assert.Empty(t, others, "nothing is sent after Unload")

	tree, err := e.rt.Tree(ctx)
	require.NoError(t, err)
	_, found := findNode(tree, "training:")
	assert.False(t, found, tree.String())

	// The service goes on: a new model trains normally.
	tc2 := trainer(t, svc)
	_, err = tc2.ForwardBackward(ctx, []types.Datum{datum(t, 1, 2)}, types.LossCrossEntropy).Result(ctx)
	require.NoError(t, err)
}

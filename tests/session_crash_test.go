package tests

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tinkex-go/tinkex"
	"github.com/tinkex-go/tinkex/internal/inspect"
	"github.com/tinkex-go/tinkex/tinkertest"
)

// Scenario 6, the session's share: a crash of a ServiceClient's session
// actor restarts the clients after it (rest_for_one). A training operation
// queued behind one being submitted at that moment fails with
// ErrClientRestarted — the client was restarted, not closed, so the error
// says so and is retryable — the one being submitted completes, and the
// clients work afterwards with their seq_ids intact.
func TestSessionCrashRestartsClients(t *testing.T) {
	w := newWorld(t)
	g := newGate("/api/v1/optim_step")
	a := w.party(t, "a", w.srvA, keyA, 1, tinkex.WithHTTPClient(&http.Client{Transport: g}))
	b := w.party(t, "b", w.srvB, keyB, 2)
	ctx := ctxT(t)

	open := g.close()
	defer open()
	inflight := a.tc.OptimStep(ctx, tinkex.DefaultAdamParams())
	g.awaitHeld(t)
	queued := a.tc.OptimStep(ctx, tinkex.DefaultAdamParams())

	tree, err := w.rt.Tree(ctx)
	require.NoError(t, err)
	svcA, ok := findNode(tree, "service:a")
	require.True(t, ok)
	session, ok := findNode(svcA, "session")
	require.True(t, ok)
	inspect.ActorSystem(w.rt).Root.Send(w.pid(session), &inspect.Crash{Reason: "acceptance: session"})
	w.awaitRunning(t, "session", 1)
	w.awaitRunning(t, trainingID(a), 1)
	w.awaitRunning(t, samplingID(a), 1)

	_, err = queued.Result(ctx)
	require.Error(t, err)
	assert.ErrorIs(t, err, tinkex.ErrClientRestarted, "the client restarted; it was not closed")
	assert.True(t, tinkex.IsRetryable(err), "%v", err)
	open()
	_, err = inflight.Result(ctx)
	require.NoError(t, err, "the submit in flight completes")

	_, err = a.tc.OptimStep(ctx, tinkex.DefaultAdamParams()).Result(ctx)
	require.NoError(t, err)
	assert.Equal(t, seqRange(1, 2), trainingSeqs(a), "nothing was sent for the failed operation")
	_, err = a.sc.Sample(ctx, a.prompt(0), 1, sampleParams())
	require.NoError(t, err)
	assert.Equal(t, 1, w.srvA.CountEndpoint(tinkertest.EndpointCreateSession), "the session is kept")
	assert.Equal(t, 0, w.restarts(t, "service:b"))
	assert.Equal(t, 0, w.restarts(t, trainingID(b)))
	_, err = b.tc.OptimStep(ctx, tinkex.DefaultAdamParams()).Result(ctx)
	require.NoError(t, err)
}

package tests

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tinkex-go/tinkex/tinkertest"
	"github.com/tinkex-go/tinkex/types"
)

// Scenario 1. Three ServiceClients — A and B with different keys and
// servers, A′ with A's key and server — each train 5 × (forward_backward →
// optim_step) and sample 100 times concurrently, all at once. Every call
// ends with the fake model's answer for that client's own data, each
// client's seq_ids are gapless (and, for training, in order), and each
// server only ever saw its own key.
func TestMultiClientConcurrency(t *testing.T) {
	w := newWorld(t)
	a := w.party(t, "a", w.srvA, keyA, 1)
	b := w.party(t, "b", w.srvB, keyB, 2)
	a2 := w.party(t, "a2", w.srvA, keyA, 3)
	parties := []*party{a, b, a2}

	loads := runLoad(ctxT(t), t, parties)

	for _, p := range parties {
		l := loads[p]
		assertTrainingCorrect(t, p, l.steps)
		assertSamplesCorrect(t, p, l.samples)
		assert.Equal(t, seqRange(1, 2*trainingSteps), trainingSeqs(p),
			"%s training seq_ids: gapless, in order, each once", p.name)
		assertSamplingSeqs(t, p, samplesPerClient)
		assert.Equal(t, samplesPerClient, p.srv.Count(tinkertest.Match{Endpoint: tinkertest.EndpointAsample, SamplerID: p.sc.SamplerID()}),
			"%s: one asample per call, no resubmission", p.name)
	}
	assert.NotEqual(t, a.svc.SessionID(), a2.svc.SessionID(), "A and A′ are separate sessions")
	assert.NotEqual(t, a.tc.ModelID(), a2.tc.ModelID())

	// No cross-talk: each server saw only its own key, and only its own
	// clients' sessions.
	for _, c := range []struct {
		srv      *tinkertest.Server
		key      string
		sessions []string
	}{
		{w.srvA, keyA, []string{a.svc.SessionID(), a2.svc.SessionID()}},
		{w.srvB, keyB, []string{b.svc.SessionID()}},
	} {
		all := c.srv.Requests(tinkertest.Match{})
		require.NotEmpty(t, all)
		for _, r := range all {
			require.Equal(t, types.KeyFingerprint(c.key), r.KeyFingerprint, "request %d %s", r.Index, r.Path)
			if r.SessionID != "" {
				require.Contains(t, c.sessions, r.SessionID)
			}
		}
		var got []string
		for _, s := range c.srv.Sessions() {
			got = append(got, s.ID)
		}
		assert.ElementsMatch(t, c.sessions, got)
	}
}

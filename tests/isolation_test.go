package tests

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tinkex-go/tinkex"
	"github.com/tinkex-go/tinkex/internal/inspect"
	"github.com/tinkex-go/tinkex/limiter"
	"github.com/tinkex-go/tinkex/registry"
)

// gate is an http.RoundTripper that, while closed, holds every request
// whose path ends in suffix and announces it on held.
type gate struct {
	suffix  string
	held    chan string
	mu      sync.Mutex
	release chan struct{} // nil: open
}

func newGate(suffix string) *gate { return &gate{suffix: suffix, held: make(chan string, 16)} }

func (g *gate) RoundTrip(r *http.Request) (*http.Response, error) {
	g.mu.Lock()
	rel := g.release
	g.mu.Unlock()
	if rel != nil && strings.HasSuffix(r.URL.Path, g.suffix) {
		g.held <- r.URL.Host
		select {
		case <-rel:
		case <-r.Context().Done():
			return nil, r.Context().Err()
		}
	}
	return http.DefaultTransport.RoundTrip(r)
}

// awaitHeld waits until the gate holds a request.
func (g *gate) awaitHeld(t *testing.T) {
	t.Helper()
	select {
	case <-g.held:
	case <-time.After(60 * time.Second):
		t.Fatalf("no request reached the gate for %s", g.suffix)
	}
}

// close makes the gate hold matching requests until the returned open is
// called.
func (g *gate) close() (open func()) {
	rel := make(chan struct{})
	g.mu.Lock()
	g.release = rel
	g.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			g.mu.Lock()
			g.release = nil
			g.mu.Unlock()
			close(rel)
		})
	}
}

// Scenario 2. The registry holds one limiter per {normalized base URL, key}:
// A and A′ share one, B has its own, each with its own limiter actor. A
// SamplingClient dispatches under its config's limiter (shown by the slot
// it holds while its submit is in flight). Spellings of one URL map to one
// entry.
func TestConfigIsolation(t *testing.T) {
	w := newWorld(t)
	g := newGate("/api/v1/asample")
	hc := tinkex.WithHTTPClient(&http.Client{Transport: g})
	a := w.party(t, "a", w.srvA, keyA, 1, hc)
	b := w.party(t, "b", w.srvB, keyB, 2, hc)
	a2 := w.party(t, "a2", w.srvA, keyA, 3, hc)
	ctx := ctxT(t)

	entries := inspect.Registry(w.rt).Entries()
	require.Len(t, entries, 2, "A and A′ share an entry, B has its own")
	byFP := map[string]registry.Entry{}
	for _, e := range entries {
		byFP[e.Fingerprint] = e
	}
	require.Contains(t, byFP, a.svc.Fingerprint())
	require.Contains(t, byFP, b.svc.Fingerprint())
	assert.Equal(t, a.svc.Fingerprint(), a2.svc.Fingerprint())
	assert.NotEqual(t, a.svc.Fingerprint(), b.svc.Fingerprint())
	assert.Same(t, inspect.Limiter(a.svc), inspect.Limiter(a2.svc))
	assert.NotSame(t, inspect.Limiter(a.svc), inspect.Limiter(b.svc))
	keyOfA, err := registry.NewKey(w.srvA.URL(), keyA)
	require.NoError(t, err)
	lim, ok := inspect.Registry(w.rt).Lookup(keyOfA)
	require.True(t, ok)
	assert.Same(t, inspect.Limiter(a.svc), lim)

	// Distinct limiter actors, each answering for its own config.
	pidA, pidB := byFP[a.svc.Fingerprint()].PID, byFP[b.svc.Fingerprint()].PID
	require.NotNil(t, pidA)
	require.NotNil(t, pidB)
	assert.NotEqual(t, pidA.String(), pidB.String())
	for fp, pid := range map[string]string{a.svc.Fingerprint(): pidA.Id, b.svc.Fingerprint(): pidB.Id} {
		e := byFP[fp]
		res, err := inspect.ActorSystem(w.rt).Root.RequestFuture(e.PID, limiter.StatsRequest{}, 10*time.Second).Result()
		require.NoError(t, err, "limiter actor %s answers", pid)
		st, ok := res.(limiter.Stats)
		require.True(t, ok, "%T", res)
		assert.Equal(t, fp, st.Identity.Fingerprint)
	}

	// Each SamplingClient holds a dispatch slot of its own config's limiter
	// while its submit is in flight, and none of the other config's.
	for _, c := range []struct {
		p           *party
		own, other  *limiter.Limiter
		description string
	}{
		{a, inspect.Limiter(a.svc), inspect.Limiter(b.svc), "A"},
		{a2, inspect.Limiter(a.svc), inspect.Limiter(b.svc), "A′ (A's config)"},
		{b, inspect.Limiter(b.svc), inspect.Limiter(a.svc), "B"},
	} {
		open := g.close()
		done := make(chan error, 1)
		go func() {
			_, err := c.p.sc.Sample(ctx, c.p.prompt(0), 1, sampleParams())
			done <- err
		}()
		g.awaitHeld(t)
		assert.Equal(t, 1, c.own.Stats().SlotsInUse, "%s dispatches under its config's limiter", c.description)
		assert.Equal(t, 0, c.other.Stats().SlotsInUse, "%s does not touch the other config's limiter", c.description)
		open()
		require.NoError(t, <-done)
		assert.Equal(t, 0, c.own.Stats().SlotsInUse, "the slot is given back after the submit")
	}

	// The same URL spelled differently is the same config.
	spelled := w.service(t, "a-spelled", w.srvA, keyA, tinkex.WithBaseURL("HTTP://"+strings.TrimPrefix(w.srvA.URL(), "http://")+"/"))
	assert.Equal(t, a.svc.Fingerprint(), spelled.Fingerprint())
	assert.Same(t, inspect.Limiter(a.svc), inspect.Limiter(spelled))
	assert.Len(t, inspect.Registry(w.rt).Entries(), 2)

	var lims []*limiter.Limiter
	var fps []string
	for _, u := range []string{"https://tinker.example.com", "https://tinker.example.com/", "https://TINKER.Example.COM", "https://tinker.example.com:443", "HTTPS://Tinker.example.com:443/"} {
		k, err := registry.NewKey(u, keyB)
		require.NoError(t, err, u)
		l, err := inspect.Registry(w.rt).Limiter(ctx, k)
		require.NoError(t, err, u)
		lims = append(lims, l)
		fps = append(fps, k.Fingerprint())
	}
	for i := range lims {
		assert.Same(t, lims[0], lims[i], "spelling %d", i)
		assert.Equal(t, fps[0], fps[i], "spelling %d", i)
	}
	assert.Len(t, inspect.Registry(w.rt).Entries(), 3, "five spellings added one entry")
}

package registry_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tinkex-go/tinkex/registry"
)

func TestObserverSeesEachCreatedLimiterOnceWithoutTheKey(t *testing.T) {
	var mu sync.Mutex
	var seen []registry.Created
	r, _ := newRegistry(t, registry.WithObserver(func(c registry.Created) {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, c)
	}))
	start(t, newSystem(t), r)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ka := mustKey(t, "https://tinker.example", keyA)
	la, err := r.Limiter(ctx, ka)
	require.NoError(t, err)
	_, err = r.Limiter(ctx, ka) // a hit: not observed again
	require.NoError(t, err)
	_, err = r.Limiter(ctx, mustKey(t, "https://tinker.example", keyB))
	require.NoError(t, err)
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, seen, 2)
	assert.Equal(t, ka.Fingerprint(), seen[0].Fingerprint)
	assert.Equal(t, "https://tinker.example", seen[0].BaseURL)
	assert.Same(t, la, seen[0].Limiter, "observed before the caller got it, and the same limiter")
	assert.NotContains(t, seen[0].Fingerprint+seen[0].BaseURL, keyA)
}

package limiter_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tinkex-go/tinkex/limiter"
)

// Formatting a limiter in use reads no field by reflection (no race with
// Acquire/Release under -race) and shows its config, not a key.
func TestFormatWhileInUse(t *testing.T) {
	l, err := limiter.New(limiter.WithIdentity("fp123", "https://tinker.example"))
	require.NoError(t, err)
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 200; j++ {
				p, err := l.Acquire(context.Background(), 10)
				if err == nil {
					p.Release()
				}
			}
		}()
	}
	var sb strings.Builder
	logger := slog.New(slog.NewTextHandler(&sb, nil))
	for i := 0; i < 50; i++ {
		for _, verb := range []string{"%v", "%+v", "%#v"} {
			assert.Contains(t, fmt.Sprintf(verb, l), "config=fp123")
		}
		logger.Info("limiter", "l", l)
	}
	wg.Wait()
	assert.Contains(t, sb.String(), "l.config=fp123")
}

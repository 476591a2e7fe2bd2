package tinkex

import (
	"context"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/tinkex-go/tinkex/tinkertest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	// The default runtime lives for the process; stop it so goleak sees a
	// clean slate.
	if defaultRuntime.rt != nil {
		_ = defaultRuntime.rt.Stop(context.Background())
	}
	if code == 0 {
		if err := goleak.Find(); err != nil {
			os.Stderr.WriteString("goleak: " + err.Error() + "\n")
			code = 1
		}
	}
	os.Exit(code)
}

func TestNewServiceClientUsesTheDefaultRuntime(t *testing.T) {
	srv := tinkertest.NewServer()
	defer srv.Close()
	ctx := context.Background()
	svc, err := NewServiceClient(ctx, WithAPIKey("tml-default-runtime"), WithBaseURL(srv.URL()), WithTelemetry(false))
	require.NoError(t, err)
	rt, err := DefaultRuntime()
	require.NoError(t, err)
	assert.Contains(t, rt.Services(), svc)
	again, err := DefaultRuntime()
	require.NoError(t, err)
	assert.Same(t, rt, again)
	require.NoError(t, svc.Close(ctx))
	assert.Empty(t, rt.Services())
}

package tinkex

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tinkex-go/tinkex/tinkertest"
	"github.com/tinkex-go/tinkex/types"
)

// A JWT that cannot go in a header (here with a NUL, as a hostile or broken
// server might send it) is refused where it arrives, with a clear error,
// instead of making every later request fail inside net/http.
func TestUnusableJWTIsRefused(t *testing.T) {
	e := newEnv(t, []tinkertest.Option{tinkertest.WithJWT(time.Hour)})
	hostile := newIDRewriter(t, e.srv.URL(), "/api/v1/auth/token", "jwt", `\u0000`)
	_, err := e.rt.NewServiceClient(ctxT(t), WithAPIKey(keyA), WithBaseURL(hostile.srv.URL))
	require.Positive(t, hostile.rewrote.Load())
	require.Error(t, err)
	assert.Equal(t, types.KindValidation, types.KindOf(err), "%v", err)
	assert.Contains(t, err.Error(), "jwt")
	assert.NotContains(t, err.Error(), "eyJ")
}

package httpclient

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tinkex-go/tinkex/types"
)

func postCtx(ctx context.Context, c *Client, p Policy) (*Response, error) {
	var out okBody
	return c.Do(ctx, &Request{Op: "test", Path: "/api/v1/x", Body: map[string]int{"a": 1}, Policy: p,
		Header: http.Header{"X-Tinker-Request-Type": {"Mine"}}, Into: JSONInto(&out)})
}

func TestCallOptionsRetriesAndTimeout(t *testing.T) {
	s := newScript(t, reply{status: 500})
	c, _ := newClient(t, s)
	ctx := WithCallOptions(context.Background(), CallOptions{MaxRetries: Retries(2), Timeout: 1500 * time.Millisecond})
	_, err := postCtx(ctx, c, Policy{})
	assert.ErrorIs(t, err, types.ErrServer)
	assert.Equal(t, 3, s.count(), "2 retries instead of the default 10")
	assert.Equal(t, "1.5", s.header(0, "X-Stainless-Read-Timeout"), "the per-attempt timeout is the call's")

	// A request with its own policy (a long poll) keeps it.
	s2 := newScript(t, reply{status: 500})
	c2, _ := newClient(t, s2)
	_, err = postCtx(ctx, c2, Policy{MaxRetries: Retries(0), Timeout: 45 * time.Second})
	assert.ErrorIs(t, err, types.ErrServer)
	assert.Equal(t, 1, s2.count())
	assert.Equal(t, "45", s2.header(0, "X-Stainless-Read-Timeout"))
}

func TestCallOptionsHeaders(t *testing.T) {
	s := newScript(t, reply{status: 200, body: `{"ok":true}`})
	c, _ := newClient(t, s)
	ctx := WithCallOptions(context.Background(), CallOptions{Header: http.Header{"X-Trace": {"a"}}})
	ctx = WithCallOptions(ctx, CallOptions{Header: http.Header{"x-trace": {"b"}, "X-Api-Key": {"tml-hijack"},
		"X-Tinker-Request-Type": {"Theirs"}}})
	_, err := postCtx(ctx, c, Policy{})
	require.NoError(t, err)
	s.mu.Lock()
	got := s.reqs[0].Header.Clone()
	s.mu.Unlock()
	assert.Equal(t, []string{"a", "b"}, got.Values("X-Trace"), "headers accumulate")
	assert.Equal(t, testKey, got.Get("X-Api-Key"), "the credential cannot be replaced")
	assert.Equal(t, "Mine", got.Get("X-Tinker-Request-Type"), "the request's own headers win")
}

func TestCallOptionsValidated(t *testing.T) {
	s := newScript(t, reply{status: 200, body: `{"ok":true}`})
	c, _ := newClient(t, s)
	for _, o := range []CallOptions{{MaxRetries: Retries(-1)}, {Timeout: -1}} {
		_, err := postCtx(WithCallOptions(context.Background(), o), c, Policy{})
		assert.ErrorIs(t, err, types.ErrValidation)
	}
	assert.Zero(t, s.count(), "nothing sent")
}

func TestWithSecretIsScrubbed(t *testing.T) {
	s := newScript(t, reply{status: 400, body: `{"detail":"bad cf secret cf-secret-value-123"}`})
	c, _ := newClient(t, s, WithSecret("cf-secret-value-123"))
	_, err := postCtx(context.Background(), c, Policy{})
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "cf-secret-value-123")
	assert.Contains(t, err.Error(), "bad cf secret")
}

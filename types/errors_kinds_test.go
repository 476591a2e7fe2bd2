package types

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestKindFormatsAsItsName: %s and %v of a Kind print its name, not the
// sentinel's error text.
func TestKindFormatsAsItsName(t *testing.T) {
	assert.Equal(t, "rate_limited", fmt.Sprintf("%s", KindRateLimited))
	assert.Equal(t, "not_found", fmt.Sprintf("%v", KindNotFound))
	assert.Equal(t, `"auth"`, fmt.Sprintf("%q", KindAuth))
	assert.Equal(t, "1", fmt.Sprintf("%d", KindRateLimited))
	assert.Equal(t, "tinkex: not found", ErrNotFound.Error())
}

// TestAuthPermissionNotFoundKinds: 401/403/404 have their own kinds, still
// match ErrUser and are user errors, not retryable.
func TestAuthPermissionNotFoundKinds(t *testing.T) {
	for status, want := range map[int]error{401: ErrAuth, 403: ErrPermission, 404: ErrNotFound} {
		err := fmt.Errorf("ctx: %w", &Error{Kind: KindForStatus(status), StatusCode: status})
		assert.ErrorIs(t, err, want, "status %d", status)
		assert.ErrorIs(t, err, ErrUser, "status %d still matches ErrUser", status)
		assert.True(t, IsUserError(err), "status %d", status)
		assert.False(t, IsRetryable(err), "status %d", status)
	}
	assert.NotErrorIs(t, &Error{Kind: KindUser, StatusCode: 400}, ErrNotFound, "ErrUser does not imply the refinements")
	assert.NotErrorIs(t, &Error{Kind: KindAuth}, ErrNotFound)
}

// TestNestedErrorsPrintOnePrefix: a datum error wrapped by the operation
// reads with one "tinkex:" and one kind.
func TestNestedErrorsPrintOnePrefix(t *testing.T) {
	d := Datum{ModelInput: ModelInputFromInts([]int{1, 2}), LossFnInputs: map[string]TensorData{
		"target_tokens": Int64Tensor([]int64{2, 3}), "weights": Float32Tensor([]float32{1, float32(math.NaN())})}}
	inner := d.Validate()
	require.Error(t, inner)
	err := Wrap("forward_backward", inner, "datum %d", 0)
	msg := err.Error()
	assert.Equal(t, 1, strings.Count(msg, "tinkex:"), msg)
	assert.Equal(t, 1, strings.Count(msg, "validation error"), msg)
	assert.True(t, strings.HasPrefix(msg, `tinkex: forward_backward: validation error: datum 0: loss_fn_inputs["weights"][1] is NaN`), msg)
	assert.ErrorIs(t, err, ErrValidation)
	var e *Error
	require.True(t, errors.As(err, &e))
	assert.Equal(t, "forward_backward", e.Op)

	// A cause of another kind, or one naming a request, keeps its details
	// but not its prefix.
	srv := &Error{Kind: KindServer, Op: "retrieve_future", StatusCode: 500, Message: "boom"}
	w := Wrap("forward_backward", fmt.Errorf("chunk 1: %w", srv), "poll")
	assert.Equal(t, "tinkex: forward_backward: server error: poll: chunk 1: retrieve_future: 500 server error: boom", w.Error())
	assert.ErrorIs(t, w, ErrServer)

	// A plain cause becomes a validation error.
	assert.ErrorIs(t, Wrap("x", errors.New("bad"), "input"), ErrValidation)
}

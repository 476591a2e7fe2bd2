package types

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseFutureBody(t *testing.T) {
	cases := []struct {
		name string
		body string
		kind FutureBodyKind
		chk  func(t *testing.T, b FutureBody)
	}{
		{"try_again", `{"type":"try_again","request_id":"r1","queue_state":"paused_rate_limit","queue_state_reason":"slow"}`, FutureTryAgain,
			func(t *testing.T, b FutureBody) {
				assert.Equal(t, TryAgainResponse{Type: "try_again", RequestID: "r1", QueueState: QueueStatePausedRateLimit, QueueStateReason: "slow"}, *b.TryAgain)
			}},
		{"try_again unknown state", `{"type":"try_again","request_id":"r1","queue_state":"paused_rate_limited"}`, FutureTryAgain,
			func(t *testing.T, b FutureBody) { assert.Equal(t, QueueStateUnknown, b.TryAgain.QueueState) }},
		{"complete_metadata", `{"status":"complete_metadata","response_payload_size":1234}`, FutureCompleteMetadata,
			func(t *testing.T, b FutureBody) { assert.Equal(t, int64(1234), b.Metadata.ResponsePayloadSize) }},
		{"error user", `{"error":"bad input","category":"user"}`, FutureFailed,
			func(t *testing.T, b FutureBody) {
				assert.Equal(t, FutureErrorResponse{Error: "bad input", Category: CategoryUser}, *b.Error)
				err := b.Error.Err("sample", "r9")
				assert.ErrorIs(t, err, ErrRequestFailed)
				assert.True(t, IsUserError(err))
				assert.False(t, IsRetryable(err))
				assert.Equal(t, "r9", err.RequestID)
			}},
		{"error missing category", `{"error":"x"}`, FutureFailed,
			func(t *testing.T, b FutureBody) { assert.Equal(t, CategoryUnknown, b.Error.Category) }},
		{"error odd category", `{"error":{"detail":"x"},"category":42}`, FutureFailed,
			func(t *testing.T, b FutureBody) {
				assert.Equal(t, CategoryUnknown, b.Error.Category)
				assert.Equal(t, `{"detail":"x"}`, b.Error.Error)
			}},
		{"result", `{"model_id":"s:train:0","type":"create_model"}`, FutureResult,
			func(t *testing.T, b FutureBody) {
				var r CreateModelResponse
				require.NoError(t, json.Unmarshal(b.Result, &r))
				assert.Equal(t, "s:train:0", r.ModelID)
			}},
		{"type other than try_again is a result", `{"type":"sample","sequences":[]}`, FutureResult, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b, err := ParseFutureBody([]byte(tc.body))
			require.NoError(t, err)
			assert.Equal(t, tc.kind, b.Kind)
			if tc.chk != nil {
				tc.chk(t, b)
			}
		})
	}
	for _, bad := range []string{``, `[]`, `null`, `"x"`, `{"type":"try_again","queue_state":5}`,
		`{"status":"complete_metadata","response_payload_size":"big"}`, `{"status":"complete_metadata","response_payload_size":-1}`, `{`} {
		_, err := ParseFutureBody([]byte(bad))
		assert.ErrorIs(t, err, ErrValidation, bad)
	}
	assert.Equal(t, "concurrent training clients rate limit hit", DefaultQueueStateReason(QueueStatePausedRateLimit, true))
	assert.Equal(t, "concurrent sampler weights limit hit", DefaultQueueStateReason(QueueStatePausedRateLimit, false))
	assert.Equal(t, "", DefaultQueueStateReason(QueueStateActive, false))
	assert.Equal(t, "try_again", FutureTryAgain.String())
}

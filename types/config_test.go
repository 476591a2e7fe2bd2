package types

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestBaseURLPortRange(t *testing.T) {
	for _, raw := range []string{"http://h:0", "http://h:65536", "http://h:99999999999999999999", "https://h:00000"} {
		_, err := NormalizeBaseURL(raw)
		if assert.ErrorIs(t, err, ErrValidation, raw) {
			assert.Contains(t, err.Error(), "1..65535", raw)
		}
	}
	for raw, want := range map[string]string{"http://h:1": "http://h:1", "http://h:65535/x": "http://h:65535/x",
		"http://h:0080": "http://h", "https://h:0443/": "https://h", "http://h:08080": "http://h:8080"} {
		got, err := NormalizeBaseURL(raw)
		require.NoError(t, err, raw)
		assert.Equal(t, want, got, raw)
	}
}

func TestLoraRankBound(t *testing.T) {
	assert.NoError(t, NewLoraConfig(1).Validate())
	assert.NoError(t, NewLoraConfig(MaxLoraRank).Validate())
	assert.NoError(t, NewLoraConfig(48).Validate(), "no power-of-two rule")
	assert.ErrorIs(t, NewLoraConfig(MaxLoraRank+1).Validate(), ErrValidation)
}

func TestCheckpointNames(t *testing.T) {
	for _, ok := range []string{"a", "step-10", "ckpt_v1.2", "A9"} {
		assert.NoError(t, ValidateCheckpointName("save_state", ok), ok)
	}
	for _, bad := range []string{"", "a/b", "a\\b", "a\x00", "..", ".x", "-x", "a b", "é", string(make([]byte, 129))} {
		assert.ErrorIs(t, ValidateCheckpointName("save_state", bad), ErrValidation, "%q", bad)
	}
}

func TestWhiteSpaceBaseModel(t *testing.T) {
	err := CreateModelRequest{BaseModel: " \n", LoraConfig: NewLoraConfig(8)}.Validate()
	assert.ErrorIs(t, err, ErrValidation)
}

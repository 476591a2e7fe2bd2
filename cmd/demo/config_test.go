package main

import (
	"bytes"
	"flag"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tinkex-go/tinkex/types"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestParseConfig(t *testing.T) {
	const realKey = "tml-user-real-key-0123456789abcdef"
	tests := []struct {
		name  string
		args  []string
		env   map[string]string
		check func(t *testing.T, c config)
	}{
		{"default: embedded fake, own keys, faults, full workload", nil, nil, func(t *testing.T, c config) {
			assert.True(t, c.Embedded)
			assert.True(t, c.Faults)
			assert.Empty(t, c.BaseURL)
			assert.True(t, strings.HasPrefix(c.APIKey, demoKeyPrefix+"a-"), c.APIKey)
			assert.True(t, strings.HasPrefix(c.APIKeyB, demoKeyPrefix+"b-"), c.APIKeyB)
			assert.NotEqual(t, c.APIKey, c.APIKeyB)
			assert.NoError(t, types.ValidateAPIKey(c.APIKey))
			assert.Equal(t, 20*time.Second, c.Duration)
			assert.Equal(t, 100, c.Concurrency)
			assert.Zero(t, c.Steps)
			assert.Zero(t, c.Samples)
			assert.False(t, c.realServer())
		}},
		{"TINKER_API_KEY: real server, small workload, no faults", nil, map[string]string{envAPIKey: realKey}, func(t *testing.T, c config) {
			assert.False(t, c.Embedded)
			assert.False(t, c.Faults)
			assert.Equal(t, types.DefaultBaseURL, c.BaseURL)
			assert.Equal(t, realKey, c.APIKey)
			assert.Equal(t, realKey, c.APIKeyB, "one key: A and B share a config")
			assert.Equal(t, 2, c.Concurrency)
			assert.Equal(t, 2, c.Steps)
			assert.Equal(t, 4, c.Samples)
			assert.True(t, c.realServer())
		}},
		{"TINKER_BASE_URL is used with a key", nil, map[string]string{envAPIKey: realKey, envBaseURL: "https://staging.example"}, func(t *testing.T, c config) {
			assert.Equal(t, "https://staging.example", c.BaseURL)
		}},
		{"TINKER_BASE_URL alone does not leave the fake", nil, map[string]string{envBaseURL: "https://staging.example"}, func(t *testing.T, c config) {
			assert.True(t, c.Embedded)
		}},
		{"flags beat the environment", []string{"-api-key", "tml-flag-key-0123456789", "-base-url", "http://127.0.0.1:1"},
			map[string]string{envAPIKey: realKey}, func(t *testing.T, c config) {
				assert.Equal(t, "tml-flag-key-0123456789", c.APIKey)
				assert.Equal(t, "http://127.0.0.1:1", c.BaseURL)
			}},
		{"-base-url without a key: a fake elsewhere, own keys, full workload", []string{"-base-url", "http://127.0.0.1:1", "-faults"}, nil, func(t *testing.T, c config) {
			assert.False(t, c.Embedded)
			assert.True(t, c.Faults)
			assert.True(t, strings.HasPrefix(c.APIKey, demoKeyPrefix))
			assert.Equal(t, 100, c.Concurrency)
			assert.False(t, c.realServer())
		}},
		{"second key", nil, map[string]string{envAPIKey: realKey, envAPIKeyB: "tml-second-0123456789"}, func(t *testing.T, c config) {
			assert.Equal(t, "tml-second-0123456789", c.APIKeyB)
		}},
		{"explicit 0 on a real server: until the end", []string{"-steps", "0", "-samples", "0"}, map[string]string{envAPIKey: realKey}, func(t *testing.T, c config) {
			assert.Zero(t, c.Steps)
			assert.Zero(t, c.Samples)
		}},
		{"workload flags", []string{"-duration", "5s", "-concurrency", "7", "-steps", "3", "-samples", "9", "-json", "-plain", "-metrics-addr", "127.0.0.1:9464"}, nil, func(t *testing.T, c config) {
			assert.Equal(t, 5*time.Second, c.Duration)
			assert.Equal(t, 7, c.Concurrency)
			assert.Equal(t, 3, c.Steps)
			assert.Equal(t, 9, c.Samples)
			assert.True(t, c.JSON)
			assert.False(t, c.Live)
			assert.Equal(t, "127.0.0.1:9464", c.MetricsAddr)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := parseConfig(tt.args, env(tt.env), &bytes.Buffer{})
			require.NoError(t, err)
			tt.check(t, c)
		})
	}
}

func TestParseConfigRejectsBadInput(t *testing.T) {
	for _, args := range [][]string{
		{"-duration", "0s"},
		{"-concurrency", "-1"},
		{"extra"},
		{"-api-key-b", "tml-b-0123456789"},
		{"-api-key", "tml-one-key-0123456789", "-faults"},
		{"-steps", "-2"},
	} {
		_, err := parseConfig(args, noEnv, &bytes.Buffer{})
		var ue *usageError
		assert.ErrorAs(t, err, &ue, "%q", args)
	}
	_, err := parseConfig([]string{"-no-such-flag"}, noEnv, &bytes.Buffer{})
	assert.Error(t, err)
	_, err = parseConfig([]string{"-steps", "many"}, noEnv, &bytes.Buffer{})
	assert.ErrorContains(t, err, "not an integer")
	_, err = parseConfig([]string{"-h"}, noEnv, &bytes.Buffer{})
	assert.ErrorIs(t, err, flag.ErrHelp)
}

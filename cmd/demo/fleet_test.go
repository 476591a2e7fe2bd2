package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// -members 2 starts two member processes (this test binary again, see
// TestMain), injects 429s into A and checks that each reached both members.
func TestFleetDemoChecksBackoffPropagation(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := mainCode(context.Background(), []string{"-members", "2", "-duration", "3s", "-json"},
		func(string) string { return "" }, strings.NewReader(""), &stdout, &stderr, false, func() int { return 0 })
	require.Equal(t, 0, code, "stderr: %s\nstdout: %s", stderr.String(), stdout.String())
	var s fleetSummary
	require.NoError(t, json.Unmarshal(stdout.Bytes(), &s), stdout.String())
	require.NotEmpty(t, s.Invariants)
	assert.Equal(t, "fleet_backoff_propagation", s.Invariants[0].Name)
	assert.True(t, s.Invariants[0].OK, s.Invariants[0].Detail)
	assert.Positive(t, s.Injected)
	require.Len(t, s.Final, 2)
	for _, m := range s.Final {
		assert.Equal(t, 2, m.Members)
		assert.Equal(t, 400, m.Slots+s.Final[1-m.Index].Slots, "the two leases add up to the budget")
	}
	assert.NotContains(t, stdout.String()+stderr.String(), "tml-demo", "no key in the output")
}

func TestMembersNeedsTheEmbeddedFake(t *testing.T) {
	code := mainCode(context.Background(), []string{"-members", "3", "-base-url", "http://127.0.0.1:1"},
		func(string) string { return "" }, strings.NewReader(""), io.Discard, io.Discard, false, func() int { return 0 })
	assert.Equal(t, 2, code)
}

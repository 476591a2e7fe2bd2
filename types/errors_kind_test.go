package types

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// Every kind's name parses back to it; no other name parses.
func TestParseKind(t *testing.T) {
	for k := range kindNames {
		got, ok := ParseKind(Kind(k).String())
		assert.True(t, ok)
		assert.Equal(t, Kind(k), got)
	}
	for _, name := range []string{"no_such_kind", "", "User", "kind(99)"} {
		_, ok := ParseKind(name)
		assert.False(t, ok, "%q", name)
	}
}

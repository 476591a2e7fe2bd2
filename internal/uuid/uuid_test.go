package uuid

import (
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestNewIsV4AndUnique(t *testing.T) {
	re := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	seen := map[string]bool{}
	for i := 0; i < 1000; i++ {
		u := New()
		assert.Regexp(t, re, u)
		assert.False(t, seen[u], "duplicate %s", u)
		seen[u] = true
	}
}

func TestAppend(t *testing.T) {
	b := Append([]byte("prefix-"))
	assert.Len(t, b, len("prefix-")+36)
	assert.Regexp(t, `^prefix-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`, string(b))
}

package main

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestLeakGuardFindsKeysInOutput(t *testing.T) {
	const a, b = "tml-demoa-00112233445566778899aabbccddeeff", "tml-demob-ffeeddccbbaa99887766554433221100"
	tests := []struct {
		name   string
		writes []string
		want   []string
	}{
		{"clean output", []string{"config 3f2a9c0d41e7 ok\n", "tml-demo is a prefix, not a key\n"}, nil},
		{"key in one write", []string{"header X-API-Key: " + a + "\n"}, []string{"A"}},
		{"key split across writes", []string{"leak: " + b[:10], b[10:25], b[25:] + "\n"}, []string{"B"}},
		{"both", []string{a, " and ", b}, []string{"A", "B"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newLeakGuard(map[string]string{a: "A", b: "B"})
			var sink bytes.Buffer
			w := g.writer(&sink)
			var all string
			for _, s := range tt.writes {
				n, err := fmt.Fprint(w, s)
				assert.NoError(t, err)
				assert.Equal(t, len(s), n)
				all += s
			}
			assert.Equal(t, all, sink.String(), "output passes through unchanged")
			assert.ElementsMatch(t, tt.want, g.leaks())
		})
	}
}

func TestLeakGuardScan(t *testing.T) {
	g := newLeakGuard(map[string]string{"tml-secret-0123456789": "A", "": "ignored"})
	g.scan([]byte("metric{config=\"abc\"} 1"))
	assert.Empty(t, g.leaks())
	g.scan([]byte("metric{key=\"tml-secret-0123456789\"} 1"))
	assert.Equal(t, []string{"A"}, g.leaks())
}

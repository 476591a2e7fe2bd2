package main

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// report adds the key-scan invariant and computes OK from every invariant;
// a key anywhere in the output, or in the summary itself, fails the run.
func TestReportKeyInvariant(t *testing.T) {
	const key = "tml-demoa-0123456789abcdef0123456789abcdef"
	tests := []struct {
		name    string
		printed string
		baseURL string
		wantOK  bool
	}{
		{"clean", "all good\n", "http://127.0.0.1:1", true},
		{"key printed during the run", "oops " + key + "\n", "http://127.0.0.1:1", false},
		{"key in the summary itself", "", "http://127.0.0.1:1/?k=" + key, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			g := newLeakGuard(map[string]string{key: "config A's API key"})
			d := &demo{cfg: config{JSON: true}, reg: prometheus.NewRegistry(), guard: g, out: g.writer(&out)}
			_, err := d.out.Write([]byte(tt.printed))
			require.NoError(t, err)
			out.Reset()
			s := &summary{BaseURL: tt.baseURL, Invariants: []invariant{{Name: "every_request_ended", OK: true}}}
			require.NoError(t, d.report(s))
			assert.Equal(t, tt.wantOK, s.OK)
			last := s.Invariants[len(s.Invariants)-1]
			assert.Equal(t, "no_key_in_output", last.Name)
			assert.Equal(t, tt.wantOK, last.OK, last.Detail)
			var decoded summary
			require.NoError(t, json.Unmarshal(out.Bytes(), &decoded))
			assert.Equal(t, tt.wantOK, decoded.OK)
		})
	}
	s := &summary{Invariants: []invariant{{Name: "tree_running", OK: false}}}
	d := &demo{cfg: config{}, reg: prometheus.NewRegistry(), guard: newLeakGuard(nil), out: &bytes.Buffer{}}
	require.NoError(t, d.report(s))
	assert.False(t, s.OK, "one failed invariant fails the run")
	assert.Contains(t, d.out.(*bytes.Buffer).String(), "FAILED")
}

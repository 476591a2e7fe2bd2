package main

import (
	"encoding/json"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Every key of the -json summary is documented in the README's schema.
func TestJSONSchemaIsDocumented(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	start := strings.Index(string(readme), "### `-json` schema")
	require.Positive(t, start, "the README has a -json schema section")
	doc := string(readme[start:])

	s := summary{Clients: []clientRow{{Errors: map[string]int{}}}, Faults: []faultResult{{}},
		Invariants: []invariant{{}}, ServiceRestarts: map[string]int{}}
	b, err := json.Marshal(s)
	require.NoError(t, err)
	var v any
	require.NoError(t, json.Unmarshal(b, &v))
	keys := map[string]bool{}
	collectKeys(v, keys)
	var missing []string
	for k := range keys {
		if !strings.Contains(doc, `"`+k+`"`) {
			missing = append(missing, k)
		}
	}
	sort.Strings(missing)
	assert.Empty(t, missing, "keys of the -json summary missing from README.md")
}

func collectKeys(v any, keys map[string]bool) {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			keys[k] = true
			collectKeys(x, keys)
		}
	case []any:
		for _, x := range v {
			collectKeys(x, keys)
		}
	}
}

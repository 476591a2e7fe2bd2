package tinkex_test

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestREADMESnippetIsTheExample: the README's "Use it from Go" block is the
// code between the markers of trainAndSample (one tab of indentation
// removed), so the snippet a user copies is the one Example_readme runs.
func TestREADMESnippetIsTheExample(t *testing.T) {
	src, err := os.ReadFile("readme_example_test.go")
	require.NoError(t, err)
	readme, err := os.ReadFile("README.md")
	require.NoError(t, err)

	_, body, ok := strings.Cut(string(src), "// README snippet begin\n")
	require.True(t, ok, "begin marker")
	body, _, ok = strings.Cut(body, "\t// README snippet end")
	require.True(t, ok, "end marker")
	var want strings.Builder
	for line := range strings.Lines(body) {
		want.WriteString(strings.TrimPrefix(line, "\t"))
	}

	_, block, ok := strings.Cut(string(readme), "## Use it from Go\n\n```go\n")
	require.True(t, ok, "README has a Go block under \"Use it from Go\"")
	block, _, ok = strings.Cut(block, "```\n")
	require.True(t, ok, "the block is closed")
	require.Equal(t, want.String(), block, "README.md's snippet and readme_example_test.go differ")
}

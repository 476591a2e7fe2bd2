package tokenizer

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestRepoFor(t *testing.T) {
	cases := []struct{ model, tokenizerID, want string }{
		{"Qwen/Qwen3-8B", "", "Qwen/Qwen3-8B"},
		{"Qwen/Qwen3-8B", "Qwen/Qwen3-8B:rev2", "Qwen/Qwen3-8B"},
		{"meta-llama/Llama-3.1-8B", "", Llama3Repo},
		{"meta-llama/Llama-3.2-1B-Instruct", "", Llama3Repo},
		{"meta-llama/Llama-3.1-8B", "custom/tok", "custom/tok"},
		{"Qwen/Qwen3-30B-A3B/fp8", "", "Qwen/Qwen3-30B-A3B"},
		{"meta-llama/Llama-2-7b", "", "meta-llama/Llama-2-7b"},
		{"", ":x", ""},
		{"", "", ""},
	}
	for _, c := range cases {
		assert.Equal(t, c.want, RepoFor(c.model, c.tokenizerID), "%q %q", c.model, c.tokenizerID)
	}
}

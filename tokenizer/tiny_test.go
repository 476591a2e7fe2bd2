package tokenizer

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

// tinyFiles returns a small but complete Qwen-style tokenizer.json and
// tokenizer_config.json: the 256 byte symbols, a few merges and the ChatML
// special tokens. Loading it is fast, so hub tests can load it often.
func tinyFiles(t testing.TB) (tokenizerJSON, configJSON []byte) {
	t.Helper()
	vocab := map[string]int{}
	for b := 0; b < 256; b++ {
		vocab[string(byteToRune[b])] = b
	}
	merges := [][2]string{{"h", "e"}, {"l", "l"}, {"he", "ll"}, {"hell", "o"}, {"Ġ", "w"}, {"Ġw", "o"}}
	for _, m := range merges {
		vocab[m[0]+m[1]] = len(vocab)
	}
	n := len(vocab)
	tj := map[string]any{
		"version":    "1.0",
		"normalizer": map[string]any{"type": "NFC"},
		"pre_tokenizer": map[string]any{"type": "Sequence", "pretokenizers": []any{
			map[string]any{"type": "Split", "pattern": map[string]any{"Regex": patternQwen2}, "behavior": "Isolated", "invert": false},
			map[string]any{"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": false, "use_regex": false},
		}},
		"decoder": map[string]any{"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": false, "use_regex": false},
		"added_tokens": []any{
			map[string]any{"id": n, "content": "<|endoftext|>", "special": true},
			map[string]any{"id": n + 1, "content": "<|im_start|>", "special": true},
			map[string]any{"id": n + 2, "content": "<|im_end|>", "special": true},
		},
		"model": map[string]any{"type": "BPE", "vocab": vocab, "merges": merges, "ignore_merges": false},
	}
	cj := map[string]any{"eos_token": "<|im_end|>", "pad_token": "<|endoftext|>", "bos_token": nil, "chat_template": "{{ chatml }}"}
	a, err := json.Marshal(tj)
	require.NoError(t, err)
	b, err := json.Marshal(cj)
	require.NoError(t, err)
	return a, b
}

func TestTinyTokenizer(t *testing.T) {
	tj, cj := tinyFiles(t)
	tok, err := Parse("tiny", tj, cj)
	require.NoError(t, err)
	hello, _ := tok.TokenToID("hello")
	wo, _ := tok.TokenToID("Ġwo")
	imStart, _ := tok.TokenToID("<|im_start|>")
	require.Equal(t, []int{imStart, hello, wo, 'r', 'l', 'd'}, tok.Encode("<|im_start|>hello world"))
	require.Equal(t, "<|im_start|>hello world", tok.Decode(tok.Encode("<|im_start|>hello world")))
	sp := tok.SpecialTokens()
	require.Equal(t, -1, sp.BOS)
	require.Equal(t, "<|im_end|>", sp.EOSText)
	require.True(t, tok.IsSpecial(sp.Pad))
	require.False(t, tok.IsSpecial(hello))
	// Ids outside the vocabulary are skipped, as Hugging Face's decode skips them.
	require.Equal(t, "hello", tok.Decode([]int{-1, hello, tok.VocabSize(), 1 << 40}))
	require.Equal(t, "hello", tok.DecodeSkipSpecial([]int{imStart, hello, sp.EOS}))
}

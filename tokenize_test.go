package tinkex_test

import (
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tinkex-go/tinkex"
	"github.com/tinkex-go/tinkex/tokenizer"
	"github.com/tinkex-go/tinkex/types"
)

func qwenTokenizer(t *testing.T) *tinkex.Tokenizer {
	t.Helper()
	root := tokenizerRoot()
	t.Cleanup(func() { os.RemoveAll(root) })
	tok, err := tokenizer.FromDir(root + "/Qwen/Qwen3-8B")
	require.NoError(t, err)
	return tok
}

func TestModelInputFromText(t *testing.T) {
	tok := qwenTokenizer(t)
	ids, err := tinkex.ModelInputFromText(tok, "Hello, world").ToInts()
	require.NoError(t, err)
	assert.Equal(t, tok.Encode("Hello, world"), ids)
}

// SupervisedDatum shifts the rendered conversation by one and weights only
// the selected assistant output, as tinker-cookbook does.
func TestSupervisedDatum(t *testing.T) {
	tok := qwenTokenizer(t)
	msgs := []tinkex.ChatMessage{
		{Role: "user", Content: "2+2?"}, {Role: "assistant", Content: "4"},
		{Role: "user", Content: "3+3?"}, {Role: "assistant", Content: "6"},
	}
	tokens, weights, err := tok.SupervisedExample(msgs, tokenizer.TrainLastAssistant)
	require.NoError(t, err)
	full, err := tok.EncodeChat(msgs)
	require.NoError(t, err)
	assert.Equal(t, full, tokens, "parts meet at special tokens, so the tokens equal the whole rendering's")

	var trained []int
	for i, w := range weights {
		if w == 1 {
			trained = append(trained, tokens[i])
		}
	}
	imEnd, _ := tok.TokenToID("<|im_end|>")
	assert.Equal(t, append(tok.Encode("<think>\n\n</think>\n\n6"), imEnd), trained)

	d, err := tinkex.SupervisedDatum(tok, msgs, tokenizer.TrainAllAssistant)
	require.NoError(t, err)
	in, err := d.ModelInput.ToInts()
	require.NoError(t, err)
	assert.Equal(t, tokens[:len(tokens)-1], in)
	target := d.LossFnInputs["target_tokens"]
	assert.Equal(t, types.DTypeInt64, target.DType)
	assert.Equal(t, len(tokens)-1, target.Len())
	w := d.LossFnInputs["weights"].Float64s()
	var n int
	for _, x := range w {
		n += int(x)
	}
	assert.Equal(t, len(tok.Encode("4"))+1+len(trained), n, "both assistant turns are weighted")
	require.NoError(t, d.Validate())

	_, err = tinkex.SupervisedDatum(tok, msgs[:1], tokenizer.TrainLastAssistant)
	assert.ErrorIs(t, err, tokenizer.ErrUnsupported)
}

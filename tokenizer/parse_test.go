package tokenizer

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// edit returns the tiny tokenizer.json with f applied to its decoded form.
func edit(t *testing.T, f func(m map[string]any)) []byte {
	t.Helper()
	tj, _ := tinyFiles(t)
	var m map[string]any
	require.NoError(t, json.Unmarshal(tj, &m))
	f(m)
	b, err := json.Marshal(m)
	require.NoError(t, err)
	return b
}

func model(m map[string]any) map[string]any { return m["model"].(map[string]any) }

// Every unusable tokenizer file is a typed error naming the file, never a panic.
func TestParseRejectsWhatItCannotRun(t *testing.T) {
	cases := []struct {
		name   string
		file   []byte
		kind   error
		detail string
	}{
		{"not JSON", []byte("{"), ErrMalformed, ""},
		{"WordPiece", edit(t, func(m map[string]any) { model(m)["type"] = "WordPiece" }), ErrUnsupported, "WordPiece"},
		{"byte fallback", edit(t, func(m map[string]any) { model(m)["byte_fallback"] = true }), ErrUnsupported, "byte_fallback"},
		{"empty vocabulary", edit(t, func(m map[string]any) { model(m)["vocab"] = map[string]any{} }), ErrMalformed, "empty"},
		{"negative id", edit(t, func(m map[string]any) { model(m)["vocab"].(map[string]any)["x"] = -1 }), ErrMalformed, "negative"},
		{"absurd id", edit(t, func(m map[string]any) { model(m)["vocab"].(map[string]any)["zz"] = 1 << 40 }), ErrMalformed, "beyond"},
		{"missing byte symbol", edit(t, func(m map[string]any) { delete(model(m)["vocab"].(map[string]any), "Ġ") }), ErrUnsupported, "0x20"},
		{"merge of unknown symbols", edit(t, func(m map[string]any) { model(m)["merges"] = []any{"q q"} }), ErrMalformed, "missing"},
		{"merge not a pair", edit(t, func(m map[string]any) { model(m)["merges"] = []any{"qq"} }), ErrMalformed, "two symbols"},
		{"NFKC", edit(t, func(m map[string]any) { m["normalizer"] = map[string]any{"type": "NFKC"} }), ErrUnsupported, "NFKC"},
		{"other regex", edit(t, func(m map[string]any) {
			m["pre_tokenizer"].(map[string]any)["pretokenizers"].([]any)[0].(map[string]any)["pattern"] = map[string]any{"Regex": `\s+`}
		}), ErrUnsupported, "regex"},
		{"Metaspace", edit(t, func(m map[string]any) { m["pre_tokenizer"] = map[string]any{"type": "Metaspace"} }), ErrUnsupported, "Metaspace"},
		{"WordPiece decoder", edit(t, func(m map[string]any) { m["decoder"] = map[string]any{"type": "WordPiece"} }), ErrUnsupported, "decoder"},
		{"lstrip added token", edit(t, func(m map[string]any) {
			m["added_tokens"].([]any)[0].(map[string]any)["lstrip"] = true
		}), ErrUnsupported, "lstrip"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("org/x", c.file, nil)
			require.Error(t, err)
			assert.ErrorIs(t, err, c.kind)
			var e *Error
			require.ErrorAs(t, err, &e)
			assert.Equal(t, "org/x", e.Repo)
			assert.Equal(t, FileTokenizer, e.File)
			assert.True(t, strings.Contains(err.Error(), c.detail), "%q lacks %q", err.Error(), c.detail)
		})
	}
	tj, _ := tinyFiles(t)
	_, err := Parse("org/x", tj, []byte("not json"))
	assert.ErrorIs(t, err, ErrMalformed)
	assert.Equal(t, FileConfig, err.(*Error).File)
}

// tokenizer_config.json may name a special token as text or as an AddedToken
// object, and may hold a list of named chat templates.
func TestParseConfigForms(t *testing.T) {
	tj, _ := tinyFiles(t)
	cfg := `{"bos_token": {"__type": "AddedToken", "content": "<|im_start|>", "lstrip": false},
		"eos_token": "<|im_end|>", "pad_token": "<|nope|>",
		"chat_template": [{"name": "tool_use", "template": "T"}, {"name": "default", "template": "D"}]}`
	tok, err := Parse("org/x", tj, []byte(cfg))
	require.NoError(t, err)
	sp := tok.SpecialTokens()
	imStart, _ := tok.TokenToID("<|im_start|>")
	assert.Equal(t, imStart, sp.BOS)
	assert.Equal(t, "<|im_start|>", sp.BOSText)
	assert.Equal(t, "<|nope|>", sp.PadText)
	assert.Equal(t, -1, sp.Pad, "a name that is not in the vocabulary has no id")
	assert.Equal(t, "D", tok.ChatTemplate())
}

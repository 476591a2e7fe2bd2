package tokenizer

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type chatGolden struct {
	Family   string `json:"family"`
	Messages []struct {
		Role      string `json:"role"`
		Content   string `json:"content"`
		Reasoning string `json:"reasoning_content"`
	} `json:"messages"`
	GenerationPrompt bool   `json:"add_generation_prompt"`
	Thinking         *bool  `json:"enable_thinking"`
	Text             string `json:"text"`
	IDs              []int  `json:"ids"`
}

// TestChatTemplateGolden compares ApplyChatTemplate and EncodeChat with the
// families' Jinja templates rendered by @huggingface/jinja (testdata/gen).
func TestChatTemplateGolden(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "golden", "chat.json"))
	require.NoError(t, err)
	var cases []chatGolden
	require.NoError(t, json.Unmarshal(b, &cases))
	require.NotEmpty(t, cases)
	for i, c := range cases {
		tok := family(t, c.Family)
		var msgs []Message
		for _, m := range c.Messages {
			msgs = append(msgs, Message{Role: m.Role, Content: m.Content, Reasoning: m.Reasoning})
		}
		var opts []ChatOption
		if c.GenerationPrompt {
			opts = append(opts, WithGenerationPrompt())
		}
		if c.Thinking != nil {
			opts = append(opts, WithThinking(*c.Thinking))
		}
		got, err := tok.ApplyChatTemplate(msgs, opts...)
		require.NoError(t, err, "case %d", i)
		if !assert.Equal(t, c.Text, got, "case %d (%s): %+v", i, c.Family, c.Messages) {
			continue
		}
		ids, err := tok.EncodeChat(msgs, opts...)
		require.NoError(t, err)
		assert.Equal(t, c.IDs, ids, "case %d", i)
	}
}

func TestRenderChatMarksAssistantOutput(t *testing.T) {
	msgs := []Message{{Role: "system", Content: "s"}, {Role: "user", Content: "u"}, {Role: "assistant", Content: "a"}}
	for _, name := range families {
		tok := family(t, name)
		parts, err := tok.RenderChat(msgs)
		require.NoError(t, err)
		var trained []string
		for _, p := range parts {
			if p.Trainable {
				trained = append(trained, p.Text)
				assert.Equal(t, 2, p.Message)
			}
		}
		end := map[string]string{"llama3": "<|eot_id|>", "qwen3": "<|im_end|>"}[name]
		// Qwen3 writes an (empty) thinking block on the last assistant turn.
		want := map[string]string{"llama3": "a" + end, "qwen3": "<think>\n\n</think>\n\na" + end}[name]
		assert.Equal(t, []string{want}, trained, name)
		whole, err := tok.ApplyChatTemplate(msgs)
		require.NoError(t, err)
		assert.True(t, strings.HasSuffix(whole, end) || strings.HasSuffix(whole, end+"\n"))
	}
}

func TestChatErrors(t *testing.T) {
	tok := family(t, "qwen3")
	_, err := tok.ApplyChatTemplate([]Message{{Role: "narrator", Content: "x"}})
	assert.ErrorIs(t, err, ErrUnsupported)
	assert.Contains(t, err.Error(), "narrator")

	tj, cj := tinyFiles(t)
	tj = []byte(strings.ReplaceAll(string(tj), "im_start", "other"))
	bare, err := Parse("bare", tj, cj)
	require.NoError(t, err)
	_, err = bare.ApplyChatTemplate([]Message{{Role: "user", Content: "x"}})
	assert.ErrorIs(t, err, ErrUnsupported)
	assert.Equal(t, KindUnsupported, KindOf(err))
}

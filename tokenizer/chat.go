package tokenizer

import (
	"fmt"
	"strings"
)

// Message is one turn of a conversation.
type Message struct {
	Role    string // "system", "user", "assistant" (or "tool" for Qwen3)
	Content string
	// Reasoning is an assistant turn's thinking (Qwen3's reasoning_content).
	// When empty and Content holds "<think>…</think>", the thinking is taken
	// from Content, as the Qwen3 template does.
	Reasoning string
}

// ChatOption adjusts ApplyChatTemplate.
type ChatOption func(*chatOptions)

type chatOptions struct {
	generationPrompt bool
	thinking         *bool
}

// WithGenerationPrompt appends the header of an assistant turn, so the model
// continues as the assistant (add_generation_prompt=True).
func WithGenerationPrompt() ChatOption { return func(o *chatOptions) { o.generationPrompt = true } }

// WithThinking sets Qwen3's enable_thinking. With false, the generation prompt
// is followed by an empty "<think>\n\n</think>\n\n" block. Llama 3 ignores it.
func WithThinking(enabled bool) ChatOption {
	return func(o *chatOptions) { o.thinking = &enabled }
}

// chatFormat is a family's chat format, rendered by hand-written Go (no Jinja).
type chatFormat int

const (
	chatNone   chatFormat = iota
	chatLlama3            // <|start_header_id|>role<|end_header_id|>\n\ncontent<|eot_id|>
	chatQwen3             // <|im_start|>role\ncontent<|im_end|>\n
)

func detectChatFormat(t *Tokenizer) chatFormat {
	if _, ok := t.ids["<|start_header_id|>"]; ok {
		if _, ok := t.ids["<|eot_id|>"]; ok {
			return chatLlama3
		}
	}
	if _, ok := t.ids["<|im_start|>"]; ok {
		if _, ok := t.ids["<|im_end|>"]; ok {
			return chatQwen3
		}
	}
	return chatNone
}

// ChatPart is one stretch of a rendered conversation; Trainable marks the
// assistant output a supervised example learns from (the content and the
// end-of-turn token, not the role header).
type ChatPart struct {
	Text      string
	Message   int // index of the message it belongs to; -1 for the generation prompt
	Trainable bool
}

// ApplyChatTemplate renders msgs in the tokenizer's chat format, equal to
// Hugging Face's apply_chat_template(msgs, tokenize=False) for the Llama 3
// and Qwen3 templates. Encode the result to get the ids.
//
// It fails with KindUnsupported when the tokenizer has neither chat format,
// and with an error naming the message when a role is unknown.
func (t *Tokenizer) ApplyChatTemplate(msgs []Message, opts ...ChatOption) (string, error) {
	parts, err := t.RenderChat(msgs, opts...)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for _, p := range parts {
		b.WriteString(p.Text)
	}
	return b.String(), nil
}

// EncodeChat is Encode(ApplyChatTemplate(msgs, opts...)).
func (t *Tokenizer) EncodeChat(msgs []Message, opts ...ChatOption) ([]int, error) {
	s, err := t.ApplyChatTemplate(msgs, opts...)
	if err != nil {
		return nil, err
	}
	return t.Encode(s), nil
}

// RenderChat renders msgs as ApplyChatTemplate does, cut into parts that say
// which message each stretch comes from and whether it is assistant output.
func (t *Tokenizer) RenderChat(msgs []Message, opts ...ChatOption) ([]ChatPart, error) {
	var o chatOptions
	for _, f := range opts {
		f(&o)
	}
	switch t.chat {
	case chatLlama3:
		return t.renderLlama3(msgs, o)
	case chatQwen3:
		return renderQwen3(msgs, o)
	}
	return nil, &Error{Kind: KindUnsupported, Repo: t.name, File: FileConfig,
		Detail: "no chat format: only the Llama 3 and Qwen3 formats are implemented"}
}

func roleError(i int, role string) error {
	return &Error{Kind: KindUnsupported, Detail: fmt.Sprintf("message %d: role %q is not one of system, user, assistant", i, role)}
}

// renderLlama3 follows the Llama 3 instruct template: BOS once, then
// <|start_header_id|>role<|end_header_id|>\n\n + trimmed content + <|eot_id|>.
func (t *Tokenizer) renderLlama3(msgs []Message, o chatOptions) ([]ChatPart, error) {
	bos := t.special.BOSText
	if bos == "" {
		bos = "<|begin_of_text|>"
	}
	var parts []ChatPart
	for i, m := range msgs {
		switch m.Role {
		case "system", "user", "assistant", "ipython", "tool":
		default:
			return nil, roleError(i, m.Role)
		}
		head := "<|start_header_id|>" + m.Role + "<|end_header_id|>\n\n"
		if i == 0 {
			head = bos + head
		}
		parts = append(parts,
			ChatPart{Text: head, Message: i},
			ChatPart{Text: strings.TrimSpace(m.Content) + "<|eot_id|>", Message: i, Trainable: m.Role == "assistant"})
	}
	if o.generationPrompt {
		parts = append(parts, ChatPart{Text: "<|start_header_id|>assistant<|end_header_id|>\n\n", Message: -1})
	}
	return parts, nil
}

// renderQwen3 follows the Qwen3 template (without tools): thinking is kept
// only on assistant turns after the last user query.
func renderQwen3(msgs []Message, o chatOptions) ([]ChatPart, error) {
	lastQuery := len(msgs) - 1
	for i := len(msgs) - 1; i >= 0; i-- {
		m := msgs[i]
		if m.Role == "user" && !(strings.HasPrefix(m.Content, "<tool_response>") && strings.HasSuffix(m.Content, "</tool_response>")) {
			lastQuery = i
			break
		}
	}
	var parts []ChatPart
	add := func(i int, text string, trainable bool) {
		parts = append(parts, ChatPart{Text: text, Message: i, Trainable: trainable})
	}
	for i, m := range msgs {
		switch {
		case m.Role == "system" && i == 0:
			add(i, "<|im_start|>system\n"+m.Content+"<|im_end|>\n", false)
		case m.Role == "user" || m.Role == "system":
			add(i, "<|im_start|>"+m.Role+"\n"+m.Content+"<|im_end|>\n", false)
		case m.Role == "assistant":
			content, reasoning := m.Content, m.Reasoning
			if reasoning == "" && strings.Contains(content, "</think>") {
				before, _, _ := strings.Cut(content, "</think>")
				content = content[strings.LastIndex(content, "</think>")+len("</think>"):]
				content = strings.TrimLeft(content, "\n")
				before = strings.TrimRight(before, "\n")
				if k := strings.LastIndex(before, "<think>"); k >= 0 {
					before = before[k+len("<think>"):]
				}
				reasoning = strings.TrimLeft(before, "\n")
			}
			body := content
			if i > lastQuery && (i == len(msgs)-1 || reasoning != "") {
				body = "<think>\n" + strings.Trim(reasoning, "\n") + "\n</think>\n\n" + strings.TrimLeft(content, "\n")
			}
			add(i, "<|im_start|>assistant\n", false)
			add(i, body+"<|im_end|>", true)
			add(i, "\n", false)
		case m.Role == "tool":
			text := ""
			if i == 0 || msgs[i-1].Role != "tool" {
				text = "<|im_start|>user"
			}
			text += "\n<tool_response>\n" + m.Content + "\n</tool_response>"
			if i == len(msgs)-1 || msgs[i+1].Role != "tool" {
				text += "<|im_end|>\n"
			}
			add(i, text, false)
		default:
			return nil, roleError(i, m.Role)
		}
	}
	if o.generationPrompt {
		text := "<|im_start|>assistant\n"
		if o.thinking != nil && !*o.thinking {
			text += "<think>\n\n</think>\n\n"
		}
		parts = append(parts, ChatPart{Text: text, Message: -1})
	}
	return parts, nil
}

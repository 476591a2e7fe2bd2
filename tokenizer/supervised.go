package tokenizer

// TrainOn selects which tokens of a conversation a supervised example learns
// from, as tinker-cookbook's TrainOnWhat does.
type TrainOn int

const (
	// TrainLastAssistant weights only the last assistant turn (the cookbook's default).
	TrainLastAssistant TrainOn = iota
	// TrainAllAssistant weights every assistant turn.
	TrainAllAssistant
	// TrainAllTokens weights every token.
	TrainAllTokens
)

// SupervisedExample renders msgs in the chat format and returns its tokens
// with one weight per token: 1 on the assistant output selected by train
// (the turn's content and its end-of-turn token, never the role header), 0
// elsewhere — tinker-cookbook's renderer.build_supervised_example. Each
// rendered part is encoded on its own, as the cookbook encodes each message;
// parts meet at special tokens, so the tokens equal EncodeChat's except when
// an assistant turn starts with white space that would join the header's
// trailing newline.
//
// Errors are those of RenderChat; with TrainLastAssistant or
// TrainAllAssistant a conversation without an assistant turn is a
// KindUnsupported error, since the example would teach nothing.
func (t *Tokenizer) SupervisedExample(msgs []Message, train TrainOn) (tokens []int, weights []float32, err error) {
	parts, err := t.RenderChat(msgs)
	if err != nil {
		return nil, nil, err
	}
	last := -1
	for i, m := range msgs {
		if m.Role == "assistant" {
			last = i
		}
	}
	if last < 0 && train != TrainAllTokens {
		return nil, nil, &Error{Kind: KindUnsupported, Repo: t.name, Detail: "supervised example: the conversation has no assistant turn to train on"}
	}
	for _, p := range parts {
		ids := t.Encode(p.Text)
		w := float32(0)
		switch {
		case train == TrainAllTokens:
			w = 1
		case p.Trainable && (train == TrainAllAssistant || p.Message == last):
			w = 1
		}
		tokens = append(tokens, ids...)
		for range ids {
			weights = append(weights, w)
		}
	}
	return tokens, weights, nil
}

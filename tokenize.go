package tinkex

import (
	"github.com/tinkex-go/tinkex/tokenizer"
	"github.com/tinkex-go/tinkex/types"
)

// Tokenizer is a Hugging Face byte-level BPE tokenizer in pure Go; see
// package tokenizer and TrainingClient.GetTokenizer.
type Tokenizer = tokenizer.Tokenizer

// ChatMessage is one turn of a conversation.
type ChatMessage = tokenizer.Message

// ModelInputFromText encodes text (special tokens written in it included, no
// BOS added) into a ModelInput of one text chunk.
func ModelInputFromText(tok *Tokenizer, text string) ModelInput {
	return types.ModelInputFromInts(tok.Encode(text))
}

// SupervisedDatum turns a conversation into a Datum for supervised training
// with the cross-entropy loss, as tinker-cookbook does: the conversation is
// rendered in the model's chat format with weights 1 on the assistant output
// selected by train, then shifted for next-token prediction (model input
// tokens[:-1], target_tokens tokens[1:], weights weights[1:]).
//
// It fails with a *tokenizer.Error when the conversation cannot be rendered
// (an unknown role, no assistant turn to train on, a tokenizer without a
// chat format) or renders to fewer than two tokens.
func SupervisedDatum(tok *Tokenizer, msgs []ChatMessage, train tokenizer.TrainOn) (Datum, error) {
	tokens, weights, err := tok.SupervisedExample(msgs, train)
	if err != nil {
		return Datum{}, err
	}
	if len(tokens) < 2 {
		return Datum{}, &tokenizer.Error{Kind: tokenizer.KindUnsupported, Repo: tok.Name(), Detail: "supervised example needs at least two tokens"}
	}
	return types.NewDatum(types.ModelInputFromInts(tokens[:len(tokens)-1]), map[string]any{
		"target_tokens": tokens[1:],
		"weights":       weights[1:],
	})
}

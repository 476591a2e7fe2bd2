package tokenizer

// Tokenizer turns text into token ids and back, byte for byte as Hugging
// Face's tokenizers library does for the byte-level BPE tokenizers of the
// Llama 3.x and Qwen2.5/Qwen3 families.
//
// A Tokenizer is immutable once loaded and safe for concurrent use.
type Tokenizer struct {
	name     string // where it was loaded from, for messages
	model    *bpe
	split    splitter
	nfc      bool
	added    *addedMatcher
	addedIDs map[int]addedToken
	tokens   []string // id → symbol (byte-level) or added-token content
	decoded  [][]byte // id → the bytes it decodes to
	ids      map[string]int
	special  SpecialTokens
	chat     chatFormat
	templ    string
}

// SpecialTokens are a tokenizer's named special tokens. An id is -1 when the
// tokenizer has no such token.
type SpecialTokens struct {
	BOS, EOS, Pad    int
	BOSText, EOSText string
	PadText          string
}

// Encode returns the token ids of text, as Hugging Face's
// tokenizer.encode(text, add_special_tokens=False) does: special and added
// tokens written in the text (such as "<|im_start|>") become their ids, and
// no BOS is prepended (prepend SpecialTokens().BOS yourself, or use
// ApplyChatTemplate).
//
// text need not be valid UTF-8: each maximal invalid byte sequence is read as
// one U+FFFD, as Python's errors="replace" or JavaScript's TextDecoder would
// decode those bytes before Hugging Face sees them.
func (t *Tokenizer) Encode(text string) []int {
	text = validUTF8(text)
	ids := make([]int, 0, len(text)/3+1)
	t.added.each(text, func(seg string) {
		if t.nfc {
			seg = nfc(seg)
		}
		t.split.each(seg, func(start, end int) {
			ids = t.model.encode(ids, seg[start:end])
		})
	}, func(id int) {
		ids = append(ids, id)
	})
	return ids
}

// Decode returns the text of ids, as Hugging Face's
// tokenizer.decode(ids, skip_special_tokens=False) does: special tokens are
// written out, byte sequences that are not valid UTF-8 become U+FFFD, and
// ids outside the vocabulary are skipped.
func (t *Tokenizer) Decode(ids []int) string { return t.decode(ids, false) }

// DecodeSkipSpecial is Decode without the special tokens (BOS, EOS,
// <|im_start|>, …), as decode(ids, skip_special_tokens=True) does; added
// tokens that are not special (Qwen's <think>) stay.
func (t *Tokenizer) DecodeSkipSpecial(ids []int) string { return t.decode(ids, true) }

func (t *Tokenizer) decode(ids []int, skipSpecial bool) string {
	buf := make([]byte, 0, 4*len(ids))
	for _, id := range ids {
		if id < 0 || id >= len(t.decoded) || (skipSpecial && t.IsSpecial(id)) {
			continue
		}
		buf = append(buf, t.decoded[id]...)
	}
	return validUTF8(string(buf))
}

// TokenToID returns the id of a vocabulary symbol or added token ("<|eot_id|>").
func (t *Tokenizer) TokenToID(token string) (int, bool) {
	id, ok := t.ids[token]
	return id, ok
}

// IDToToken returns the vocabulary symbol (in byte-level form, e.g. "Ġthe")
// or added-token content of id.
func (t *Tokenizer) IDToToken(id int) (string, bool) {
	if id < 0 || id >= len(t.tokens) || (t.tokens[id] == "" && t.decoded[id] == nil) {
		return "", false
	}
	return t.tokens[id], true
}

// IsSpecial reports whether id is a special token (BOS, EOS, <|im_start|>, …).
func (t *Tokenizer) IsSpecial(id int) bool {
	a, ok := t.addedIDs[id]
	return ok && a.Special
}

// VocabSize is the number of ids, added tokens included (the largest id + 1).
func (t *Tokenizer) VocabSize() int { return len(t.tokens) }

// SpecialTokens returns the BOS, EOS and pad tokens named by tokenizer_config.json.
func (t *Tokenizer) SpecialTokens() SpecialTokens { return t.special }

// Name is where the tokenizer was loaded from: a repo id or a path.
func (t *Tokenizer) Name() string { return t.name }

// ChatTemplate returns the Jinja chat template of tokenizer_config.json, for
// reference; ApplyChatTemplate does not run it but renders the family's
// format in Go.
func (t *Tokenizer) ChatTemplate() string { return t.templ }

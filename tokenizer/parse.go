package tokenizer

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// The files a tokenizer is made of.
const (
	FileTokenizer = "tokenizer.json"        // vocabulary, merges, pre-tokenizer, added tokens
	FileConfig    = "tokenizer_config.json" // special-token names and the chat template
)

type fileJSON struct {
	AddedTokens  []addedToken    `json:"added_tokens"`
	Normalizer   json.RawMessage `json:"normalizer"`
	PreTokenizer json.RawMessage `json:"pre_tokenizer"`
	Decoder      json.RawMessage `json:"decoder"`
	Model        modelJSON       `json:"model"`
}

type modelJSON struct {
	Type                    string          `json:"type"`
	Dropout                 *float64        `json:"dropout"`
	UnkToken                *string         `json:"unk_token"`
	ContinuingSubwordPrefix *string         `json:"continuing_subword_prefix"`
	EndOfWordSuffix         *string         `json:"end_of_word_suffix"`
	ByteFallback            bool            `json:"byte_fallback"`
	IgnoreMerges            bool            `json:"ignore_merges"`
	Vocab                   map[string]int  `json:"vocab"`
	Merges                  json.RawMessage `json:"merges"`
}

type componentJSON struct {
	Type          string          `json:"type"`
	Normalizers   []componentJSON `json:"normalizers"`
	Pretokenizers []componentJSON `json:"pretokenizers"`
	Pattern       *struct {
		Regex  *string `json:"Regex"`
		String *string `json:"String"`
	} `json:"pattern"`
	Behavior       string `json:"behavior"`
	Invert         bool   `json:"invert"`
	AddPrefixSpace bool   `json:"add_prefix_space"`
	UseRegex       bool   `json:"use_regex"`
}

type configJSON struct {
	BOS          json.RawMessage `json:"bos_token"`
	EOS          json.RawMessage `json:"eos_token"`
	Pad          json.RawMessage `json:"pad_token"`
	ChatTemplate json.RawMessage `json:"chat_template"`
}

// FromFile loads the tokenizer.json at path, and the tokenizer_config.json
// beside it when there is one (without it, BOS/EOS/pad are unknown and the
// chat template is picked from the added tokens alone).
//
// Errors are *Error: KindNotFound when path does not exist, KindMalformed or
// KindUnsupported when its content cannot be used.
func FromFile(path string) (*Tokenizer, error) {
	tj, err := os.ReadFile(path)
	if err != nil {
		return nil, fileError(path, "", err)
	}
	cj, err := os.ReadFile(filepath.Join(filepath.Dir(path), FileConfig))
	if err != nil && !os.IsNotExist(err) {
		return nil, fileError(filepath.Dir(path), FileConfig, err)
	}
	return Parse(path, tj, cj)
}

// FromDir loads tokenizer.json and tokenizer_config.json from a directory,
// such as a snapshot of a Hugging Face repo. Both files must exist.
func FromDir(dir string) (*Tokenizer, error) {
	tj, err := os.ReadFile(filepath.Join(dir, FileTokenizer))
	if err != nil {
		return nil, fileError(dir, FileTokenizer, err)
	}
	cj, err := os.ReadFile(filepath.Join(dir, FileConfig))
	if err != nil {
		return nil, fileError(dir, FileConfig, err)
	}
	return Parse(dir, tj, cj)
}

func fileError(repo, file string, err error) error {
	kind := KindCache
	if os.IsNotExist(err) {
		kind = KindNotFound
	}
	return &Error{Kind: kind, Repo: repo, File: file, Err: err}
}

// Parse builds a Tokenizer from the contents of tokenizer.json and
// tokenizer_config.json (config may be nil). name says where they came from
// and is used in errors.
func Parse(name string, tokenizerJSON, config []byte) (*Tokenizer, error) {
	bad := func(kind Kind, file, format string, args ...any) error {
		return &Error{Kind: kind, Repo: name, File: file, Detail: fmt.Sprintf(format, args...)}
	}
	var f fileJSON
	if err := json.Unmarshal(tokenizerJSON, &f); err != nil {
		return nil, &Error{Kind: KindMalformed, Repo: name, File: FileTokenizer, Err: err}
	}
	m := f.Model
	if m.Type != "BPE" {
		return nil, bad(KindUnsupported, FileTokenizer, "model type %q (only byte-level BPE is implemented)", m.Type)
	}
	if m.ByteFallback || (m.Dropout != nil && *m.Dropout != 0) || (m.UnkToken != nil && *m.UnkToken != "") ||
		(m.ContinuingSubwordPrefix != nil && *m.ContinuingSubwordPrefix != "") || (m.EndOfWordSuffix != nil && *m.EndOfWordSuffix != "") {
		return nil, bad(KindUnsupported, FileTokenizer, "BPE options byte_fallback, dropout, unk_token, continuing_subword_prefix or end_of_word_suffix")
	}
	if len(m.Vocab) == 0 {
		return nil, bad(KindMalformed, FileTokenizer, "empty vocabulary")
	}
	t := &Tokenizer{name: name, ids: make(map[string]int, len(m.Vocab)+len(f.AddedTokens)), addedIDs: map[int]addedToken{}}
	nfc, err := parseNormalizer(f.Normalizer)
	if err != nil {
		return nil, bad(KindUnsupported, FileTokenizer, "normalizer: %v", err)
	}
	t.nfc = nfc
	if t.split, err = parsePreTokenizer(f.PreTokenizer); err != nil {
		return nil, bad(KindUnsupported, FileTokenizer, "pre_tokenizer: %v", err)
	}
	var dec componentJSON
	if len(f.Decoder) > 0 && string(f.Decoder) != "null" {
		if err := json.Unmarshal(f.Decoder, &dec); err != nil {
			return nil, &Error{Kind: KindMalformed, Repo: name, File: FileTokenizer, Detail: "decoder", Err: err}
		}
	}
	if dec.Type != "ByteLevel" {
		return nil, bad(KindUnsupported, FileTokenizer, "decoder %q (only ByteLevel is implemented)", dec.Type)
	}

	size := 0
	for tok, id := range m.Vocab {
		if id < 0 {
			return nil, bad(KindMalformed, FileTokenizer, "negative id %d for %q", id, tok)
		}
		size = max(size, id+1)
	}
	for _, a := range f.AddedTokens {
		if a.ID < 0 {
			return nil, bad(KindMalformed, FileTokenizer, "negative id %d for added token %q", a.ID, a.Content)
		}
		if a.SingleWord || a.LStrip || a.RStrip || a.Normalized {
			return nil, bad(KindUnsupported, FileTokenizer, "added token %q with single_word, lstrip, rstrip or normalized", a.Content)
		}
		size = max(size, a.ID+1)
	}
	if limit := 2*(len(m.Vocab)+len(f.AddedTokens)) + 1024; size > limit {
		return nil, bad(KindMalformed, FileTokenizer, "largest id %d is far beyond the %d tokens", size-1, len(m.Vocab)+len(f.AddedTokens))
	}
	t.tokens = make([]string, size)
	t.decoded = make([][]byte, size)
	mdl := &bpe{ignoreMerges: m.IgnoreMerges, wordID: make(map[string]int32, len(m.Vocab))}
	for tok, id := range m.Vocab {
		t.tokens[id] = tok
		t.ids[tok] = id
		raw := tokenBytes(tok)
		t.decoded[id] = raw
		mdl.wordID[string(raw)] = int32(id)
	}
	for b := 0; b < 256; b++ {
		id, ok := m.Vocab[string(byteToRune[b])]
		if !ok {
			return nil, bad(KindUnsupported, FileTokenizer, "vocabulary lacks the byte-level symbol for byte 0x%02x", b)
		}
		mdl.byteID[b] = int32(id)
	}
	if mdl.merges, err = parseMerges(m.Merges, m.Vocab); err != nil {
		return nil, &Error{Kind: KindMalformed, Repo: name, File: FileTokenizer, Detail: "merges", Err: err}
	}
	t.model = mdl
	for _, a := range f.AddedTokens {
		t.tokens[a.ID] = a.Content
		t.decoded[a.ID] = tokenBytes(a.Content)
		t.ids[a.Content] = a.ID
		t.addedIDs[a.ID] = a
	}
	t.added = newAddedMatcher(f.AddedTokens)

	t.special = SpecialTokens{BOS: -1, EOS: -1, Pad: -1}
	if len(config) > 0 {
		var c configJSON
		if err := json.Unmarshal(config, &c); err != nil {
			return nil, &Error{Kind: KindMalformed, Repo: name, File: FileConfig, Err: err}
		}
		t.special.BOSText, t.special.BOS = t.specialToken(c.BOS)
		t.special.EOSText, t.special.EOS = t.specialToken(c.EOS)
		t.special.PadText, t.special.Pad = t.specialToken(c.Pad)
		t.templ = chatTemplateText(c.ChatTemplate)
	}
	t.chat = detectChatFormat(t)
	return t, nil
}

// specialToken reads a tokenizer_config.json token entry, either "text" or
// {"content": "text", ...}, and returns its text and id (-1 when absent).
func (t *Tokenizer) specialToken(raw json.RawMessage) (string, int) {
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		var obj struct {
			Content string `json:"content"`
		}
		if json.Unmarshal(raw, &obj) != nil {
			return "", -1
		}
		s = obj.Content
	}
	if id, ok := t.ids[s]; ok && s != "" {
		return s, id
	}
	return s, -1
}

// chatTemplateText reads chat_template, a string or a list of {name, template}.
func chatTemplateText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var list []struct {
		Name     string `json:"name"`
		Template string `json:"template"`
	}
	if json.Unmarshal(raw, &list) == nil {
		for _, e := range list {
			if e.Name == "default" {
				return e.Template
			}
		}
	}
	return ""
}

func parseMerges(raw json.RawMessage, vocab map[string]int) (map[uint64]uint64, error) {
	var pairs [][2]string
	var strs []string
	if err := json.Unmarshal(raw, &strs); err == nil {
		pairs = make([][2]string, len(strs))
		for i, s := range strs {
			a, b, ok := strings.Cut(s, " ")
			if !ok {
				return nil, fmt.Errorf("merge %d %q is not two symbols", i, s)
			}
			pairs[i] = [2]string{a, b}
		}
	} else if err := json.Unmarshal(raw, &pairs); err != nil {
		return nil, err
	}
	out := make(map[uint64]uint64, len(pairs))
	for rank, p := range pairs {
		a, okA := vocab[p[0]]
		b, okB := vocab[p[1]]
		ab, okAB := vocab[p[0]+p[1]]
		if !okA || !okB || !okAB {
			return nil, fmt.Errorf("merge %d (%q, %q) uses a symbol missing from the vocabulary", rank, p[0], p[1])
		}
		k := pairKey(int32(a), int32(b))
		if _, dup := out[k]; !dup {
			out[k] = uint64(rank)<<32 | uint64(uint32(ab))
		}
	}
	return out, nil
}

func parseNormalizer(raw json.RawMessage) (nfc bool, err error) {
	if len(raw) == 0 || string(raw) == "null" {
		return false, nil
	}
	var c componentJSON
	if err := json.Unmarshal(raw, &c); err != nil {
		return false, err
	}
	var walk func(c componentJSON) error
	walk = func(c componentJSON) error {
		switch c.Type {
		case "NFC":
			nfc = true
		case "Sequence":
			for _, n := range c.Normalizers {
				if err := walk(n); err != nil {
					return err
				}
			}
		default:
			return fmt.Errorf("%q is not implemented (only NFC)", c.Type)
		}
		return nil
	}
	return nfc, walk(c)
}

func parsePreTokenizer(raw json.RawMessage) (splitter, error) {
	var c componentJSON
	if err := json.Unmarshal(raw, &c); err != nil {
		return splitter{}, err
	}
	if c.Type != "Sequence" || len(c.Pretokenizers) != 2 {
		return splitter{}, fmt.Errorf("%q is not implemented (only Sequence[Split, ByteLevel])", c.Type)
	}
	sp, bl := c.Pretokenizers[0], c.Pretokenizers[1]
	if bl.Type != "ByteLevel" || bl.AddPrefixSpace || bl.UseRegex {
		return splitter{}, fmt.Errorf("second step must be ByteLevel without add_prefix_space or use_regex")
	}
	if sp.Type != "Split" || sp.Behavior != "Isolated" || sp.Invert || sp.Pattern == nil || sp.Pattern.Regex == nil {
		return splitter{}, fmt.Errorf("first step must be an isolated regex Split")
	}
	switch *sp.Pattern.Regex {
	case patternLlama3:
		return splitter{maxDigits: 3}, nil
	case patternQwen2:
		return splitter{maxDigits: 1}, nil
	}
	return splitter{}, fmt.Errorf("split regex %q is not one of the Llama 3 or Qwen2 patterns", *sp.Pattern.Regex)
}

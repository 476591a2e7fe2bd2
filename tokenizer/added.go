package tokenizer

import "sort"

// addedToken is an entry of tokenizer.json's added_tokens.
type addedToken struct {
	ID         int    `json:"id"`
	Content    string `json:"content"`
	SingleWord bool   `json:"single_word"`
	LStrip     bool   `json:"lstrip"`
	RStrip     bool   `json:"rstrip"`
	Normalized bool   `json:"normalized"`
	Special    bool   `json:"special"`
}

// addedMatcher finds added tokens in raw text, leftmost first and longest at
// a position, as Hugging Face's AddedVocabulary (Aho-Corasick, LeftmostLongest) does.
type addedMatcher struct {
	first [256][]addedToken // candidates by first byte, longest first
}

func newAddedMatcher(tokens []addedToken) *addedMatcher {
	m := &addedMatcher{}
	for _, t := range tokens {
		if t.Content == "" {
			continue
		}
		b := t.Content[0]
		m.first[b] = append(m.first[b], t)
	}
	for b := range m.first {
		c := m.first[b]
		sort.SliceStable(c, func(i, j int) bool { return len(c[i].Content) > len(c[j].Content) })
	}
	return m
}

// each calls text for every stretch of s between added tokens and token for
// every added token, in order.
func (m *addedMatcher) each(s string, text func(string), token func(id int)) {
	start := 0
	for i := 0; i < len(s); i++ {
		cands := m.first[s[i]]
		if cands == nil {
			continue
		}
		for _, t := range cands {
			if len(s)-i >= len(t.Content) && s[i:i+len(t.Content)] == t.Content {
				if start < i {
					text(s[start:i])
				}
				token(t.ID)
				i += len(t.Content) - 1
				start = i + 1
				break
			}
		}
	}
	if start < len(s) {
		text(s[start:])
	}
}

package tokenizer

import (
	"unicode"
	"unicode/utf8"
)

// The Split patterns of the Llama 3 and Qwen2/Qwen3 pre-tokenizers, as they
// appear in tokenizer.json. They differ only in how many digits one piece
// holds. Go's regexp has no lookahead (the `\s+(?!\S)` branch), so splitter
// is a hand-written scanner that finds the same matches as Oniguruma does.
const (
	patternLlama3 = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
	patternQwen2  = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
)

// Rune classes for the scanner.
const (
	classOther  uint8 = iota // neither letter, number nor white space
	classLetter              // \p{L}
	classNumber              // \p{N}
	classSpace               // \s: the Unicode White_Space property
)

// asciiClass classifies the ASCII runes without a table lookup in unicode.
var asciiClass [128]uint8

func init() {
	for r := rune(0); r < 128; r++ {
		asciiClass[r] = classifySlow(r)
	}
}

func classifySlow(r rune) uint8 {
	switch {
	case unicode.IsLetter(r):
		return classLetter
	case unicode.IsNumber(r):
		return classNumber
	case unicode.IsSpace(r):
		return classSpace
	}
	return classOther
}

// splitter cuts text into the pieces the pre-tokenizer regex would match.
// Every byte of the input belongs to exactly one piece.
type splitter struct {
	maxDigits int // digits per piece: 3 for Llama 3, 1 for Qwen
}

// runeAt decodes the rune at s[i:] and its class. s must be valid UTF-8.
func runeAt(s string, i int) (rune, int, uint8) {
	c := s[i]
	if c < utf8.RuneSelf {
		return rune(c), 1, asciiClass[c]
	}
	r, n := utf8.DecodeRuneInString(s[i:])
	return r, n, classifySlow(r)
}

// each calls f with the end offset of every piece of s, in order.
func (p splitter) each(s string, f func(start, end int)) {
	for i := 0; i < len(s); {
		j := p.next(s, i)
		f(i, j)
		i = j
	}
}

// next returns the end of the piece that starts at i (i < len(s)).
func (p splitter) next(s string, i int) int {
	r, n, cl := runeAt(s, i)

	// (?i:'s|'t|'re|'ve|'m|'ll|'d) — the case folding is ASCII only in practice.
	if r == '\'' && i+1 < len(s) {
		switch s[i+1] | 0x20 {
		case 's', 't', 'm', 'd':
			return i + 2
		case 'r', 'v', 'l':
			if i+2 < len(s) {
				a, b := s[i+1]|0x20, s[i+2]|0x20
				if (a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l') {
					return i + 3
				}
			}
		}
	}

	// [^\r\n\p{L}\p{N}]?\p{L}+
	if cl == classLetter {
		return p.letters(s, i+n)
	}
	if r != '\r' && r != '\n' && cl != classNumber && i+n < len(s) {
		if _, _, c2 := runeAt(s, i+n); c2 == classLetter {
			return p.letters(s, i+n)
		}
	}

	// \p{N}{1,maxDigits}
	if cl == classNumber {
		j := i + n
		for k := 1; k < p.maxDigits && j < len(s); k++ {
			_, m, c := runeAt(s, j)
			if c != classNumber {
				break
			}
			j += m
		}
		return j
	}

	// ' ?[^\s\p{L}\p{N}]+[\r\n]*'
	j := i
	if r == ' ' {
		j = i + 1
	}
	if j < len(s) {
		if _, _, c := runeAt(s, j); c == classOther {
			for j < len(s) {
				_, m, c := runeAt(s, j)
				if c != classOther {
					break
				}
				j += m
			}
			for j < len(s) && (s[j] == '\r' || s[j] == '\n') {
				j++
			}
			return j
		}
	}

	// Only white space is left: \s*[\r\n]+ | \s+(?!\S) | \s+
	end, lastNL, lastStart, runes := i, -1, i, 0
	for end < len(s) {
		c := s[end]
		_, m, cl := runeAt(s, end)
		if cl != classSpace {
			break
		}
		if c == '\r' || c == '\n' {
			lastNL = end
		}
		lastStart = end
		end += m
		runes++
	}
	if runes == 0 {
		// Not reachable for valid input (every rune has a class), but never loop forever.
		return i + n
	}
	if lastNL >= 0 {
		return lastNL + 1
	}
	if end == len(s) || runes == 1 {
		return end
	}
	return lastStart
}

// letters returns the end of the run of letters starting at j.
func (p splitter) letters(s string, j int) int {
	for j < len(s) {
		_, m, c := runeAt(s, j)
		if c != classLetter {
			break
		}
		j += m
	}
	return j
}

package tokenizer

import (
	"unicode/utf8"
)

// byteToRune is GPT-2's bytes_to_unicode table: every byte maps to a printable
// rune, so a byte string becomes a string of vocabulary symbols.
var byteToRune [256]rune

// runeToByte is the inverse of byteToRune.
var runeToByte = map[rune]byte{}

func init() {
	n := 0
	for b := 0; b < 256; b++ {
		printable := (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF)
		if printable {
			byteToRune[b] = rune(b)
		} else {
			byteToRune[b] = rune(256 + n)
			n++
		}
		runeToByte[byteToRune[b]] = byte(b)
	}
}

// tokenBytes turns a byte-level vocabulary symbol back into the bytes it
// stands for. As Hugging Face's ByteLevel decoder does, a symbol holding any
// rune outside the byte alphabet is taken as its own UTF-8 bytes.
func tokenBytes(sym string) []byte {
	out := make([]byte, 0, len(sym))
	for _, r := range sym {
		b, ok := runeToByte[r]
		if !ok {
			return []byte(sym)
		}
		out = append(out, b)
	}
	return out
}

// validUTF8 returns s with every maximal invalid subpart replaced by one
// U+FFFD, the WHATWG / Unicode "maximal subpart" practice that JavaScript's
// TextDecoder, Python's errors="replace" and Rust's String::from_utf8_lossy
// follow. (Go's own range loop would write one U+FFFD per byte instead.)
func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	out := make([]byte, 0, len(s)+8)
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r != utf8.RuneError || n > 1 {
			out = append(out, s[i:i+n]...)
			i += n
			continue
		}
		out = append(out, "\uFFFD"...)
		i += maximalSubpart(s[i:])
	}
	return string(out)
}

// maximalSubpart returns the length (≥ 1) of the longest prefix of s that
// starts a well-formed UTF-8 sequence but does not complete one.
func maximalSubpart(s string) int {
	b := s[0]
	var need int
	lo, hi := byte(0x80), byte(0xBF)
	switch {
	case b >= 0xC2 && b <= 0xDF:
		need = 1
	case b == 0xE0:
		need, lo = 2, 0xA0
	case b >= 0xE1 && b <= 0xEC, b == 0xEE, b == 0xEF:
		need = 2
	case b == 0xED:
		need, hi = 2, 0x9F
	case b == 0xF0:
		need, lo = 3, 0x90
	case b >= 0xF1 && b <= 0xF3:
		need = 3
	case b == 0xF4:
		need, hi = 3, 0x8F
	default:
		return 1
	}
	n := 1
	for k := 0; k < need && n < len(s); k++ {
		c := s[n]
		if c < lo || c > hi {
			break
		}
		lo, hi = 0x80, 0xBF
		n++
	}
	return n
}

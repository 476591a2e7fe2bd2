package tokenizer

import (
	"slices"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// nfc returns the Unicode NFC form of s, as Rust's unicode-normalization
// (and so Hugging Face's NFC normalizer) computes it.
//
// golang.org/x/text/unicode/norm writes the Stream-Safe Text Format: after
// 30 non-starters in a row it inserts U+034F, which Hugging Face does not.
// Text with a long run of combining marks therefore takes nfcExact, which
// composes without that limit; all other text uses norm.NFC.
func nfc(s string) string {
	if norm.NFC.IsNormalString(s) {
		return s
	}
	if longNonStarterRun(s) {
		return nfcExact(s)
	}
	return norm.NFC.String(s)
}

// longNonStarterRun reports whether s might hold more non-starters in a row
// (counted after decomposition) than norm allows. It errs on the safe side.
func longNonStarterRun(s string) bool {
	run := 0
	for i := 0; i < len(s); {
		p := norm.NFD.PropertiesString(s[i:])
		n := p.Size()
		if n == 0 {
			n = 1
		}
		k := utf8.RuneCount(p.Decomposition())
		if k == 0 {
			k = 1
		}
		if p.LeadCCC() == 0 {
			run = 0
			if p.TrailCCC() != 0 {
				run = k
			}
		} else {
			run += k
		}
		if run >= 16 {
			return true
		}
		i += n
	}
	return false
}

const (
	hangulBase, hangulEnd  = 0xAC00, 0xD7A4
	jamoL, jamoV, jamoT    = 0x1100, 0x1161, 0x11A7
	jamoVCount, jamoTCount = 21, 28
)

func ccc(r rune) uint8 { return norm.NFD.PropertiesString(string(r)).CCC() }

// nfcExact is the NFC algorithm of UAX #15 without the stream-safe limit:
// full canonical decomposition, canonical ordering, canonical composition.
// It asks norm only about single runes and pairs, which never reach the limit.
func nfcExact(s string) string {
	var d []rune
	for _, r := range s {
		switch dec := norm.NFD.PropertiesString(string(r)).Decomposition(); {
		case r >= hangulBase && r < hangulEnd:
			si := r - hangulBase
			d = append(d, jamoL+si/(jamoVCount*jamoTCount), jamoV+(si%(jamoVCount*jamoTCount))/jamoTCount)
			if t := si % jamoTCount; t != 0 {
				d = append(d, jamoT+t)
			}
		case dec != nil:
			d = append(d, []rune(string(dec))...)
		default:
			d = append(d, r)
		}
	}
	classes := make([]uint8, len(d))
	for i, r := range d {
		classes[i] = ccc(r)
	}
	// Canonical ordering: a stable sort by class of every run of non-starters.
	for i := 0; i < len(d); {
		if classes[i] == 0 {
			i++
			continue
		}
		j := i
		for j < len(d) && classes[j] != 0 {
			j++
		}
		idx := make([]int, j-i)
		for k := range idx {
			idx[k] = i + k
		}
		slices.SortStableFunc(idx, func(a, b int) int { return int(classes[a]) - int(classes[b]) })
		rs, cs := make([]rune, len(idx)), make([]uint8, len(idx))
		for k, x := range idx {
			rs[k], cs[k] = d[x], classes[x]
		}
		copy(d[i:j], rs)
		copy(classes[i:j], cs)
		i = j
	}
	// Canonical composition.
	out := make([]rune, 0, len(d))
	starter := -1
	last := 0 // class of the last rune kept since the starter; 256 blocks everything
	for i, r := range d {
		c := int(classes[i])
		if starter >= 0 && (last < c || last == 0) {
			if comp, ok := compose(out[starter], r); ok {
				out[starter] = comp
				continue
			}
		}
		if c == 0 {
			starter = len(out)
			last = 0
		} else {
			last = c
		}
		if starter < 0 {
			last = 256
		}
		out = append(out, r)
	}
	return string(out)
}

// compose returns the primary composite of a starter and the next rune, if any.
func compose(a, b rune) (rune, bool) {
	c := []rune(norm.NFC.String(string([]rune{a, b})))
	if len(c) == 1 {
		return c[0], true
	}
	return 0, false
}

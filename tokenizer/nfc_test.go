package tokenizer

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"golang.org/x/text/unicode/norm"
)

// nfc composes like Rust's unicode-normalization: no U+034F after 30
// non-starters, marks still reordered and composed.
func TestNFCWithoutTheStreamSafeLimit(t *testing.T) {
	marks := strings.Repeat("\u0301", 40)
	assert.Contains(t, norm.NFC.String("x"+marks), "\u034f", "x/text inserts a CGJ (the reason for nfcExact)")
	assert.Equal(t, "x"+marks, nfc("x"+marks))
	assert.Equal(t, "\u00e9"+strings.Repeat("\u0301", 39), nfc("e"+marks))
	// Reordering by class across the whole run: ccc 220 (U+0323) sorts before ccc 230 (U+0301),
	// and e + U+0323 does not compose while ẹ (U+1EB9) is its composite.
	assert.Equal(t, "\u1eb9"+strings.Repeat("\u0323", 34)+strings.Repeat("\u0301", 35), nfc("e"+strings.Repeat("\u0301\u0323", 35)))
	assert.Equal(t, "\ud55c"+marks, nfc("\u1112\u1161\u11ab"+marks), "jamo compose into a syllable")
	for _, s := range []string{"e\u0301", "\u1e9b\u0323", "A\u030a", "\u212b", "한국어", "ﬁ", "e\u0301\u0323\u0302"} {
		assert.Equal(t, norm.NFC.String(s), nfcExact(s), "%q", s)
	}
}

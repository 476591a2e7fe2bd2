package tokenizer

import (
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// FuzzEncode checks, for any input, that Encode does not panic, that the
// Llama 3 tokenizer (no normalizer) round-trips every string up to the
// lossy UTF-8 rule, that the long-piece merge path agrees with the short
// one, and that nfcExact equals x/text's NFC wherever the stream-safe limit
// cannot apply.
func FuzzEncode(f *testing.F) {
	for _, s := range []string{"", "hello world", "  \n\n\t x", "'S'LL 123456", "字字字", "\xff\xe2\x82", "<|eot_id|>a", strings.Repeat("ab ", 40), "e\u0301\u0323", "한\u11a8", "\u1100\u1161\u11a8", "a\u0316\u0301"} {
		f.Add(s)
	}
	tok := family(f, "llama3")
	f.Fuzz(func(t *testing.T, s string) {
		ids := tok.Encode(s)
		if got, want := tok.Decode(ids), validUTF8(s); got != want {
			t.Fatalf("Decode(Encode(%q)) = %q, want %q", s, got, want)
		}
		if !utf8.ValidString(validUTF8(s)) {
			t.Fatalf("validUTF8(%q) is not valid", s)
		}
		v := validUTF8(s)
		if !longNonStarterRun(v) {
			if got, want := nfcExact(v), norm.NFC.String(v); got != want {
				t.Fatalf("nfcExact(%q) = %q, want %q", v, got, want)
			}
		}
		if len(v) > 1 {
			short := tok.model.encode(nil, v)
			long := tok.model.encodeLong(nil, v)
			if !slices.Equal(short, long) {
				t.Fatalf("encode and encodeLong disagree on %q: %v vs %v", v, short, long)
			}
		}
	})
}

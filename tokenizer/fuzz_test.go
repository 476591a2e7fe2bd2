package tokenizer

import (
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzEncode checks, for any input, that Encode does not panic, that the
// Llama 3 tokenizer (no normalizer) round-trips every string up to the
// lossy UTF-8 rule, and that the long-piece merge path agrees with the short one.
func FuzzEncode(f *testing.F) {
	for _, s := range []string{"", "hello world", "  \n\n\t x", "'S'LL 123456", "字字字", "\xff\xe2\x82", "<|eot_id|>a", strings.Repeat("ab ", 40)} {
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
		if len(v) > 1 {
			short := tok.model.encode(nil, v)
			long := tok.model.encodeLong(nil, v)
			if !slices.Equal(short, long) {
				t.Fatalf("encode and encodeLong disagree on %q: %v vs %v", v, short, long)
			}
		}
	})
}

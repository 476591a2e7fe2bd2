package tokenizer

import (
	"path/filepath"
	"strings"
	"testing"
)

// chunker gathers text into chunks of at least 4 KiB, as corpus.js and
// bench.js cut their corpora.
type chunker struct {
	cur    strings.Builder
	chunks []string
	size   int
}

func (c *chunker) add(s string) {
	c.cur.WriteString(s)
	if c.cur.Len() >= 4096 {
		c.flush()
	}
}

func (c *chunker) flush() {
	if c.cur.Len() > 0 {
		c.chunks = append(c.chunks, c.cur.String())
		c.size += c.cur.Len()
		c.cur.Reset()
	}
}

// naturalChunks is testdata/golden/natural.txt.gz cut at the first "\n"
// after every 4 KiB, as corpus.js's naturalChunks does.
func naturalChunks(t testing.TB) (chunks []string, size int) {
	t.Helper()
	var c chunker
	for _, line := range strings.Split(string(readGz(t, filepath.Join("testdata", "golden", "natural.txt.gz"))), "\n") {
		c.add(line + "\n")
	}
	c.flush()
	return c.chunks, c.size
}

// benchChunks is the benchmark corpus shared with testdata/gen/bench.js: the
// golden texts of a family (invalid-UTF-8 cases left out) in order, joined
// with "\n" into chunks of at least 4 KiB.
func benchChunks(b *testing.B, name string) (chunks []string, size int) {
	b.Helper()
	var c chunker
	for _, g := range goldenCases(b, name) {
		if g.Text == nil {
			continue
		}
		if c.cur.Len() > 0 {
			c.add("\n" + *g.Text)
		} else {
			c.add(*g.Text)
		}
	}
	c.flush()
	return c.chunks, c.size
}

// BenchmarkEncode measures Encode throughput on the shared corpus; compare
// with `node testdata/gen/bench.js` (docs/performance.md).
func BenchmarkEncode(b *testing.B) {
	for _, name := range families {
		for _, corpus := range []string{"golden", "natural"} {
			b.Run(name+"/"+corpus, func(b *testing.B) {
				tok := family(b, name)
				chunks, size := benchChunks(b, name)
				if corpus == "natural" {
					chunks, size = naturalChunks(b)
				}
				b.SetBytes(int64(size))
				tokens := 0
				for b.Loop() {
					tokens = 0
					for _, c := range chunks {
						tokens += len(tok.Encode(c))
					}
				}
				b.ReportMetric(float64(tokens), "tokens/op")
			})
		}
	}
}

// BenchmarkDecode measures Decode throughput (bytes of text out).
func BenchmarkDecode(b *testing.B) {
	tok := family(b, "qwen3")
	chunks, size := benchChunks(b, "qwen3")
	ids := make([][]int, len(chunks))
	for i, c := range chunks {
		ids[i] = tok.Encode(c)
	}
	b.SetBytes(int64(size))
	for b.Loop() {
		for _, x := range ids {
			tok.Decode(x)
		}
	}
}

// BenchmarkParse measures loading a tokenizer.json (what Load does after the
// download or cache read); B/op is the memory a loaded tokenizer costs, plus garbage.
func BenchmarkParse(b *testing.B) {
	for _, name := range families {
		b.Run(name, func(b *testing.B) {
			dir := filepath.Join("testdata", "vocab", name)
			tj, cj := readGz(b, filepath.Join(dir, FileTokenizer+".gz")), readGz(b, filepath.Join(dir, FileConfig+".gz"))
			b.SetBytes(int64(len(tj)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Parse(name, tj, cj); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

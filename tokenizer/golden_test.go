package tokenizer

import (
	"bufio"
	"compress/gzip"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// families are the vocabularies committed under testdata/vocab, with golden
// files from Hugging Face's Rust tokenizer (testdata/gen/gen.js).
var families = []string{"llama3", "qwen3"}

var (
	loadedMu sync.Mutex
	loaded   = map[string]*Tokenizer{}
)

// readGz returns the decompressed content of a gzip file.
func readGz(t testing.TB, path string) []byte {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	zr, err := gzip.NewReader(f)
	require.NoError(t, err)
	b, err := io.ReadAll(zr)
	require.NoError(t, err)
	return b
}

// family returns the committed tokenizer of a family, parsed once per test binary.
func family(t testing.TB, name string) *Tokenizer {
	t.Helper()
	loadedMu.Lock()
	defer loadedMu.Unlock()
	if tok, ok := loaded[name]; ok {
		return tok
	}
	dir := filepath.Join("testdata", "vocab", name)
	tok, err := Parse(name, readGz(t, filepath.Join(dir, FileTokenizer+".gz")), readGz(t, filepath.Join(dir, FileConfig+".gz")))
	require.NoError(t, err)
	loaded[name] = tok
	return tok
}

type goldenCase struct {
	Text *string `json:"text"`
	B64  string  `json:"b64"`
	IDs  []int   `json:"ids"`
	Dec  *string `json:"dec"`
}

func (c goldenCase) input(t testing.TB) string {
	if c.Text != nil {
		return *c.Text
	}
	b, err := base64.StdEncoding.DecodeString(c.B64)
	require.NoError(t, err)
	return string(b)
}

func goldenCases(t testing.TB, name string) []goldenCase {
	t.Helper()
	var out []goldenCase
	sc := bufio.NewScanner(bytesReader(readGz(t, filepath.Join("testdata", "golden", name+".jsonl.gz"))))
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		var c goldenCase
		require.NoError(t, json.Unmarshal(sc.Bytes(), &c))
		out = append(out, c)
	}
	require.NoError(t, sc.Err())
	return out
}

// TestGolden asserts that Encode equals Hugging Face on every golden string,
// that Decode equals Hugging Face's decode of those ids, and that
// Decode(Encode(s)) == s wherever Hugging Face round-trips.
func TestGolden(t *testing.T) {
	for _, name := range families {
		t.Run(name, func(t *testing.T) {
			tok := family(t, name)
			cases := goldenCases(t, name)
			require.GreaterOrEqual(t, len(cases), 2000)
			var invalid, roundTrips, failures int
			for i, c := range cases {
				in := c.input(t)
				if c.Text == nil {
					invalid++
				}
				got := tok.Encode(in)
				if !slices.Equal(got, c.IDs) {
					failures++
					if failures <= 20 {
						t.Errorf("case %d %q:\n got  %v\n want %v", i, in, got, c.IDs)
					}
					continue
				}
				want := in
				if c.Dec != nil {
					want = *c.Dec
				} else {
					roundTrips++
				}
				if dec := tok.Decode(got); dec != want {
					failures++
					t.Errorf("case %d %q: Decode = %q, want %q", i, in, dec, want)
				}
			}
			require.Zero(t, failures, "%d of %d cases differ from Hugging Face", failures, len(cases))
			require.Greater(t, invalid, 100, "invalid UTF-8 cases")
			t.Logf("%d cases equal to Hugging Face, %d round-trip, %d invalid UTF-8", len(cases), roundTrips, invalid)
		})
	}
}

// TestNaturalTextGolden checks the benchmark text (600 KB of ordinary text)
// against the token count and the SHA-256 of the ids Hugging Face gave.
func TestNaturalTextGolden(t *testing.T) {
	var want map[string]struct {
		Chunks int    `json:"chunks"`
		Tokens int    `json:"tokens"`
		SHA256 string `json:"sha256"`
	}
	b, err := os.ReadFile(filepath.Join("testdata", "golden", "natural.json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &want))
	chunks, _ := naturalChunks(t)
	for _, name := range families {
		tok := family(t, name)
		h := sha256.New()
		tokens := 0
		var line []byte
		for _, c := range chunks {
			ids := tok.Encode(c)
			tokens += len(ids)
			line = line[:0]
			for i, id := range ids {
				if i > 0 {
					line = append(line, ',')
				}
				line = strconv.AppendInt(line, int64(id), 10)
			}
			h.Write(append(line, '\n'))
		}
		w := want[name]
		require.Equal(t, w.Chunks, len(chunks), name)
		require.Equal(t, w.Tokens, tokens, name)
		require.Equal(t, w.SHA256, hex.EncodeToString(h.Sum(nil)), name)
	}
}

// TestDecodeGolden decodes random id sequences (lone byte tokens that are
// not valid UTF-8 alone, special tokens, anything) as Hugging Face's decode
// does, with and without skip_special_tokens.
func TestDecodeGolden(t *testing.T) {
	for _, name := range families {
		tok := family(t, name)
		sc := bufio.NewScanner(bytesReader(readGz(t, filepath.Join("testdata", "golden", "decode-"+name+".jsonl.gz"))))
		sc.Buffer(nil, 1<<24)
		n := 0
		for sc.Scan() {
			var c struct {
				IDs  []int  `json:"ids"`
				Dec  string `json:"dec"`
				Skip string `json:"skip"`
			}
			require.NoError(t, json.Unmarshal(sc.Bytes(), &c))
			n++
			assert.Equal(t, c.Dec, tok.Decode(c.IDs), "%s %v", name, c.IDs)
			assert.Equal(t, c.Skip, tok.DecodeSkipSpecial(c.IDs), "%s %v skipping special tokens", name, c.IDs)
		}
		require.NoError(t, sc.Err())
		require.Equal(t, 2000, n)
	}
}

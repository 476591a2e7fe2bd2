package tokenizer_test

import (
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/tinkex-go/tinkex/tokenizer"
)

// Encode, decode and render a chat with a tokenizer from a local directory
// (tokenizer.Load fetches the same files from the Hugging Face hub).
func ExampleFromDir() {
	dir := unpack("qwen3")
	defer os.RemoveAll(dir)
	tok, err := tokenizer.FromDir(dir)
	if err != nil {
		fmt.Println(err)
		return
	}
	ids := tok.Encode("Hello, 世界! <|im_end|>")
	fmt.Println(ids)
	fmt.Printf("%q\n", tok.Decode(ids))
	fmt.Printf("%q\n", tok.DecodeSkipSpecial(ids))
	sp := tok.SpecialTokens()
	fmt.Println(sp.EOSText, sp.EOS, sp.PadText, sp.Pad)
	text, _ := tok.ApplyChatTemplate([]tokenizer.Message{
		{Role: "system", Content: "Be brief."},
		{Role: "user", Content: "Hi"},
	}, tokenizer.WithGenerationPrompt())
	fmt.Printf("%q\n", text)
	// Output:
	// [9707 11 220 99489 0 220 151645]
	// "Hello, 世界! <|im_end|>"
	// "Hello, 世界! "
	// <|im_end|> 151645 <|endoftext|> 151643
	// "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
}

// unpack writes the gzipped test vocabulary of a family into a temporary directory.
func unpack(family string) string {
	dir, err := os.MkdirTemp("", "tokenizer-example")
	if err != nil {
		panic(err)
	}
	for _, f := range []string{tokenizer.FileTokenizer, tokenizer.FileConfig} {
		in, err := os.Open(filepath.Join("testdata", "vocab", family, f+".gz"))
		if err != nil {
			panic(err)
		}
		zr, err := gzip.NewReader(in)
		if err != nil {
			panic(err)
		}
		b, err := io.ReadAll(zr)
		if err != nil {
			panic(err)
		}
		in.Close()
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			panic(err)
		}
	}
	return dir
}

package tinkex_test

import (
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/tinkex-go/tinkex"
	"github.com/tinkex-go/tinkex/tokenizer"
)

// Tokenize a chat prompt with the model's own tokenizer, sample, and decode
// the completion. GetTokenizer asks the server which tokenizer the model
// uses and loads it from the Hugging Face hub (cached where huggingface_hub
// caches); here tokenizer.WithLocalRoot reads it from a local directory.
func Example_tokenizer() {
	ctx := context.Background()
	_, svc, stop := connect(ctx)
	defer stop()

	tc, err := svc.CreateLoRATrainingClient(ctx, "Qwen/Qwen3-8B")
	if err != nil {
		fmt.Println("create:", err)
		return
	}
	root := tokenizerRoot()
	defer os.RemoveAll(root)
	tok, err := tc.GetTokenizer(ctx, tokenizer.WithLocalRoot(root))
	if err != nil {
		fmt.Println("tokenizer:", err)
		return
	}
	chat := []tinkex.ChatMessage{{Role: "user", Content: "Say hello."}}
	text, err := tok.ApplyChatTemplate(chat, tokenizer.WithGenerationPrompt(), tokenizer.WithThinking(false))
	if err != nil {
		fmt.Println("template:", err)
		return
	}
	prompt := tinkex.ModelInputFromText(tok, text)
	ids, _ := prompt.ToInts()
	fmt.Printf("%q\n", text)
	fmt.Println(len(ids), "prompt tokens:", ids[:4])

	sc, err := tc.SaveWeightsAndGetSamplingClient(ctx)
	if err != nil {
		fmt.Println("sampler:", err)
		return
	}
	params := tinkex.DefaultSamplingParams()
	maxTokens := 6
	params.MaxTokens = &maxTokens
	res, err := sc.Sample(ctx, prompt, 1, params)
	if err != nil {
		fmt.Println("sample:", err)
		return
	}
	// The fake server's model draws random ids; a real model would answer "Hello!".
	fmt.Printf("%d tokens: %q\n", len(res.Sequences[0].Tokens), tok.Decode(res.Sequences[0].Tokens))
	// Output:
	// "<|im_start|>user\nSay hello.<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n"
	// 15 prompt tokens: [151644 872 198 45764]
	// 6 tokens: " attacks Average mi serializebeh体"
}

// tokenizerRoot unpacks the test vocabulary of package tokenizer into
// root/Qwen/Qwen3-8B, the layout WithLocalRoot reads.
func tokenizerRoot() string {
	root, err := os.MkdirTemp("", "tinkex-tokenizer-example")
	if err != nil {
		panic(err)
	}
	dir := filepath.Join(root, "Qwen", "Qwen3-8B")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		panic(err)
	}
	for _, f := range []string{tokenizer.FileTokenizer, tokenizer.FileConfig} {
		in, err := os.Open(filepath.Join("tokenizer", "testdata", "vocab", "qwen3", f+".gz"))
		if err != nil {
			panic(err)
		}
		zr, err := gzip.NewReader(in)
		if err != nil {
			panic(err)
		}
		out, err := os.Create(filepath.Join(dir, f))
		if err != nil {
			panic(err)
		}
		if _, err := io.Copy(out, zr); err != nil {
			panic(err)
		}
		in.Close()
		out.Close()
	}
	return root
}

// Package tokenizer is a pure-Go (no cgo) implementation of the Hugging Face
// byte-level BPE tokenizers used by the Llama 3.x and Qwen2.5/Qwen3 model
// families, equal to Hugging Face token for token.
//
// Load a tokenizer from the Hugging Face hub (cached where huggingface_hub
// caches, so files a Python process downloaded are reused), from a local
// directory, or from a tokenizer.json file:
//
//	tok, err := tokenizer.Load(ctx, "Qwen/Qwen3-8B")
//	tok, err := tokenizer.FromDir("/models/qwen3")
//	ids := tok.Encode("Hello, world")
//	text := tok.Decode(ids)
//	prompt, err := tok.ApplyChatTemplate(msgs, tokenizer.WithGenerationPrompt())
//
// What is implemented, exactly as tokenizers (the Rust library) does it: the
// added/special tokens (split out first, leftmost-longest), the NFC
// normalizer, the Llama 3 and Qwen2 split regexes (a hand-written scanner:
// Go's regexp has no lookahead), the byte-level mapping, BPE merges by rank
// with ignore_merges, and the ByteLevel decoder. A tokenizer.json that needs
// anything else fails to load with KindUnsupported rather than encode wrongly.
// The golden tests compare Encode and Decode with Hugging Face's Rust
// tokenizer on 5,200 strings per family (testdata/gen/README.md).
//
// Encode never adds BOS/EOS (add_special_tokens=False, as tinker-cookbook
// encodes); ApplyChatTemplate and the chat helpers place them.
//
// Every failure is an *Error naming the repo and file, with a Kind to test
// with errors.Is (ErrNotFound, ErrNetwork, ErrUnauthorized, ErrOffline, ...).
// A Tokenizer is immutable and safe for concurrent use.
package tokenizer

package types

import "encoding/json"

// DefaultLoraRank is the rank the ServiceClient uses when none is given.
const DefaultLoraRank = 32

// MaxLoraRank is the largest LoRA rank tinkex sends. The protocol reference
// (Python SDK 0.25) states no bound and no power-of-two rule; tinkex refuses
// ranks above 1024 before sending, as a documented client-side limit (far
// above the ranks LoRA fine-tuning uses, 8 to 128).
const MaxLoraRank = 1024

// LoraConfig describes the LoRA adapter of a new training model. The zero
// value trains nothing and fails Validate; start from NewLoraConfig.
// JSON: {"rank","seed"?,"train_unembed","train_mlp","train_attn"}.
type LoraConfig struct {
	Rank         int    `json:"rank"`
	Seed         *int64 `json:"seed,omitempty"`
	TrainUnembed bool   `json:"train_unembed"`
	TrainMLP     bool   `json:"train_mlp"`
	TrainAttn    bool   `json:"train_attn"`
}

// NewLoraConfig returns a config of the given rank that trains the unembedding,
// MLP and attention weights (the SDK defaults).
func NewLoraConfig(rank int) LoraConfig {
	return LoraConfig{Rank: rank, TrainUnembed: true, TrainMLP: true, TrainAttn: true}
}

// UnmarshalJSON treats absent train_* fields as true, as the SDK does.
func (c *LoraConfig) UnmarshalJSON(b []byte) error {
	type wire LoraConfig
	w := wire(NewLoraConfig(0))
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*c = LoraConfig(w)
	return nil
}

// Validate returns a KindValidation error if the rank is not in
// [1, MaxLoraRank], the seed is negative, or no weights are trained.
func (c LoraConfig) Validate() error {
	const op = "lora_config"
	if c.Rank <= 0 {
		return ValidationError(op, "rank must be positive, got %d", c.Rank)
	}
	if c.Rank > MaxLoraRank {
		return ValidationError(op, "rank must be at most %d, got %d", MaxLoraRank, c.Rank)
	}
	if c.Seed != nil && *c.Seed < 0 {
		return ValidationError(op, "seed must not be negative, got %d", *c.Seed)
	}
	if !c.TrainUnembed && !c.TrainMLP && !c.TrainAttn {
		return ValidationError(op, "train_unembed, train_mlp and train_attn are all false; nothing would be trained")
	}
	return nil
}

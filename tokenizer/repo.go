package tokenizer

import "strings"

// Llama3Repo is the ungated copy of the Llama 3 instruct tokenizer that the
// Tinker SDK loads for every meta-llama/Llama-3* model.
const Llama3Repo = "thinkingmachineslabinc/meta-llama-3-instruct-tokenizer"

// RepoFor picks the Hugging Face repo of a Tinker model's tokenizer with the
// Python SDK's rules (sampling_client.py, _load_tokenizer_from_model_info):
// an explicit tokenizerID (get_info's model_data.tokenizer_id) wins, cut at
// its first ':'; otherwise a meta-llama/Llama-3* model uses Llama3Repo, and
// an "org/model/variant" name uses "org/model". It returns "" when both
// arguments are empty.
func RepoFor(modelName, tokenizerID string) string {
	if id, _, _ := strings.Cut(tokenizerID, ":"); id != "" {
		return id
	}
	if strings.HasPrefix(modelName, "meta-llama/Llama-3") {
		return Llama3Repo
	}
	if parts := strings.Split(modelName, "/"); len(parts) == 3 {
		return parts[0] + "/" + parts[1]
	}
	return modelName
}

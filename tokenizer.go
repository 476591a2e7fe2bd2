package tinkex

import (
	"context"
	"errors"

	"github.com/tinkex-go/tinkex/httpclient"
	"github.com/tinkex-go/tinkex/tokenizer"
)

// GetTokenizer loads the tokenizer of the model being trained, as the Python
// SDK's get_tokenizer does: get_info names the model and its tokenizer_id,
// tokenizer.RepoFor picks the Hugging Face repo, and tokenizer.Load fetches
// it over the runtime's HTTP transports through the huggingface_hub cache.
// opts go to tokenizer.Load after the defaults, so WithLocalRoot,
// WithEndpoint, WithHTTPClient or WithOffline override them.
//
// Each call loads anew (from the disk cache once downloaded): keep the
// Tokenizer. A failed get_info returns its *types.Error; a failed load a
// *tokenizer.Error naming the repo and file.
func (t *TrainingClient) GetTokenizer(ctx context.Context, opts ...tokenizer.Option) (*tokenizer.Tokenizer, error) {
	info, err := t.GetInfo(ctx)
	if err != nil {
		return nil, err
	}
	name := info.ModelData.ModelName
	if name == "" {
		name = t.baseModel
	}
	return t.svc.loadTokenizer(ctx, tokenizer.RepoFor(name, info.ModelData.TokenizerID), name, opts)
}

// GetTokenizer loads the tokenizer of the sampler's base model, as the
// Python SDK does: GET /api/v1/samplers/{id} names the base model,
// tokenizer.RepoFor picks the Hugging Face repo, and tokenizer.Load fetches
// it (see TrainingClient.GetTokenizer for the options and errors).
func (s *SamplingClient) GetTokenizer(ctx context.Context, opts ...tokenizer.Option) (*tokenizer.Tokenizer, error) {
	info, err := s.svc.Rest().GetSampler(ctx, s.samplerID)
	if err != nil {
		return nil, err
	}
	name := info.BaseModel
	if name == "" {
		name = s.baseModel
	}
	return s.svc.loadTokenizer(ctx, tokenizer.RepoFor(name, ""), name, opts)
}

// hubPoolKey names the runtime's connection pool for the Hugging Face hub.
const hubPoolKey = "huggingface-hub"

// loadTokenizer loads repo, which the server named, bound to the client's
// lifetime: a repo id carrying a credential is refused before any request
// (it would go into the hub's URL and the error), and a load in flight when
// the client closes or the runtime stops ends with ErrClientStopped.
func (s *ServiceClient) loadTokenizer(ctx context.Context, repo, model string, opts []tokenizer.Option) (*tokenizer.Tokenizer, error) {
	const op = "get_tokenizer"
	if repo == "" {
		return nil, &tokenizer.Error{Kind: tokenizer.KindNotFound, Detail: "the server named no model or tokenizer for " + s.http.Scrub(model)}
	}
	if err := checkServerID(s.http, op, "tokenizer repo", repo); err != nil {
		return nil, err
	}
	all := append([]tokenizer.Option{tokenizer.WithHTTPClient(s.rt.transports.Client(hubPoolKey, httpclient.PoolSession))}, opts...)
	var tok *tokenizer.Tokenizer
	err := s.call(ctx, op, func(ctx context.Context) error {
		var err error
		if tok, err = tokenizer.Load(ctx, repo, all...); err != nil && errors.Is(context.Cause(ctx), errClientStopped) {
			return s.stoppedError(op)
		}
		return err
	})
	return tok, err
}

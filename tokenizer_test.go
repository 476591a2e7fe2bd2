package tinkex

import (
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tinkex-go/tinkex/tinkertest"
	"github.com/tinkex-go/tinkex/tokenizer"
	"github.com/tinkex-go/tinkex/types"
)

// tokenizerRoot lays the committed Qwen3 test vocabulary out as
// root/<repo>/{tokenizer.json,tokenizer_config.json} for tokenizer.WithLocalRoot.
func tokenizerRoot(t *testing.T, repo string) string {
	t.Helper()
	root := t.TempDir()
	dir := filepath.Join(root, filepath.FromSlash(repo))
	require.NoError(t, os.MkdirAll(dir, 0o755))
	for _, f := range []string{tokenizer.FileTokenizer, tokenizer.FileConfig} {
		in, err := os.Open(filepath.Join("tokenizer", "testdata", "vocab", "qwen3", f+".gz"))
		require.NoError(t, err)
		zr, err := gzip.NewReader(in)
		require.NoError(t, err)
		b, err := io.ReadAll(zr)
		in.Close()
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, f), b, 0o644))
	}
	return root
}

// The training client asks get_info, whose tokenizer_id (tinkertest: the base
// model) picks the repo, and loads it from the local root.
func TestTrainingClientGetTokenizer(t *testing.T) {
	e := newEnv(t, nil)
	ctx := ctxT(t)
	svc := e.service(t)
	tc, err := svc.CreateLoRATrainingClient(ctx, "Qwen/Qwen3-8B")
	require.NoError(t, err)

	tok, err := tc.GetTokenizer(ctx, tokenizer.WithLocalRoot(tokenizerRoot(t, "Qwen/Qwen3-8B")))
	require.NoError(t, err)
	assert.Equal(t, 1, e.srv.CountEndpoint(tinkertest.EndpointGetInfo))
	assert.Equal(t, []int{9707, 11, 1879}, tok.Encode("Hello, world"))
	assert.Equal(t, "<|im_end|>", tok.SpecialTokens().EOSText)
}

// The sampling client asks GET /samplers/{id} for the base model and applies
// the SDK's Llama 3 rule: the ungated thinkingmachineslabinc repo.
func TestSamplingClientGetTokenizerUsesTheLlama3Repo(t *testing.T) {
	e := newEnv(t, nil)
	ctx := ctxT(t)
	svc := e.service(t)
	sc := sampler(t, e, svc)

	_, err := sc.GetTokenizer(ctx, tokenizer.WithLocalRoot(tokenizerRoot(t, "Qwen/Qwen3-8B")))
	require.ErrorIs(t, err, tokenizer.ErrNotFound)
	assert.Contains(t, err.Error(), tokenizer.Llama3Repo)
	assert.Equal(t, 1, e.srv.CountEndpoint(tinkertest.EndpointSampler))

	tok, err := sc.GetTokenizer(ctx, tokenizer.WithLocalRoot(tokenizerRoot(t, tokenizer.Llama3Repo)))
	require.NoError(t, err)
	assert.NotEmpty(t, tok.Encode("hi"))
}

// Without WithHTTPClient the hub is reached over the runtime's transports,
// at the endpoint given; a hub failure is a tokenizer error naming the repo.
func TestGetTokenizerReachesTheHubOverTheRuntime(t *testing.T) {
	var hits atomic.Int32
	hub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		assert.True(t, strings.HasPrefix(r.URL.Path, "/Qwen/Qwen3-8B/resolve/main/"), r.URL.Path)
		w.Header().Set("X-Error-Code", "RepoNotFound")
		w.WriteHeader(http.StatusUnauthorized)
	}))
	defer hub.Close()
	e := newEnv(t, nil)
	ctx := ctxT(t)
	tc, err := e.service(t).CreateLoRATrainingClient(ctx, "Qwen/Qwen3-8B")
	require.NoError(t, err)

	_, err = tc.GetTokenizer(ctx, tokenizer.WithEndpoint(hub.URL), tokenizer.WithCacheDir(t.TempDir()))
	require.ErrorIs(t, err, tokenizer.ErrNotFound)
	assert.Contains(t, err.Error(), "Qwen/Qwen3-8B")
	assert.Equal(t, int32(1), hits.Load())
}

// A hostile get_info whose tokenizer_id carries the key: the repo id is
// refused before any hub request, and the error does not quote it.
func TestGetTokenizerRefusesARepoCarryingTheKey(t *testing.T) {
	var hits atomic.Int32
	hub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.WriteHeader(http.StatusNotFound)
	}))
	defer hub.Close()
	e := newEnv(t, nil)
	hostile := newIDRewriter(t, e.srv.URL(), "/api/v1/get_info", "tokenizer_id", keyA)
	tc := trainer(t, serviceAt(t, e, hostile.srv.URL))
	_, err := tc.GetTokenizer(ctxT(t), tokenizer.WithEndpoint(hub.URL), tokenizer.WithCacheDir(t.TempDir()))
	require.Positive(t, hostile.rewrote.Load())
	require.ErrorIs(t, err, types.ErrValidation)
	assert.NotContains(t, err.Error(), keyA[:12])
	assert.Zero(t, hits.Load(), "nothing went to the hub")
}

// A tokenizer load in flight when its ServiceClient closes ends with
// ErrClientStopped, not at the caller's deadline.
func TestGetTokenizerEndsWhenTheClientCloses(t *testing.T) {
	arrived := make(chan struct{}, 1)
	hub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case arrived <- struct{}{}:
		default:
		}
		<-r.Context().Done()
	}))
	defer hub.Close()
	e := newEnv(t, nil)
	svc := e.service(t)
	tc := trainer(t, svc)
	done := make(chan error, 1)
	go func() {
		_, err := tc.GetTokenizer(ctxT(t), tokenizer.WithEndpoint(hub.URL), tokenizer.WithCacheDir(t.TempDir()))
		done <- err
	}()
	<-arrived
	require.NoError(t, svc.Close(ctxT(t)))
	select {
	case err := <-done:
		require.ErrorIs(t, err, types.ErrClientStopped)
	case <-time.After(20 * time.Second):
		t.Fatal("the load outlived Close")
	}
}

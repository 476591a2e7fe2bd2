package tokenizer

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const testCommit = "0123456789abcdef0123456789abcdef01234567"

// fakeHub mimics the hub's resolve endpoint: HEAD and GET on
// /{org}/{name}/resolve/{revision}/{file}, with X-Repo-Commit and ETag, the
// large file redirected to a "CDN" path as the hub does for LFS files.
type fakeHub struct {
	srv   *httptest.Server
	files map[string][]byte // "org/name/file" → content
	token string            // when set, requests without "Bearer <token>" get 401

	mu       sync.Mutex
	requests []string // "METHOD path"
	fail     int      // answer this status to everything when non-zero
}

func newFakeHub(t *testing.T, files map[string][]byte) *fakeHub {
	t.Helper()
	h := &fakeHub{files: files}
	h.srv = httptest.NewServer(http.HandlerFunc(h.serve))
	t.Cleanup(h.srv.Close)
	return h
}

func etagOf(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

func (h *fakeHub) serve(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	h.requests = append(h.requests, r.Method+" "+r.URL.Path)
	fail := h.fail
	h.mu.Unlock()
	if fail != 0 {
		w.WriteHeader(fail)
		return
	}
	if strings.HasPrefix(r.URL.Path, "/cdn/") {
		b := h.files[strings.TrimPrefix(r.URL.Path, "/cdn/")]
		w.Write(b)
		return
	}
	if rest, ok := strings.CutPrefix(r.URL.Path, "/old/tiny/"); ok {
		// A renamed repo: the hub answers a relative redirect.
		w.Header().Set("Location", "/org/tiny/"+rest)
		w.WriteHeader(http.StatusTemporaryRedirect)
		return
	}
	if h.token != "" && r.Header.Get("Authorization") != "Bearer "+h.token {
		w.Header().Set("X-Error-Code", "GatedRepo")
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	parts := strings.SplitN(strings.TrimPrefix(r.URL.Path, "/"), "/", 5) // org, name, "resolve", rev, file
	if len(parts) != 5 || parts[2] != "resolve" {
		http.NotFound(w, r)
		return
	}
	repo, rev, file := parts[0]+"/"+parts[1], parts[3], parts[4]
	if rev != "main" && rev != testCommit {
		w.Header().Set("X-Error-Code", "RevisionNotFound")
		w.WriteHeader(http.StatusNotFound)
		return
	}
	known := false
	for k := range h.files {
		known = known || strings.HasPrefix(k, repo+"/")
	}
	if !known {
		w.Header().Set("X-Error-Code", "RepoNotFound")
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	w.Header().Set("X-Repo-Commit", testCommit)
	b, ok := h.files[repo+"/"+file]
	if !ok {
		w.Header().Set("X-Error-Code", "EntryNotFound")
		w.WriteHeader(http.StatusNotFound)
		return
	}
	if file == FileTokenizer {
		// Large files live in LFS: the hub redirects to the CDN, with the metadata on the redirect.
		w.Header().Set("X-Linked-Etag", `"`+etagOf(b)+`"`)
		w.Header().Set("ETag", `"not-the-content-etag"`)
		w.Header().Set("Location", h.srv.URL+"/cdn/"+repo+"/"+file+"?signature=secret")
		w.WriteHeader(http.StatusFound)
		return
	}
	w.Header().Set("ETag", `W/"`+etagOf(b)+`"`)
	if r.Method == http.MethodHead {
		return
	}
	w.Write(b)
}

func (h *fakeHub) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.requests)
}

// hubEnv isolates a test from the machine's Hugging Face settings.
func hubEnv(t *testing.T) string {
	t.Helper()
	home := t.TempDir()
	for _, k := range []string{"HF_ENDPOINT", "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_HUB_OFFLINE", "HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "HF_TOKEN_PATH", "XDG_CACHE_HOME"} {
		t.Setenv(k, "")
	}
	t.Setenv("HF_HOME", home)
	return home
}

func tinyRepo(t *testing.T) map[string][]byte {
	tj, cj := tinyFiles(t)
	return map[string][]byte{"org/tiny/" + FileTokenizer: tj, "org/tiny/" + FileConfig: cj}
}

func TestLoadDownloadsIntoTheHuggingFaceCacheLayout(t *testing.T) {
	home := hubEnv(t)
	files := tinyRepo(t)
	h := newFakeHub(t, files)
	t.Setenv("HF_ENDPOINT", h.srv.URL)

	tok, err := Load(context.Background(), "org/tiny")
	require.NoError(t, err)
	assert.Equal(t, "org/tiny", tok.Name())
	assert.Equal(t, "<|im_end|>", tok.SpecialTokens().EOSText)

	repoDir := filepath.Join(home, "hub", "models--org--tiny")
	ref, err := os.ReadFile(filepath.Join(repoDir, "refs", "main"))
	require.NoError(t, err)
	assert.Equal(t, testCommit, string(ref))
	for _, f := range []string{FileTokenizer, FileConfig} {
		snap := filepath.Join(repoDir, "snapshots", testCommit, f)
		target, err := os.Readlink(snap)
		require.NoError(t, err, f)
		assert.Equal(t, filepath.Join("..", "..", "blobs", etagOf(files["org/tiny/"+f])), target)
		b, err := os.ReadFile(snap)
		require.NoError(t, err)
		assert.Equal(t, files["org/tiny/"+f], b)
	}

	// A second load finds the blobs: metadata requests only, no content download.
	before := h.count()
	_, err = Load(context.Background(), "org/tiny")
	require.NoError(t, err)
	h.mu.Lock()
	for _, r := range h.requests[before:] {
		assert.True(t, strings.HasPrefix(r, "HEAD "), r)
	}
	h.mu.Unlock()

	// Offline, the cache alone serves it.
	t.Setenv("HF_HUB_OFFLINE", "1")
	before = h.count()
	_, err = Load(context.Background(), "org/tiny")
	require.NoError(t, err)
	assert.Equal(t, before, h.count(), "offline load touched the network")
}

// TestLoadReusesACacheWrittenByPython builds the cache as huggingface_hub
// leaves it and loads from it offline.
func TestLoadReusesACacheWrittenByPython(t *testing.T) {
	hubEnv(t)
	cache := t.TempDir()
	t.Setenv("HF_HUB_CACHE", cache)
	t.Setenv("HF_HUB_OFFLINE", "true")
	tj, cj := tinyFiles(t)
	repo := filepath.Join(cache, "models--Qwen--Qwen3-8B")
	for name, b := range map[string][]byte{FileTokenizer: tj, FileConfig: cj} {
		blob := filepath.Join(repo, "blobs", etagOf(b))
		require.NoError(t, os.MkdirAll(filepath.Dir(blob), 0o755))
		require.NoError(t, os.WriteFile(blob, b, 0o644))
		snap := filepath.Join(repo, "snapshots", testCommit, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(snap), 0o755))
		require.NoError(t, os.Symlink(filepath.Join("..", "..", "blobs", etagOf(b)), snap))
	}
	require.NoError(t, os.MkdirAll(filepath.Join(repo, "refs"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(repo, "refs", "main"), []byte(testCommit), 0o644))

	tok, err := Load(context.Background(), "Qwen/Qwen3-8B", WithEndpoint("http://127.0.0.1:1"))
	require.NoError(t, err)
	assert.Equal(t, "<|im_end|>", tok.SpecialTokens().EOSText)

	// The same by commit, and a revision the cache lacks.
	_, err = Load(context.Background(), "Qwen/Qwen3-8B", WithRevision(testCommit))
	require.NoError(t, err)
	_, err = Load(context.Background(), "Qwen/Qwen3-8B", WithRevision("v2"))
	assert.ErrorIs(t, err, ErrOffline)
	var e *Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, "Qwen/Qwen3-8B", e.Repo)
	assert.Equal(t, FileTokenizer, e.File)
}

func TestLoadErrorsNameRepoAndFile(t *testing.T) {
	hubEnv(t)
	h := newFakeHub(t, tinyRepo(t))
	ctx := context.Background()
	at := WithEndpoint(h.srv.URL)

	cases := []struct {
		name string
		repo string
		opts []Option
		kind error
		file string
	}{
		{"missing repo", "org/nope", nil, ErrNotFound, FileTokenizer},
		{"missing revision", "org/tiny", []Option{WithRevision("v9")}, ErrNotFound, FileTokenizer},
		{"bad repo id", "../../etc", nil, ErrNotFound, ""},
		{"offline, nothing cached", "org/tiny", []Option{WithOffline(true)}, ErrOffline, FileTokenizer},
		{"unreachable hub", "org/tiny", []Option{WithEndpoint(closedServerURL(t))}, ErrNetwork, FileTokenizer},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Load(ctx, c.repo, append([]Option{at, WithCacheDir(t.TempDir())}, c.opts...)...)
			require.Error(t, err)
			assert.ErrorIs(t, err, c.kind)
			assert.NotErrorIs(t, err, ErrUnsupported, "a load failure must not read as an unsupported model")
			var e *Error
			require.ErrorAs(t, err, &e)
			assert.Equal(t, c.repo, e.Repo)
			assert.Equal(t, c.file, e.File)
			assert.Contains(t, err.Error(), c.repo)
		})
	}
}

func closedServerURL(t *testing.T) string {
	srv := httptest.NewServer(http.NotFoundHandler())
	u := srv.URL
	srv.Close()
	return u
}

func TestLoadTokenAndGatedRepo(t *testing.T) {
	hubEnv(t)
	h := newFakeHub(t, tinyRepo(t))
	h.token = "hf_secret_token"
	t.Setenv("HF_ENDPOINT", h.srv.URL)

	_, err := Load(context.Background(), "org/tiny", WithCacheDir(t.TempDir()))
	assert.ErrorIs(t, err, ErrUnauthorized)
	assert.NotContains(t, err.Error(), "hf_secret_token")

	t.Setenv("HF_TOKEN", "hf_secret_token")
	_, err = Load(context.Background(), "org/tiny", WithCacheDir(t.TempDir()))
	require.NoError(t, err)
}

func TestLoadFallsBackToTheCacheWhenTheHubFails(t *testing.T) {
	hubEnv(t)
	h := newFakeHub(t, tinyRepo(t))
	cache := WithCacheDir(t.TempDir())
	_, err := Load(context.Background(), "org/tiny", WithEndpoint(h.srv.URL), cache)
	require.NoError(t, err)

	h.mu.Lock()
	h.fail = http.StatusServiceUnavailable
	h.mu.Unlock()
	_, err = Load(context.Background(), "org/tiny", WithEndpoint(h.srv.URL), cache)
	require.NoError(t, err, "a cached tokenizer loads while the hub answers 503")

	_, err = Load(context.Background(), "org/tiny", WithEndpoint(h.srv.URL), WithCacheDir(t.TempDir()))
	require.ErrorIs(t, err, ErrNetwork)
	var e *Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, http.StatusServiceUnavailable, e.Status)
}

func TestLoadWithoutTokenizerConfig(t *testing.T) {
	hubEnv(t)
	tj, _ := tinyFiles(t)
	h := newFakeHub(t, map[string][]byte{"org/bare/" + FileTokenizer: tj})
	cache := WithCacheDir(t.TempDir())
	tok, err := Load(context.Background(), "org/bare", WithEndpoint(h.srv.URL), cache)
	require.NoError(t, err)
	assert.Equal(t, -1, tok.SpecialTokens().EOS)
	// The absence is cached as huggingface_hub records it, so offline works too.
	_, err = Load(context.Background(), "org/bare", cache, WithOffline(true))
	require.NoError(t, err)
}

func TestLoadCanceled(t *testing.T) {
	hubEnv(t)
	h := newFakeHub(t, tinyRepo(t))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Load(ctx, "org/tiny", WithEndpoint(h.srv.URL), WithCacheDir(t.TempDir()))
	assert.ErrorIs(t, err, ErrCanceled)
	assert.True(t, errors.Is(err, context.Canceled))
}

func TestLoadFromLocalRoot(t *testing.T) {
	hubEnv(t)
	root := t.TempDir()
	tj, cj := tinyFiles(t)
	dir := filepath.Join(root, "org", "tiny")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, FileTokenizer), tj, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, FileConfig), cj, 0o644))

	tok, err := Load(context.Background(), "org/tiny", WithLocalRoot(root), WithEndpoint("http://127.0.0.1:1"))
	require.NoError(t, err)
	assert.Equal(t, "hello", tok.Decode(tok.Encode("hello")))

	_, err = Load(context.Background(), "org/other", WithLocalRoot(root))
	assert.ErrorIs(t, err, ErrNotFound)

	tok, err = FromFile(filepath.Join(dir, FileTokenizer))
	require.NoError(t, err)
	assert.Equal(t, "<|im_end|>", tok.SpecialTokens().EOSText)
}

func TestLoadFollowsARenamedRepo(t *testing.T) {
	hubEnv(t)
	h := newFakeHub(t, tinyRepo(t))
	tok, err := Load(context.Background(), "old/tiny", WithEndpoint(h.srv.URL), WithCacheDir(t.TempDir()))
	require.NoError(t, err)
	assert.Equal(t, "<|im_end|>", tok.SpecialTokens().EOSText)
}

// Concurrent loads of one repo into one cache all succeed and leave one
// consistent snapshot.
func TestConcurrentLoadsShareTheCache(t *testing.T) {
	hubEnv(t)
	h := newFakeHub(t, tinyRepo(t))
	cache := t.TempDir()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := Load(context.Background(), "org/tiny", WithEndpoint(h.srv.URL), WithCacheDir(cache))
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	entries, err := os.ReadDir(filepath.Join(cache, "models--org--tiny", "snapshots", testCommit))
	require.NoError(t, err)
	assert.Len(t, entries, 2, "only the two files, no temporaries")
	_, err = Load(context.Background(), "org/tiny", WithCacheDir(cache), WithOffline(true))
	require.NoError(t, err)
}

// The hub redirects tokenizer.json to another origin on the same host name
// (another port, plain http): net/http, comparing host names only, would
// forward "Authorization: Bearer <HF token>" there. The download drops it
// for any origin but the hub's, and keeps it on the hub's own.
func TestHubTokenGoesToTheHubOriginOnly(t *testing.T) {
	const token = "hf_secretTOKEN"
	for name, sameOrigin := range map[string]bool{"another port": false, "the hub itself": true} {
		t.Run(name, func(t *testing.T) {
			hubEnv(t)
			var mu sync.Mutex
			var seen []string
			record := func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				seen = append(seen, r.Header.Get("Authorization"))
				mu.Unlock()
				w.WriteHeader(http.StatusNotFound)
			}
			other := httptest.NewServer(http.HandlerFunc(record))
			t.Cleanup(other.Close)
			h := newFakeHub(t, tinyRepo(t))
			h.token = token
			target := other.URL + "/elsewhere/x"
			if sameOrigin {
				target = h.srv.URL + "/elsewhere/x"
			}
			inner := h.srv.Config.Handler
			h.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				switch {
				case r.URL.Path == "/elsewhere/x":
					record(w, r)
				case r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/"+FileTokenizer):
					w.Header().Set("Location", target)
					w.WriteHeader(http.StatusFound)
				default:
					inner.ServeHTTP(w, r)
				}
			})
			_, err := Load(context.Background(), "org/tiny", WithEndpoint(h.srv.URL), WithToken(token))
			require.Error(t, err, "the redirect target has no file")
			mu.Lock()
			defer mu.Unlock()
			require.NotEmpty(t, seen, "the redirect was followed")
			for _, a := range seen {
				if sameOrigin {
					assert.Equal(t, "Bearer "+token, a, "the hub's own origin gets the token")
				} else {
					assert.NotContains(t, a, token, "the hub token went to %s", other.URL)
				}
			}
		})
	}
}

// A hub (or anything on the path) whose answer is not HTTP and quotes the
// Authorization header it was sent: net/http puts that line in its error,
// which Load's error wraps. The token is removed from the text; errors.As
// still reaches the transport's *url.Error.
func TestHubTransportErrorsAreScrubbedOfTheToken(t *testing.T) {
	hubEnv(t)
	const token = "hf_secretTOKEN"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err != nil {
			return
		}
		fmt.Fprintf(conn, "echo:%s\r\n\r\n", r.Header.Get("Authorization"))
		_ = conn.Close()
	}))
	t.Cleanup(srv.Close)
	_, err := Load(context.Background(), "org/tiny", WithEndpoint(srv.URL), WithToken(token))
	require.ErrorIs(t, err, ErrNetwork)
	assert.Contains(t, err.Error(), "malformed HTTP", "the cause is still described")
	assert.NotContains(t, err.Error(), token)
	assert.NotContains(t, fmt.Sprintf("%+v", err), token)
	var ue *url.Error
	assert.True(t, errors.As(err, &ue))
}

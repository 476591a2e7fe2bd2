package tokenizer

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
)

// DefaultEndpoint is the Hugging Face hub; HF_ENDPOINT overrides it, as in huggingface_hub.
const DefaultEndpoint = "https://huggingface.co"

// Option configures Load.
type Option func(*loadOptions)

type loadOptions struct {
	client    *http.Client
	endpoint  string
	token     string
	revision  string
	cacheDir  string
	offline   bool
	localRoot string
}

// WithHTTPClient sets the client that talks to the hub (default: a plain
// http.Client; the tinkex clients pass the runtime's own transports). It must
// follow redirects: the hub redirects large files to its CDN.
func WithHTTPClient(c *http.Client) Option { return func(o *loadOptions) { o.client = c } }

// WithEndpoint sets the hub's base URL (default HF_ENDPOINT, else DefaultEndpoint).
// Files are fetched from {endpoint}/{repo}/resolve/{revision}/{file}.
func WithEndpoint(url string) Option {
	return func(o *loadOptions) { o.endpoint = strings.TrimRight(url, "/") }
}

// WithToken sets the hub token sent as "Authorization: Bearer" (default
// HF_TOKEN, else HUGGING_FACE_HUB_TOKEN, else the token file that
// `huggingface-cli login` writes: HF_TOKEN_PATH or $HF_HOME/token).
func WithToken(token string) Option { return func(o *loadOptions) { o.token = token } }

// WithRevision selects a branch, tag or commit (default "main").
func WithRevision(rev string) Option { return func(o *loadOptions) { o.revision = rev } }

// WithCacheDir sets the hub cache (default HF_HUB_CACHE, else
// $HF_HOME/hub, else $XDG_CACHE_HOME/huggingface/hub, else
// ~/.cache/huggingface/hub — where huggingface_hub caches).
func WithCacheDir(dir string) Option { return func(o *loadOptions) { o.cacheDir = dir } }

// WithOffline loads from the cache only, never touching the network, as
// HF_HUB_OFFLINE=1 does (which Load also honours).
func WithOffline(offline bool) Option { return func(o *loadOptions) { o.offline = offline } }

// WithLocalRoot makes Load read repo "org/name" from the directory
// root/org/name (tokenizer.json and tokenizer_config.json), with no network
// and no cache: for tests and air-gapped machines.
func WithLocalRoot(root string) Option { return func(o *loadOptions) { o.localRoot = root } }

// resolveOptions applies opts over the environment, as huggingface_hub reads it.
func resolveOptions(opts []Option) loadOptions {
	var o loadOptions
	for _, f := range opts {
		f(&o)
	}
	if o.endpoint == "" {
		o.endpoint = strings.TrimRight(os.Getenv("HF_ENDPOINT"), "/")
		if o.endpoint == "" {
			o.endpoint = DefaultEndpoint
		}
	}
	if o.revision == "" {
		o.revision = "main"
	}
	if o.cacheDir == "" {
		o.cacheDir = defaultCacheDir()
	}
	if !o.offline {
		o.offline = envTrue("HF_HUB_OFFLINE")
	}
	if o.token == "" {
		o.token = defaultToken()
	}
	if o.client == nil {
		o.client = http.DefaultClient
	}
	return o
}

// envTrue reads a boolean the way huggingface_hub does: 1, ON, YES or TRUE.
func envTrue(name string) bool {
	switch strings.ToUpper(strings.TrimSpace(os.Getenv(name))) {
	case "1", "ON", "YES", "TRUE":
		return true
	}
	return false
}

func hfHome() string {
	if h := os.Getenv("HF_HOME"); h != "" {
		return h
	}
	if x := os.Getenv("XDG_CACHE_HOME"); x != "" {
		return filepath.Join(x, "huggingface")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return filepath.Join(os.TempDir(), "huggingface")
	}
	return filepath.Join(home, ".cache", "huggingface")
}

func defaultCacheDir() string {
	if d := os.Getenv("HF_HUB_CACHE"); d != "" {
		return d
	}
	if d := os.Getenv("HUGGINGFACE_HUB_CACHE"); d != "" {
		return d
	}
	return filepath.Join(hfHome(), "hub")
}

func defaultToken() string {
	for _, name := range []string{"HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"} {
		if t := strings.TrimSpace(os.Getenv(name)); t != "" {
			return t
		}
	}
	path := os.Getenv("HF_TOKEN_PATH")
	if path == "" {
		path = filepath.Join(hfHome(), "token")
	}
	if b, err := os.ReadFile(path); err == nil {
		return strings.TrimSpace(string(b))
	}
	return ""
}

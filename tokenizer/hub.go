package tokenizer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
)

// Load returns the tokenizer of a Hugging Face repo ("Qwen/Qwen3-8B"):
// tokenizer.json and, when the repo has one, tokenizer_config.json.
//
// Files come from the huggingface_hub cache when it already has them for the
// revision's current commit; otherwise they are downloaded from
// {endpoint}/{repo}/resolve/{revision}/{file} and stored in the cache in the
// huggingface_hub layout, so Python and Go share one cache. HF_ENDPOINT,
// HF_TOKEN, HF_HOME, HF_HUB_CACHE and HF_HUB_OFFLINE are honoured (see the
// options). When the hub cannot be reached but the cache has the files,
// the cached files are used, as huggingface_hub does.
//
// Errors are *Error naming the repo and file: KindNotFound (no such repo,
// revision or file), KindUnauthorized (gated or private; set HF_TOKEN),
// KindNetwork (hub unreachable or failing), KindOffline (offline and not
// cached), KindCanceled, KindCache, and KindMalformed / KindUnsupported for
// files that were fetched but cannot be used.
func Load(ctx context.Context, repoID string, opts ...Option) (*Tokenizer, error) {
	if err := checkRepoID(repoID); err != nil {
		return nil, err
	}
	o := resolveOptions(opts)
	if o.localRoot != "" {
		return FromDir(filepath.Join(o.localRoot, filepath.FromSlash(repoID)))
	}
	h := hub{o: o, repo: repoID, cache: newHubCache(o.cacheDir, repoID)}
	tj, err := h.file(ctx, FileTokenizer, true)
	if err != nil {
		return nil, err
	}
	cj, err := h.file(ctx, FileConfig, false)
	if err != nil {
		return nil, err
	}
	return Parse(repoID, tj, cj)
}

func checkRepoID(repo string) error {
	parts := strings.Split(repo, "/")
	ok := len(parts) >= 1 && len(parts) <= 2
	for _, p := range parts {
		if p == "" || p == "." || p == ".." || strings.ContainsAny(p, "\\ \t\n?#%") {
			ok = false
		}
	}
	if !ok {
		return &Error{Kind: KindNotFound, Repo: repo, Detail: `not a Hugging Face repo id (want "org/name")`}
	}
	return nil
}

// hub fetches one repo's files through the cache.
type hub struct {
	o     loadOptions
	repo  string
	cache hubCache
}

// file returns the content of file. With required false, a file the repo
// does not have is (nil, nil).
func (h hub) file(ctx context.Context, file string, required bool) ([]byte, error) {
	if h.o.offline {
		b, found, absent, err := h.cache.lookup(h.o.revision, file)
		switch {
		case err != nil:
			return nil, err
		case found:
			return b, nil
		case absent && !required:
			return nil, nil
		case !required && h.cache.commitOf(h.o.revision) != "":
			// huggingface_hub loads a tokenizer offline without the optional file too.
			return nil, nil
		}
		return nil, &Error{Kind: KindOffline, Repo: h.repo, File: file,
			Detail: fmt.Sprintf("revision %q is not in the cache %s", h.o.revision, h.cache.dir)}
	}
	meta, err := h.head(ctx, file)
	if err != nil {
		if KindOf(err) == KindNotFound && !required && meta.commit != "" {
			if err := h.cache.markAbsent(h.o.revision, meta.commit, file); err != nil {
				return nil, h.cache.fail(file, err)
			}
			return nil, nil
		}
		if KindOf(err) == KindNotFound && !required {
			return nil, nil
		}
		if KindOf(err) == KindNetwork {
			// The hub is unreachable: fall back to what the cache has, as huggingface_hub does.
			if b, found, absent, cerr := h.cache.lookup(h.o.revision, file); cerr == nil && (found || (absent && !required)) {
				return b, nil
			}
		}
		return nil, err
	}
	if !h.cache.hasBlob(meta.etag) {
		if err := h.download(ctx, file, meta.etag); err != nil {
			return nil, err
		}
	}
	if err := h.cache.link(h.o.revision, meta.commit, file, meta.etag); err != nil {
		return nil, h.cache.fail(file, err)
	}
	b, _, _, err := h.cache.lookup(meta.commit, file)
	if err != nil {
		return nil, err
	}
	if b == nil {
		return nil, h.cache.fail(file, errors.New("snapshot missing right after it was written"))
	}
	return b, nil
}

type fileMeta struct {
	commit, etag string
}

func (h hub) url(file string) string {
	return h.o.endpoint + "/" + h.repo + "/resolve/" + url.PathEscape(h.o.revision) + "/" + file
}

func (h hub) request(ctx context.Context, method, file string) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, h.url(file), nil)
	if err != nil {
		return nil, &Error{Kind: KindNotFound, Repo: h.repo, File: file, Detail: "bad hub URL " + h.o.endpoint, Err: err}
	}
	req.Header.Set("User-Agent", "tinkex-go-tokenizer")
	req.Header.Set("Accept-Encoding", "identity")
	if h.o.token != "" {
		req.Header.Set("Authorization", "Bearer "+h.o.token)
	}
	return req, nil
}

// head asks the hub for the file's commit and etag without its content.
// Like huggingface_hub it follows only relative redirects (a renamed repo);
// the redirect of a large file to the CDN already carries the metadata.
func (h hub) head(ctx context.Context, file string) (fileMeta, error) {
	req, err := h.request(ctx, http.MethodHead, file)
	if err != nil {
		return fileMeta{}, err
	}
	c := *h.o.client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	var resp *http.Response
	for hops := 0; ; hops++ {
		resp, err = c.Do(req)
		if err != nil {
			return fileMeta{}, h.transportError(ctx, file, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		loc, perr := url.Parse(resp.Header.Get("Location"))
		if resp.StatusCode < 300 || resp.StatusCode >= 400 || perr != nil || loc.Host != "" || loc.Path == "" || hops == 10 {
			break
		}
		next := req.Clone(ctx)
		next.URL = req.URL.ResolveReference(loc)
		req = next
	}
	meta := fileMeta{commit: resp.Header.Get("X-Repo-Commit")}
	if resp.StatusCode >= 400 {
		return meta, h.statusError(file, resp)
	}
	meta.etag = resp.Header.Get("X-Linked-Etag")
	if meta.etag == "" {
		meta.etag = resp.Header.Get("ETag")
	}
	meta.etag = strings.Trim(strings.TrimPrefix(meta.etag, "W/"), `"`)
	if meta.commit == "" || meta.etag == "" || strings.ContainsAny(meta.etag, `/\`) || strings.Contains(meta.etag, "..") || strings.ContainsAny(meta.commit, `/\.`) {
		return meta, &Error{Kind: KindNetwork, Repo: h.repo, File: file, Status: resp.StatusCode,
			Detail: "the answer of " + h.o.endpoint + " has no usable X-Repo-Commit and ETag: is it a Hugging Face hub?"}
	}
	return meta, nil
}

// download fetches the file's content into the cache's blob for etag.
func (h hub) download(ctx context.Context, file, etag string) error {
	req, err := h.request(ctx, http.MethodGet, file)
	if err != nil {
		return err
	}
	c := *h.o.client
	c.CheckRedirect = tokenToOriginOnly(c.CheckRedirect)
	resp, err := c.Do(req)
	if err != nil {
		return h.transportError(ctx, file, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		return h.statusError(file, resp)
	}
	// Read fully before writing, so a cut connection is a network error and
	// never a truncated blob.
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, resp.Body); err != nil {
		return h.transportError(ctx, file, err)
	}
	if err := h.cache.writeBlob(etag, &buf); err != nil {
		return h.cache.fail(file, err)
	}
	return nil
}

// tokenToOriginOnly wraps a CheckRedirect (nil: net/http's default, at
// most 10 redirects) so that a redirect to another origin (scheme, host or
// port) than the hub's goes without the Authorization header: net/http
// keeps it when only the port or the scheme changes, and for a subdomain,
// but the hub token is for the hub. A CDN's signed URL needs no token.
func tokenToOriginOnly(next func(*http.Request, []*http.Request) error) func(*http.Request, []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		if origin(req.URL) != origin(via[0].URL) {
			req.Header.Del("Authorization")
		}
		if next != nil {
			return next(req, via)
		}
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		return nil
	}
}

// origin is u's scheme, host and port (the scheme's default when absent).
func origin(u *url.URL) string {
	scheme, port := strings.ToLower(u.Scheme), u.Port()
	if port == "" {
		switch scheme {
		case "http":
			port = "80"
		case "https":
			port = "443"
		}
	}
	return scheme + "://" + strings.ToLower(u.Hostname()) + ":" + port
}

func (h hub) transportError(ctx context.Context, file string, err error) error {
	if ctx.Err() != nil {
		return &Error{Kind: KindCanceled, Repo: h.repo, File: file, Err: ctx.Err()}
	}
	return &Error{Kind: KindNetwork, Repo: h.repo, File: file, Detail: "cannot reach " + h.o.endpoint, Err: h.scrub(redactURLError(err))}
}

// scrub returns err with the hub token removed from its text: net/http's
// errors quote what the server sent (a malformed status line echoing the
// Authorization header). It is err itself when the token is not in it,
// else a *scrubbedError whose Unwrap still reaches err.
func (h hub) scrub(err error) error {
	text := err.Error()
	if h.o.token == "" || !strings.Contains(text, h.o.token) {
		return err
	}
	return &scrubbedError{text: strings.ReplaceAll(text, h.o.token, "[REDACTED]"), cause: err}
}

// scrubbedError is an error with the text of its cause scrubbed.
type scrubbedError struct {
	text  string
	cause error
}

func (e *scrubbedError) Error() string { return e.text }

func (e *scrubbedError) Unwrap() error { return e.cause }

// redactURLError drops the URL's query (a signed CDN URL) from a transport error.
func redactURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		if u, perr := url.Parse(ue.URL); perr == nil {
			u.RawQuery = ""
			return &url.Error{Op: ue.Op, URL: u.String(), Err: ue.Err}
		}
	}
	return err
}

// statusError classifies a failed answer as huggingface_hub does, by
// X-Error-Code first (the hub answers 401 for a repo that does not exist).
func (h hub) statusError(file string, resp *http.Response) error {
	e := &Error{Repo: h.repo, File: file, Status: resp.StatusCode}
	code := resp.Header.Get("X-Error-Code")
	switch {
	case code == "RepoNotFound":
		e.Kind, e.Detail = KindNotFound, "repository not found (or private: set HF_TOKEN)"
	case code == "RevisionNotFound":
		e.Kind, e.Detail = KindNotFound, fmt.Sprintf("revision %q not found", h.o.revision)
	case code == "EntryNotFound" || resp.StatusCode == http.StatusNotFound:
		e.Kind, e.Detail = KindNotFound, "file not found"
	case code == "GatedRepo":
		e.Kind, e.Detail = KindUnauthorized, "gated repository: accept its licence on the hub and set HF_TOKEN"
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		e.Kind, e.Detail = KindUnauthorized, "access refused: check HF_TOKEN"
	default:
		e.Kind, e.Detail = KindNetwork, "the hub answered "+http.StatusText(resp.StatusCode)
	}
	return e
}

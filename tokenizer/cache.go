package tokenizer

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
)

// tmpSeq makes temporary snapshot names unique within the process.
var tmpSeq atomic.Uint64

// hubCache is one repo's folder in the huggingface_hub cache, laid out as
// huggingface_hub lays it out so that Python and Go share the files:
//
//	<cache>/models--<org>--<name>/blobs/<etag>                   file content
//	<cache>/models--<org>--<name>/snapshots/<commit>/<file>      symlink to ../../blobs/<etag>
//	<cache>/models--<org>--<name>/refs/<revision>                the commit <revision> points to
//	<cache>/models--<org>--<name>/.no_exist/<commit>/<file>      empty: the file is known to be absent
type hubCache struct {
	repo string
	dir  string
}

func newHubCache(cacheDir, repo string) hubCache {
	return hubCache{repo: repo, dir: filepath.Join(cacheDir, "models--"+strings.ReplaceAll(repo, "/", "--"))}
}

func (c hubCache) blob(etag string) string { return filepath.Join(c.dir, "blobs", etag) }
func (c hubCache) snapshot(commit, file string) string {
	return filepath.Join(c.dir, "snapshots", commit, filepath.FromSlash(file))
}
func (c hubCache) noExist(commit, file string) string {
	return filepath.Join(c.dir, ".no_exist", commit, filepath.FromSlash(file))
}
func (c hubCache) ref(revision string) string {
	return filepath.Join(c.dir, "refs", filepath.FromSlash(revision))
}

func (c hubCache) fail(file string, err error) error {
	return &Error{Kind: KindCache, Repo: c.repo, File: file, Detail: "cache " + c.dir, Err: err}
}

// isCommit reports whether rev is a full commit hash.
func isCommit(rev string) bool {
	if len(rev) != 40 {
		return false
	}
	for _, r := range rev {
		if !strings.ContainsRune("0123456789abcdef", r) {
			return false
		}
	}
	return true
}

// commitOf returns the commit a revision names in the cache, or "".
func (c hubCache) commitOf(revision string) string {
	if isCommit(revision) {
		return revision
	}
	b, err := os.ReadFile(c.ref(revision))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// lookup returns the cached content of file at revision. found is false
// when the cache does not have it; absent is true when the cache records
// that the file does not exist at that commit.
func (c hubCache) lookup(revision, file string) (content []byte, found, absent bool, err error) {
	commit := c.commitOf(revision)
	if commit == "" {
		return nil, false, false, nil
	}
	b, err := os.ReadFile(c.snapshot(commit, file))
	if err == nil {
		return b, true, false, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, false, false, c.fail(file, err)
	}
	if _, err := os.Stat(c.noExist(commit, file)); err == nil {
		return nil, false, true, nil
	}
	return nil, false, false, nil
}

// hasBlob reports whether the blob with this etag is already downloaded.
func (c hubCache) hasBlob(etag string) bool {
	st, err := os.Stat(c.blob(etag))
	return err == nil && st.Mode().IsRegular()
}

// writeBlob stores content read from r under the etag, atomically: a
// reader never sees a partial blob (it is written to a temporary file first).
func (c hubCache) writeBlob(etag string, r io.Reader) error {
	dst := c.blob(etag)
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(dst), etag+".*.incomplete")
	if err != nil {
		return err
	}
	if _, err := io.Copy(tmp, r); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return nil
}

// link points snapshots/<commit>/<file> at the blob (a relative symlink, or
// a copy where symlinks are not allowed, as huggingface_hub does) and
// records refs/<revision> when the revision is not the commit itself.
func (c hubCache) link(revision, commit, file, etag string) error {
	snap := c.snapshot(commit, file)
	if err := os.MkdirAll(filepath.Dir(snap), 0o755); err != nil {
		return err
	}
	rel, err := filepath.Rel(filepath.Dir(snap), c.blob(etag))
	if err != nil {
		return err
	}
	// Build the link (or copy) under a temporary name and rename it into
	// place, so concurrent loaders never see a missing or half-written snapshot.
	tmp := fmt.Sprintf("%s.%d.%d.tmp", snap, os.Getpid(), tmpSeq.Add(1))
	if err := os.Symlink(rel, tmp); err != nil {
		if err := copyFile(c.blob(etag), tmp); err != nil {
			os.Remove(tmp)
			return err
		}
	}
	if err := os.Rename(tmp, snap); err != nil {
		os.Remove(tmp)
		return err
	}
	return c.writeRef(revision, commit)
}

func (c hubCache) writeRef(revision, commit string) error {
	if revision == commit {
		return nil
	}
	ref := c.ref(revision)
	if err := os.MkdirAll(filepath.Dir(ref), 0o755); err != nil {
		return err
	}
	if b, err := os.ReadFile(ref); err == nil && strings.TrimSpace(string(b)) == commit {
		return nil
	}
	return os.WriteFile(ref, []byte(commit), 0o644)
}

// markAbsent records that file does not exist at commit.
func (c hubCache) markAbsent(revision, commit, file string) error {
	p := c.noExist(commit, file)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(p, nil, 0o644); err != nil {
		return err
	}
	return c.writeRef(revision, commit)
}

func copyFile(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, b, 0o644)
}

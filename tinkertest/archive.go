package tinkertest

import (
	"archive/tar"
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tinkex-go/tinkex/types"
)

// The archive host: checkpoint archives are not served by the API but by a
// second local server standing in for the signed-URL storage of the real
// service (another origin: same 127.0.0.1, another port). The API's archive
// endpoint answers with a signed URL on it; the host checks the signature
// and expiry, serves the archive in chunks, and honours single byte ranges.
// It never needs an API key, and records whether a request carried one.

// ArchiveOptions shapes how checkpoint archives are served (WithArchives).
type ArchiveOptions struct {
	// Size is the length of every archive in bytes (default 256 KiB). An
	// archive is a tar file of adapter_config.json and
	// adapter_model.safetensors, deterministic per tinker path (see
	// Server.ArchiveBytes), padded with zero blocks to Size.
	Size int64
	// ChunkSize is how many bytes are written and flushed at a time
	// (default 32 KiB).
	ChunkSize int
	// ChunkDelay is a pause before every chunk but the first.
	ChunkDelay time.Duration
	// NoRanges makes the host ignore Range headers (always 200 with the
	// whole archive) and stop advertising Accept-Ranges.
	NoRanges bool
	// BreakAfter, when > 0, closes the connection after that many body
	// bytes of each response, as a dropped transfer.
	BreakAfter int64
	// Redirect makes the API's archive endpoint answer 302 with Location
	// (the signed URL) and Expires headers instead of a 200 JSON body.
	Redirect bool
	// BeforeChunk, when set, is called before each chunk is written with
	// the archive's tinker path and the offset of the chunk; it may block
	// (the request's context is canceled if the client goes away).
	BeforeChunk func(tinkerPath string, offset int64)
}

// WithArchives sets how checkpoint archives are served.
func WithArchives(o ArchiveOptions) Option { return func(c *config) { c.archive = o } }

const (
	defaultArchiveSize  = 256 << 10
	defaultArchiveChunk = 32 << 10
	archiveURLLifetime  = 15 * time.Minute
)

// ArchiveRequest is one request the archive host saw.
type ArchiveRequest struct {
	Method string
	Path   string // URL path, e.g. /archives/<run>/weights/<name>.tar
	Range  string // the Range header, "" if none
	// APIKeyFingerprint is the fingerprint of an X-API-Key header sent to
	// the archive host ("" when none was sent, as it must be).
	APIKeyFingerprint string
	// Authorization reports whether an Authorization header was sent.
	Authorization bool
	// Header holds the request headers, X-API-Key and Authorization
	// replaced by "[redacted]".
	Header http.Header
	Status int   // response status (0 until it is sent)
	Bytes  int64 // body bytes handed to the connection so far
}

type archiveHost struct {
	srv *Server
	web *httptest.Server
	key []byte

	mu   sync.Mutex
	reqs []ArchiveRequest
}

func (s *Server) startArchiveHost() {
	a := &archiveHost{srv: s, key: randomBytes(32)}
	a.web = httptest.NewServer(http.HandlerFunc(a.serve))
	s.archives = a
}

// ArchiveURL is the base URL of the archive host (another origin than
// URL()).
func (s *Server) ArchiveURL() string { return s.archives.web.URL }

// ArchiveRequests returns the requests the archive host saw, in order.
func (s *Server) ArchiveRequests() []ArchiveRequest {
	a := s.archives
	a.mu.Lock()
	defer a.mu.Unlock()
	out := append([]ArchiveRequest(nil), a.reqs...)
	for i := range out {
		out[i].Header = out[i].Header.Clone()
	}
	return out
}

// ArchiveBytes returns the archive the host serves for a tinker path (its
// whole content, for comparing with a download), or nil when there is no
// such checkpoint.
func (s *Server) ArchiveBytes(tinkerPath string) []byte {
	s.mu.Lock()
	ck := s.st.checkpoints[tinkerPath]
	s.mu.Unlock()
	if ck == nil {
		return nil
	}
	l := s.archiveLayout(ck)
	b := make([]byte, l.size)
	l.fill(0, b)
	return b
}

func (s *Server) archiveSize() int64 {
	if s.cfg.archive.Size > 0 {
		return s.cfg.archive.Size
	}
	return defaultArchiveSize
}

// archiveLayout is a checkpoint's archive: a tar file (as the real service
// serves) of adapter_config.json and adapter_model.safetensors, whose bytes
// are blocks of SHA-256(path, block index), padded with zero blocks to the
// configured size. Any range is computed without storing the archive. A
// size too small for the tar's headers gives raw blocks instead.
type archiveLayout struct {
	path      string
	size      int64
	prefix    []byte // tar headers and the config file, up to the weights' data
	dataLen   int64
	dataStart int64
}

func (s *Server) archiveLayout(ck *checkpoint) archiveLayout {
	l := archiveLayout{path: ck.path, size: s.archiveSize()}
	cfg := fmt.Appendf(nil, `{"base_model_name_or_path": %q, "peft_type": "LORA", "r": %d, "tinker_path": %q}`+"\n",
		ck.baseModel, ck.lora.Rank, ck.path)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	mod := ck.time.UTC().Truncate(time.Second)
	_ = tw.WriteHeader(&tar.Header{Name: "adapter_config.json", Mode: 0o644, Size: int64(len(cfg)), ModTime: mod, Format: tar.FormatUSTAR})
	_, _ = tw.Write(cfg)
	_ = tw.Flush()
	const block, trailer = 512, 1024
	data := (l.size - int64(buf.Len()) - block - trailer) / block * block
	if data < 0 {
		return l // too small for a tar: raw blocks
	}
	_ = tw.WriteHeader(&tar.Header{Name: "adapter_model.safetensors", Mode: 0o644, Size: data, ModTime: mod, Format: tar.FormatUSTAR})
	l.prefix, l.dataStart, l.dataLen = buf.Bytes(), int64(buf.Len()), data
	return l
}

// fill writes the archive's bytes from offset off into b.
func (l archiveLayout) fill(off int64, b []byte) {
	if l.prefix == nil {
		archiveBlocks(l.path, off, b)
		return
	}
	for len(b) > 0 {
		var n int
		switch {
		case off < l.dataStart:
			n = copy(b, l.prefix[off:])
		case off < l.dataStart+l.dataLen:
			n = int(min(int64(len(b)), l.dataStart+l.dataLen-off))
			archiveBlocks(l.path, off-l.dataStart, b[:n])
		default:
			n = len(b)
			clear(b)
		}
		b, off = b[n:], off+int64(n)
	}
}

// archiveBlocks fills b with blocks of SHA-256(path, block index) from
// offset off.
func archiveBlocks(path string, off int64, b []byte) {
	var blk [sha256.Size]byte
	var idx [8]byte
	h, p := sha256.New(), []byte(path)
	for len(b) > 0 {
		n := off / sha256.Size
		binary.BigEndian.PutUint64(idx[:], uint64(n))
		h.Reset()
		h.Write(p)
		h.Write(idx[:])
		h.Sum(blk[:0])
		c := copy(b, blk[off%sha256.Size:])
		b, off = b[c:], off+int64(c)
	}
}

// signedURL returns the archive URL of a checkpoint: valid until expires,
// signed with the host's key.
func (a *archiveHost) signedURL(tinkerPath string, expires time.Time) string {
	run, kind, name, _ := parseTinkerPath(tinkerPath)
	p := "/archives/" + url.PathEscape(run) + "/" + kind + "/" + url.PathEscape(name) + ".tar"
	exp := strconv.FormatInt(expires.Unix(), 10)
	return a.web.URL + p + "?expires=" + exp + "&signature=" + a.sign(p, exp)
}

func (a *archiveHost) sign(path, expires string) string {
	m := hmac.New(sha256.New, a.key)
	m.Write([]byte(path + "\x00" + expires))
	return hex.EncodeToString(m.Sum(nil))
}

func (a *archiveHost) serve(w http.ResponseWriter, r *http.Request) {
	rec := ArchiveRequest{Method: r.Method, Path: r.URL.EscapedPath(), Range: r.Header.Get("Range"),
		Authorization: r.Header.Get("Authorization") != ""}
	if k := r.Header.Get("X-API-Key"); k != "" {
		rec.APIKeyFingerprint = types.KeyFingerprint(k)
	}
	rec.Header = r.Header.Clone()
	for _, h := range []string{"X-Api-Key", "Authorization"} {
		if rec.Header.Get(h) != "" {
			rec.Header.Set(h, "[redacted]")
		}
	}
	// The request is logged before anything is answered, so a client that
	// has its response finds it in ArchiveRequests.
	a.mu.Lock()
	idx := len(a.reqs)
	a.reqs = append(a.reqs, rec)
	a.mu.Unlock()
	update := func(f func(*ArchiveRequest)) {
		a.mu.Lock()
		f(&a.reqs[idx])
		a.mu.Unlock()
	}
	var sent int64
	fail := func(status int, format string, args ...any) {
		update(func(r *ArchiveRequest) { r.Status = status })
		http.Error(w, fmt.Sprintf(format, args...), status)
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		fail(http.StatusMethodNotAllowed, "method not allowed")
		return
	}
	q := r.URL.Query()
	exp, sig := q.Get("expires"), q.Get("signature")
	if len(q) != 2 || !hmac.Equal([]byte(sig), []byte(a.sign(rec.Path, exp))) {
		fail(http.StatusForbidden, "signature does not match")
		return
	}
	if e, err := strconv.ParseInt(exp, 10, 64); err != nil || !a.srv.now().Before(time.Unix(e, 0)) {
		fail(http.StatusForbidden, "request has expired")
		return
	}
	tinkerPath, ok := archivePath(rec.Path)
	if !ok {
		fail(http.StatusNotFound, "no such archive")
		return
	}
	a.srv.mu.Lock()
	ck := a.srv.st.checkpoints[tinkerPath]
	a.srv.mu.Unlock()
	if ck == nil {
		fail(http.StatusNotFound, "no such archive")
		return
	}
	opts := a.srv.cfg.archive
	layout := a.srv.archiveLayout(ck)
	size := layout.size
	start, end := int64(0), size // [start, end)
	status := http.StatusOK
	h := w.Header()
	h.Set("Content-Type", "application/x-tar")
	h.Set("ETag", `"`+a.sign(tinkerPath, "etag")[:16]+`"`)
	if !opts.NoRanges {
		h.Set("Accept-Ranges", "bytes")
		if rg := rec.Range; rg != "" {
			s, e, ok := parseRange(rg, size)
			if !ok {
				h.Set("Content-Range", fmt.Sprintf("bytes */%d", size))
				fail(http.StatusRequestedRangeNotSatisfiable, "range %q not satisfiable", rg)
				return
			}
			start, end, status = s, e, http.StatusPartialContent
			h.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", start, end-1, size))
		}
	}
	h.Set("Content-Length", strconv.FormatInt(end-start, 10))
	update(func(r *ArchiveRequest) { r.Status = status })
	w.WriteHeader(status)
	if r.Method == http.MethodHead {
		return
	}
	chunk := opts.ChunkSize
	if chunk <= 0 {
		chunk = defaultArchiveChunk
	}
	buf := make([]byte, chunk)
	fl, _ := w.(http.Flusher)
	for off := start; off < end; {
		if off > start && opts.ChunkDelay > 0 && !a.srv.wait(r, opts.ChunkDelay) {
			return
		}
		if opts.BeforeChunk != nil {
			opts.BeforeChunk(tinkerPath, off)
		}
		n := int64(chunk)
		if n > end-off {
			n = end - off
		}
		broken := opts.BreakAfter > 0 && sent+n > opts.BreakAfter
		if broken {
			n = opts.BreakAfter - sent
		}
		layout.fill(off, buf[:n])
		sent += n
		update(func(r *ArchiveRequest) { r.Bytes = sent })
		if _, err := w.Write(buf[:n]); err != nil {
			return
		}
		if fl != nil {
			fl.Flush()
		}
		if broken {
			panic(http.ErrAbortHandler) // drop the connection mid-body
		}
		off += n
	}
}

// archivePath maps /archives/<run>/<kind>/<name>.tar back to its tinker path.
func archivePath(escaped string) (string, bool) {
	rest, ok := strings.CutPrefix(escaped, "/archives/")
	if !ok {
		return "", false
	}
	parts := strings.Split(strings.TrimSuffix(rest, ".tar"), "/")
	if len(parts) != 3 || !strings.HasSuffix(rest, ".tar") {
		return "", false
	}
	run, err1 := url.PathUnescape(parts[0])
	name, err2 := url.PathUnescape(parts[2])
	if err1 != nil || err2 != nil {
		return "", false
	}
	return "tinker://" + run + "/" + parts[1] + "/" + name, true
}

// parseRange reads one "bytes=a-b", "bytes=a-" or "bytes=-n" range of a
// body of size bytes, as [start, end).
func parseRange(h string, size int64) (int64, int64, bool) {
	spec, ok := strings.CutPrefix(h, "bytes=")
	if !ok || strings.Contains(spec, ",") {
		return 0, 0, false
	}
	a, b, ok := strings.Cut(strings.TrimSpace(spec), "-")
	if !ok {
		return 0, 0, false
	}
	if a == "" {
		n, err := strconv.ParseInt(b, 10, 64)
		if err != nil || n <= 0 {
			return 0, 0, false
		}
		return max(size-n, 0), size, true
	}
	start, err := strconv.ParseInt(a, 10, 64)
	if err != nil || start < 0 || start >= size {
		return 0, 0, false
	}
	end := size
	if b != "" {
		e, err := strconv.ParseInt(b, 10, 64)
		if err != nil || e < start {
			return 0, 0, false
		}
		end = min(e+1, size)
	}
	return start, end, true
}

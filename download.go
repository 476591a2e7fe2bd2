package tinkex

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/tinkex-go/tinkex/httpclient"
	"github.com/tinkex-go/tinkex/types"
)

// Checkpoint archive downloads. The archive lives behind a signed URL on
// another host (the storage of the service), so it is fetched with a plain
// request: no X-API-Key, no tinkex headers, nothing of the key leaves its
// origin. The body is streamed through one fixed buffer into the caller's
// writer; a transfer that breaks is resumed with a Range request when the
// host accepts ranges, and the result must have the size the host
// announced.

const (
	downloadBuffer   = 64 << 10
	downloadRetries  = 5
	downloadStall    = 60 * time.Second // a transfer that moves no byte for this long is retried
	downloadUAPrefix = "tinkex-go/"
)

var errDownloadStalled = errors.New("no data received for " + downloadStall.String())

// DownloadCheckpoint streams the archive (a tar file) of the checkpoint at
// tinkerPath into w and returns the number of bytes written. It never holds
// more than 64 KiB of the archive in memory. A transfer that breaks is
// resumed where it stopped when the archive host accepts byte ranges (up to
// 5 times, with backoff); when it does not, it is restarted if w can be
// rewound (an *os.File can), else it fails. An expired or refused signed
// URL is renewed once. The download fails unless exactly the size the host
// announced arrived. WithProgress reports progress; WithMaxArchiveBytes bounds the size
// (default 64 GiB, chunked transfers included).
//
// On failure the bytes already written stay in w; DownloadCheckpointToFile
// leaves nothing behind instead.
func (r *RestClient) DownloadCheckpoint(ctx context.Context, tinkerPath string, w io.Writer, opts ...RestOption) (int64, error) {
	const op = "download_checkpoint"
	if w == nil {
		return 0, types.ValidationError(op, "no writer to download into")
	}
	if _, err := types.ParseTinkerPath(tinkerPath); err != nil {
		return 0, err
	}
	if r.s.stopped.Load() {
		return 0, r.s.stoppedError(op)
	}
	ctx, stop := r.s.bind(ctx)
	defer stop()
	u, err := r.GetCheckpointArchiveURL(ctx, tinkerPath)
	if err != nil {
		return 0, err
	}
	o := restOpts(opts)
	f := &archiveFetch{r: r, op: op, path: tinkerPath, url: u.URL, w: w, progress: o.progress, total: -1, max: o.maxBytes}
	if f.max <= 0 {
		f.max = DefaultMaxArchiveBytes
	}
	n, err := f.run(ctx)
	return n, r.s.translateStop(ctx, op, err)
}

// DownloadCheckpointToFile downloads the archive of the checkpoint at
// tinkerPath to the file dest, replacing it if it exists. The archive is
// written to a temporary file next to dest and renamed to dest only when
// it is complete: a failed, canceled or interrupted download leaves no
// file under dest (and removes its temporary file). The file has mode 0600
// (weights are private until you share them).
func (r *RestClient) DownloadCheckpointToFile(ctx context.Context, tinkerPath, dest string, opts ...RestOption) (int64, error) {
	const op = "download_checkpoint"
	if dest == "" {
		return 0, types.ValidationError(op, "no destination file")
	}
	if _, err := types.ParseTinkerPath(tinkerPath); err != nil {
		return 0, err
	}
	if fi, err := os.Stat(dest); err == nil && fi.IsDir() {
		return 0, types.ValidationError(op, "destination %s is a directory; name the archive file", dest)
	}
	dir := filepath.Dir(dest)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(dest)+".*.part")
	if err != nil {
		return 0, &Error{Kind: types.KindValidation, Op: op, Message: "cannot create a file in " + dir, Err: err}
	}
	n, err := r.DownloadCheckpoint(ctx, tinkerPath, tmp, opts...)
	if err == nil {
		err = fileError(op, "cannot write "+tmp.Name(), tmp.Sync())
	}
	if cerr := tmp.Close(); err == nil {
		err = fileError(op, "cannot write "+tmp.Name(), cerr)
	}
	if err == nil {
		err = fileError(op, "cannot rename the download to "+dest, os.Rename(tmp.Name(), dest))
	}
	if err != nil {
		_ = os.Remove(tmp.Name())
		return n, err
	}
	return n, nil
}

func fileError(op, msg string, err error) error {
	if err == nil {
		return nil
	}
	return &Error{Kind: types.KindUnknown, Op: op, Message: msg, Err: err}
}

// rewinder is a writer a download can start over (an *os.File).
type rewinder interface {
	Truncate(size int64) error
	Seek(offset int64, whence int) (int64, error)
}

// archiveFetch is the state of one download: what was written, what the
// host announced, and how to resume.
type archiveFetch struct {
	r        *RestClient
	op, path string
	url      string
	w        io.Writer
	progress func(done, total int64)
	max      int64 // the most bytes the archive may have (WithMaxArchiveBytes)

	written   int64
	total     int64  // -1 until the host says
	ranges    bool   // the host said Accept-Ranges: bytes
	validator string // ETag (or Last-Modified) for If-Range
	renewed   bool
	best      int64 // the most bytes written so far (a restart from 0 is no progress until it passes this)
}

// run makes attempts until the archive is complete. An attempt that broke
// after getting further than any before is resumed at once and not counted: only attempts that
// made no progress use up the retry budget, with backoff between them.
func (f *archiveFetch) run(ctx context.Context) (int64, error) {
	var last error
	progressed := false
	for failures := 0; failures <= downloadRetries; {
		if failures > 0 && !progressed {
			if err := f.r.s.rt.sleep(ctx, httpclient.DefaultBackoff(failures-1, httpclient.Outcome{}, f.r.s.rt.clock.Now())); err != nil {
				return f.written, types.CanceledError(f.op, context.Cause(ctx))
			}
		}
		retry, err := f.attempt(ctx)
		progressed = f.written > f.best
		f.best = max(f.best, f.written)
		if err == nil {
			return f.written, nil
		}
		if ctx.Err() != nil {
			return f.written, types.CanceledError(f.op, context.Cause(ctx))
		}
		if !retry {
			return f.written, err
		}
		last = err
		if !progressed {
			failures++
		}
	}
	return f.written, last
}

// attempt makes one request; it reports whether a failure may be retried.
func (f *archiveFetch) attempt(ctx context.Context) (bool, error) {
	if f.written > 0 && !f.ranges {
		rw, ok := f.w.(rewinder)
		if !ok {
			return false, f.fail(types.KindConnection, 0, "the transfer broke after %d bytes and the archive host does not accept ranges to resume it", f.written)
		}
		if err := f.rewind(rw); err != nil {
			return false, err
		}
	}
	actx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	req, err := http.NewRequestWithContext(actx, http.MethodGet, f.url, nil)
	if err != nil {
		return false, f.fail(types.KindValidation, 0, "archive URL does not parse: %v", redactedURLError(err))
	}
	// Only what the signed URL needs: no key, no client headers.
	req.Header = http.Header{"User-Agent": {downloadUAPrefix + types.Version}, "Accept-Encoding": {"identity"}}
	if f.written > 0 {
		req.Header.Set("Range", "bytes="+strconv.FormatInt(f.written, 10)+"-")
		if f.validator != "" {
			req.Header.Set("If-Range", f.validator)
		}
	}
	stall := time.AfterFunc(downloadStall, func() { cancel(errDownloadStalled) })
	defer stall.Stop()
	resp, err := f.client().Do(req)
	if err != nil {
		return true, f.transportError(actx, err)
	}
	defer resp.Body.Close()
	switch st := resp.StatusCode; {
	case st == http.StatusOK:
		if f.written > 0 {
			rw, ok := f.w.(rewinder)
			if !ok {
				return false, f.fail(types.KindConnection, st, "asked to resume at byte %d, the archive host sent the whole archive again and the writer cannot rewind", f.written)
			}
			if err := f.rewind(rw); err != nil {
				return false, err
			}
		}
		if resp.ContentLength > f.max {
			return false, f.fail(types.KindValidation, st, "the archive host announced %d bytes, more than the limit of %d bytes (WithMaxArchiveBytes)", resp.ContentLength, f.max)
		}
		f.total = resp.ContentLength
		f.ranges = strings.EqualFold(strings.TrimSpace(resp.Header.Get("Accept-Ranges")), "bytes")
		f.validator = cmpOr(resp.Header.Get("ETag"), resp.Header.Get("Last-Modified"))
	case st == http.StatusPartialContent && f.written > 0:
		start, total, ok := parseContentRange(resp.Header.Get("Content-Range"))
		if !ok || start != f.written || f.total >= 0 && total != f.total {
			return false, f.fail(types.KindValidation, st, "asked to resume at byte %d of %d, got Content-Range %q", f.written, f.total, f.hostText(resp.Header.Get("Content-Range")))
		}
		f.total = total
	case (st == http.StatusForbidden || st == http.StatusGone) && !f.renewed:
		// The signed URL expired (or was refused): ask for a new one.
		f.renewed = true
		u, err := f.r.GetCheckpointArchiveURL(ctx, f.path)
		if err != nil {
			return false, err
		}
		f.url = u.URL
		return true, f.fail(types.KindForStatus(st), st, "the archive host refused the signed URL")
	default:
		kind := types.KindForStatus(st)
		retry := st == http.StatusRequestTimeout || st == http.StatusTooManyRequests || st >= 500
		return retry, f.fail(kind, st, "the archive host answered %s", f.hostText(resp.Status))
	}
	if err := f.copy(actx, resp.Body, stall); err != nil {
		if te, ok := err.(*Error); ok { // over the size limit: not retried
			return false, te
		}
		var we *writeError
		if errors.As(err, &we) {
			return false, &Error{Kind: types.KindUnknown, Op: f.op, Message: fmt.Sprintf("writing the archive failed after %d bytes", f.written), Err: we.err}
		}
		return true, f.transportError(actx, err)
	}
	if f.total >= 0 && f.written != f.total {
		return true, f.fail(types.KindConnection, 0, "the archive ended after %d of %d bytes", f.written, f.total)
	}
	return false, nil
}

type writeError struct{ err error }

func (e *writeError) Error() string { return e.err.Error() }

// copy moves the body to the writer through one buffer, reporting progress
// after each write and pushing the stall timer back after each read. It
// fails (not retried) before writing a byte past the size limit or past
// the size the host announced.
func (f *archiveFetch) copy(ctx context.Context, body io.Reader, stall *time.Timer) error {
	buf := make([]byte, downloadBuffer)
	for {
		n, rerr := body.Read(buf)
		if f.written+int64(n) > f.max {
			return &Error{Kind: types.KindValidation, Op: f.op,
				Message: fmt.Sprintf("the archive passed the limit of %d bytes (WithMaxArchiveBytes); %d written", f.max, f.written)}
		}
		if f.total >= 0 && f.written+int64(n) > f.total {
			// A 206 whose body outruns its Content-Range total.
			return &Error{Kind: types.KindValidation, Op: f.op,
				Message: fmt.Sprintf("the archive host sent more than the %d bytes it announced; %d written", f.total, f.written)}
		}
		if n > 0 {
			stall.Reset(downloadStall)
			wn, werr := f.w.Write(buf[:n])
			f.written += int64(wn)
			if werr == nil && wn < n {
				werr = io.ErrShortWrite
			}
			if werr != nil {
				return &writeError{werr}
			}
			if f.progress != nil {
				f.progress(f.written, f.total)
			}
		}
		if rerr == io.EOF {
			return nil
		}
		if rerr != nil {
			if c := context.Cause(ctx); c != nil {
				return c
			}
			return rerr
		}
	}
}

func (f *archiveFetch) rewind(rw rewinder) error {
	if err := rw.Truncate(0); err != nil {
		return &Error{Kind: types.KindUnknown, Op: f.op, Message: "cannot restart the download", Err: err}
	}
	if _, err := rw.Seek(0, io.SeekStart); err != nil {
		return &Error{Kind: types.KindUnknown, Op: f.op, Message: "cannot restart the download", Err: err}
	}
	f.written, f.total, f.validator = 0, -1, ""
	if f.progress != nil {
		f.progress(0, -1)
	}
	return nil
}

func (f *archiveFetch) fail(kind types.Kind, status int, format string, args ...any) *Error {
	return &Error{Kind: kind, Op: f.op, Method: http.MethodGet, Path: "archive of " + f.path, StatusCode: status,
		Message: fmt.Sprintf(format, args...)}
}

// hostText is text the archive host sent (a status line's reason phrase,
// a header) made fit for an error: scrubbed of the client's credentials
// and anything shaped like one, then cut to 200 bytes.
func (f *archiveFetch) hostText(s string) string {
	s = f.r.s.http.Scrub(s)
	if len(s) > 200 {
		s = strings.ToValidUTF8(s[:200], "") + "…"
	}
	return s
}

func (f *archiveFetch) transportError(actx context.Context, err error) error {
	kind := types.KindConnection
	if errors.Is(context.Cause(actx), errDownloadStalled) {
		kind, err = types.KindTimeout, errDownloadStalled
	}
	return &Error{Kind: kind, Op: f.op, Method: http.MethodGet, Path: "archive of " + f.path,
		Message: fmt.Sprintf("transfer failed after %d bytes", f.written), Err: redactedURLError(err)}
}

// client is the HTTP client for the archive host: the user's, when the
// ServiceClient was given one, else a pool of the runtime's transports keyed
// by the host's origin (never the API's own pool).
func (f *archiveFetch) client() *http.Client {
	if hc := f.r.s.cfg.httpClient; hc != nil {
		// Pinned like every client tinkex sends with: following a 3xx
		// would hand the signed URL to the next host in its Referer.
		return httpclient.PinOrigin(hc)
	}
	origin := f.url
	if u, err := url.Parse(f.url); err == nil {
		origin = u.Scheme + "://" + u.Host
	}
	return f.r.s.rt.transports.Client(origin, httpclient.PoolTraining)
}

// redactedURLError drops the URL (its query holds the signature) from a
// *url.Error.
func redactedURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// parseContentRange reads "bytes a-b/total".
func parseContentRange(h string) (start, total int64, ok bool) {
	spec, found := strings.CutPrefix(strings.TrimSpace(h), "bytes ")
	if !found {
		return 0, 0, false
	}
	rng, tot, found := strings.Cut(spec, "/")
	a, _, found2 := strings.Cut(rng, "-")
	if !found || !found2 {
		return 0, 0, false
	}
	start, err1 := strconv.ParseInt(a, 10, 64)
	total, err2 := strconv.ParseInt(tot, 10, 64)
	if err1 != nil || err2 != nil || start < 0 || total <= start {
		return 0, 0, false
	}
	return start, total, true
}

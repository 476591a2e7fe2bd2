package tinkex

import (
	"bytes"
	"context"
	"crypto/sha256"
	"hash"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tinkex-go/tinkex/tinkertest"
	"github.com/tinkex-go/tinkex/types"
)

// countingWriter hashes what it is given and remembers its largest write.
type countingWriter struct {
	h        hash.Hash
	n        int64
	maxWrite int
}

func (w *countingWriter) Write(p []byte) (int, error) {
	if w.h == nil {
		w.h = sha256.New()
	}
	w.h.Write(p)
	w.n += int64(len(p))
	w.maxWrite = max(w.maxWrite, len(p))
	return len(p), nil
}

func (w *countingWriter) sum() []byte { return w.h.Sum(nil) }

func sum(b []byte) []byte { s := sha256.Sum256(b); return s[:] }

// progress records download progress and lets the archive host wait for it.
type progress struct {
	mu     sync.Mutex
	calls  int
	done   int64
	total  int64
	mono   bool
	moved  chan struct{}
	cancel func()
	at     int64 // cancel once done reaches this
}

func newProgress() *progress { return &progress{mono: true, moved: make(chan struct{}, 1)} }

func (p *progress) report(done, total int64) {
	p.mu.Lock()
	if done < p.done {
		p.mono = false
	}
	p.calls++
	p.done, p.total = done, total
	cancel := p.cancel != nil && done >= p.at
	p.mu.Unlock()
	select {
	case p.moved <- struct{}{}:
	default:
	}
	if cancel {
		p.cancel()
	}
}

func (p *progress) reached(n int64) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.done >= n
}

// archiveSetup starts a fake that serves archives as a says, a
// ServiceClient on it and one saved checkpoint, whose path it returns.
func archiveSetup(t *testing.T, a tinkertest.ArchiveOptions, opts ...ServiceOption) (*env, *ServiceClient, string) {
	t.Helper()
	e := newEnv(t, []tinkertest.Option{tinkertest.WithArchives(a)})
	svc := e.service(t, opts...)
	return e, svc, saveStates(t, trainer(t, svc), 1)[0]
}

func TestDownloadStreamsInBoundedMemory(t *testing.T) {
	const size, chunk = 8 << 20, 64 << 10
	p := newProgress()
	var notStreamed atomic.Int64
	opts := tinkertest.ArchiveOptions{Size: size, ChunkSize: chunk, ChunkDelay: 50 * time.Microsecond,
		// The host sends the next chunk only once the client has written
		// everything before it: a client that buffered the archive before
		// writing would never report progress, and the host would give up.
		BeforeChunk: func(_ string, off int64) {
			deadline := time.After(20 * time.Second)
			for !p.reached(off) {
				select {
				case <-p.moved:
				case <-deadline:
					notStreamed.Add(1)
					return
				}
			}
		}}
	e, svc, path := archiveSetup(t, opts)
	want := sum(e.srv.ArchiveBytes(path))

	w := &countingWriter{}
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	n, err := svc.Rest().DownloadCheckpoint(ctxT(t), path, w, WithProgress(p.report))
	runtime.ReadMemStats(&after)
	require.NoError(t, err)
	assert.EqualValues(t, size, n)
	assert.EqualValues(t, size, w.n)
	assert.Equal(t, want, w.sum(), "the bytes the host served")
	assert.Zero(t, notStreamed.Load(), "every chunk was written before the next was sent")
	assert.LessOrEqual(t, w.maxWrite, downloadBuffer)
	allocated := after.TotalAlloc - before.TotalAlloc
	assert.Less(t, allocated, uint64(size/4), "allocated %d bytes for an archive of %d", allocated, size)
	t.Logf("allocated %d bytes (client and fake server) for a %d-byte archive", allocated, size)

	assert.True(t, p.mono, "progress never goes back")
	assert.GreaterOrEqual(t, p.calls, size/downloadBuffer, "a callback per write, and no write is larger than the buffer")
	assert.EqualValues(t, size, p.done)
	assert.EqualValues(t, size, p.total)

	reqs := e.srv.ArchiveRequests()
	require.Len(t, reqs, 1)
	assert.Equal(t, http.StatusOK, reqs[0].Status)
}

func TestDownloadNeverSendsTheKeyToTheArchiveHost(t *testing.T) {
	for _, redirect := range []bool{false, true} {
		var opts []ServiceOption
		if redirect {
			// A user's client that would follow redirects: the API's 302
			// is read as the archive URL, not followed (as the SDK's
			// archive pool does).
			opts = append(opts, WithHTTPClient(&http.Client{}))
		}
		e, svc, path := archiveSetup(t, tinkertest.ArchiveOptions{Redirect: redirect, Size: 10_000}, opts...)
		var buf bytes.Buffer
		_, err := svc.Rest().DownloadCheckpoint(ctxT(t), path, &buf)
		require.NoError(t, err, "redirect %v", redirect)
		assert.Equal(t, e.srv.ArchiveBytes(path), buf.Bytes())
		reqs := e.srv.ArchiveRequests()
		require.Len(t, reqs, 1)
		run, name, _ := strings.Cut(strings.TrimPrefix(path, "tinker://"), "/weights/")
		assert.Equal(t, "GET /archives/"+run+"/weights/"+name+".tar", reqs[0].Method+" "+reqs[0].Path)
		assert.Empty(t, reqs[0].Range)
		for h := range reqs[0].Header {
			assert.Contains(t, []string{"User-Agent", "Accept-Encoding"}, h, "a plain request: no tinkex or auth headers")
		}
		assert.Empty(t, reqs[0].APIKeyFingerprint, "no X-API-Key at the archive host (redirect %v)", redirect)
		assert.False(t, reqs[0].Authorization)
		api := e.srv.Requests(tinkertest.Match{Endpoint: tinkertest.EndpointCheckpointArchive})
		require.Len(t, api, 1)
		assert.Equal(t, types.KeyFingerprint(keyA), api[0].KeyFingerprint, "the API itself got the key")
	}
}

func TestDownloadResumesWithRange(t *testing.T) {
	const size, brk = 3 << 20, 1 << 20
	e, svc, path := archiveSetup(t, tinkertest.ArchiveOptions{Size: size, BreakAfter: brk})
	p := newProgress()
	w := &countingWriter{}
	n, err := svc.Rest().DownloadCheckpoint(ctxT(t), path, w, WithProgress(p.report))
	require.NoError(t, err)
	assert.EqualValues(t, size, n)
	assert.Equal(t, sum(e.srv.ArchiveBytes(path)), w.sum())
	var ranges []string
	for _, r := range e.srv.ArchiveRequests() {
		ranges = append(ranges, r.Range)
	}
	assert.Equal(t, []string{"", "bytes=1048576-", "bytes=2097152-"}, ranges)
	assert.True(t, p.mono)

	// Without ranges a writer that cannot rewind cannot be resumed.
	_, svc2, path2 := archiveSetup(t, tinkertest.ArchiveOptions{Size: size, BreakAfter: brk, NoRanges: true})
	_, err = svc2.Rest().DownloadCheckpoint(ctxT(t), path2, &countingWriter{})
	assert.ErrorIs(t, err, types.ErrConnection)
	assert.Contains(t, err.Error(), "does not accept ranges")
}

// truncatingTransport ends the first archive response early without an
// error, as a proxy that cuts a body short: only the size check notices.
type truncatingTransport struct {
	host string
	cut  int64
	done atomic.Bool
	keys atomic.Int64 // archive requests that carried X-API-Key
}

type shortBody struct {
	io.Reader
	io.Closer
}

func (tt *truncatingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Host != tt.host {
		return http.DefaultTransport.RoundTrip(r)
	}
	if r.Header.Get("X-API-Key") != "" {
		tt.keys.Add(1)
	}
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err == nil && !tt.done.Swap(true) {
		resp.Body = shortBody{io.LimitReader(resp.Body, tt.cut), resp.Body}
	}
	return resp, err
}

func TestDownloadChecksTheSize(t *testing.T) {
	const size = 1 << 20
	e := newEnv(t, []tinkertest.Option{tinkertest.WithArchives(tinkertest.ArchiveOptions{Size: size})})
	tt := &truncatingTransport{host: strings.TrimPrefix(e.srv.ArchiveURL(), "http://"), cut: 1000}
	svc := e.service(t, WithHTTPClient(&http.Client{Transport: tt}))
	path := saveStates(t, trainer(t, svc), 1)[0]
	w := &countingWriter{}
	n, err := svc.Rest().DownloadCheckpoint(ctxT(t), path, w)
	require.NoError(t, err)
	assert.EqualValues(t, size, n)
	assert.Equal(t, sum(e.srv.ArchiveBytes(path)), w.sum())
	reqs := e.srv.ArchiveRequests()
	require.Len(t, reqs, 2, "the short body was noticed and the rest fetched")
	assert.Equal(t, "bytes=1000-", reqs[1].Range)
	assert.Zero(t, tt.keys.Load())
}

func TestDownloadToFile(t *testing.T) {
	const size = 2 << 20
	e, svc, path := archiveSetup(t, tinkertest.ArchiveOptions{Size: size, ChunkSize: 32 << 10})
	dir := t.TempDir()
	dest := filepath.Join(dir, "ckpt.tar")
	require.NoError(t, os.WriteFile(dest, []byte("old"), 0o644))

	n, err := svc.Rest().DownloadCheckpointToFile(ctxT(t), path, dest)
	require.NoError(t, err)
	assert.EqualValues(t, size, n)
	got, err := os.ReadFile(dest)
	require.NoError(t, err)
	assert.Equal(t, sum(e.srv.ArchiveBytes(path)), sum(got), "replaced by the archive")
	entries, _ := os.ReadDir(dir)
	assert.Len(t, entries, 1, "no temporary file left")

	_, err = svc.Rest().DownloadCheckpointToFile(ctxT(t), path, dir)
	assert.ErrorIs(t, err, types.ErrValidation, "a directory is not a file name")
	_, err = svc.Rest().DownloadCheckpointToFile(ctxT(t), path, filepath.Join(dir, "missing", "x.tar"))
	assert.ErrorIs(t, err, types.ErrValidation)
	assert.Contains(t, err.Error(), "cannot create a file in")
}

func TestDownloadCanceledLeavesNothing(t *testing.T) {
	const size = 4 << 20
	_, svc, path := archiveSetup(t, tinkertest.ArchiveOptions{Size: size, ChunkSize: 64 << 10})
	dir := t.TempDir()
	dest := filepath.Join(dir, "ckpt.tar")

	ctx, cancel := context.WithCancel(ctxT(t))
	defer cancel()
	p := newProgress()
	p.cancel, p.at = cancel, 1<<20
	n, err := svc.Rest().DownloadCheckpointToFile(ctx, path, dest, WithProgress(p.report))
	assert.ErrorIs(t, err, types.ErrCanceled)
	assert.GreaterOrEqual(t, n, int64(1<<20))
	assert.Less(t, n, int64(size))
	_, statErr := os.Stat(dest)
	assert.ErrorIs(t, statErr, os.ErrNotExist, "no half file under the final name")
	entries, _ := os.ReadDir(dir)
	assert.Empty(t, entries, "the temporary file is removed")

	// Close during a download ends it with ErrClientStopped.
	p2 := newProgress()
	p2.cancel, p2.at = func() { go svc.Close(context.Background()) }, 1<<20
	_, err = svc.Rest().DownloadCheckpointToFile(ctxT(t), path, dest, WithProgress(p2.report))
	assert.ErrorIs(t, err, types.ErrClientStopped)
	entries, _ = os.ReadDir(dir)
	assert.Empty(t, entries)
}

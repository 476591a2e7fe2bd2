package tinkex

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tinkex-go/tinkex/types"
)

// rawArchiveHost answers every request with the raw HTTP response that
// answer returns for the n-th request (from 0), written on the hijacked
// connection: a hostile storage host can send any reason phrase or header.
func rawArchiveHost(t *testing.T, answer func(n int) string) string {
	t.Helper()
	n := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw := answer(n)
		n++
		conn, buf, err := w.(http.Hijacker).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		_, _ = buf.WriteString(raw)
		_ = buf.Flush()
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// apiWithArchiveAt is the fake API, except that its archive endpoint sends
// archiveURL.
func apiWithArchiveAt(t *testing.T, e *env, archiveURL string) string {
	t.Helper()
	body, err := json.Marshal(map[string]string{"url": archiveURL, "expires": "2099-01-01T00:00:00Z"})
	require.NoError(t, err)
	return apiAnswering(t, e, "/archive", string(body))
}

// apiAnswering is the fake API, except that a GET whose path ends in suffix
// gets the JSON body.
func apiAnswering(t *testing.T, e *env, suffix, body string) string {
	t.Helper()
	target, err := url.Parse(e.srv.URL())
	require.NoError(t, err)
	proxy := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, suffix) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(body))
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// A hostile archive host that puts the key into its status line's reason
// phrase or into a Content-Range header: the download fails with a typed
// error that does not carry the key.
func TestDownloadErrorsAreScrubbedOfHostileArchiveHostText(t *testing.T) {
	cases := map[string]func(n int) string{
		"reason phrase": func(int) string {
			return "HTTP/1.1 404 not found for " + keyA + "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
		},
		"content-range": func(n int) string {
			if n == 0 {
				return "HTTP/1.1 200 OK\r\nAccept-Ranges: bytes\r\nContent-Length: 100\r\nConnection: close\r\n\r\n" + strings.Repeat("x", 50)
			}
			return "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 50-99/100 " + keyA + "\r\nContent-Length: 50\r\nConnection: close\r\n\r\n" + strings.Repeat("x", 50)
		},
	}
	for name, answer := range cases {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, nil)
			svc := serviceAt(t, e, apiWithArchiveAt(t, e, rawArchiveHost(t, answer)))
			var buf bytes.Buffer
			_, err := svc.Rest().DownloadCheckpoint(ctxT(t), "tinker://run-1/weights/w", &buf)
			require.Error(t, err)
			var te *types.Error
			require.ErrorAs(t, err, &te)
			text := fmt.Sprintf("%v %+v %#v", err, err, te)
			assert.NotContains(t, text, keyA[:12])
			assert.Contains(t, text, "[REDACTED", "the hostile text is named, scrubbed")
		})
	}
}

// A hostile trace export whose status or error text carries the key, or a
// JWT-shaped string: the error names it scrubbed.
func TestTraceExportErrorsAreScrubbed(t *testing.T) {
	jwtLike := "eyJ" + strings.Repeat("B", 40) + ".x.y"
	for _, body := range []string{
		`{"status":"odd ` + keyA + `"}`,
		`{"status":"failed","error":"no trace for ` + jwtLike + `"}`,
	} {
		e := newEnv(t, nil)
		svc := serviceAt(t, e, apiAnswering(t, e, "/trace_export", body))
		_, err := svc.Rest().ExportSessionTrace(ctxT(t), "sess-1")
		require.Error(t, err, body)
		assert.NotContains(t, fmt.Sprintf("%v %+v", err, err), keyA[:12], body)
		assert.NotContains(t, fmt.Sprintf("%v %+v", err, err), jwtLike[:20], body)
		assert.Contains(t, err.Error(), "[REDACTED", body)
	}
}

// A REST answer whose timestamp is the key glued to text: the decode
// error (which quotes the bad value) reaches the caller without the key.
func TestRestDecodeErrorsAreScrubbed(t *testing.T) {
	e := newEnv(t, nil)
	body := `{"training_run_id":"run-1","base_model":"b","model_owner":"o","is_lora":true,"corrupted":false,"last_request_time":"at` + keyA + `"}`
	svc := serviceAt(t, e, apiAnswering(t, e, "/api/v1/training_runs/run-1", body))
	_, err := svc.Rest().GetTrainingRun(ctxT(t), "run-1")
	require.ErrorIs(t, err, types.ErrValidation)
	assert.NotContains(t, fmt.Sprintf("%v %+v", err, err), keyA[:12])
	assert.Contains(t, err.Error(), "[REDACTED")
}

// A poll result (here an old-style JSON forward_backward output) whose
// tensor names a dtype shaped like a key: the decode error does not carry it.
func TestPollDecodeErrorsAreScrubbed(t *testing.T) {
	body := `{"loss_fn_output_type":"x","loss_fn_outputs":[{"logprobs":{"data":[1],"dtype":"` + keyA + `","shape":[1]}}],"metrics":{}}`
	_, err := decodeForwardBackwardOutput("application/json", []byte(body))
	require.Error(t, err)
	assert.NotContains(t, fmt.Sprintf("%v %+v", err, err), keyA[:12])
	for _, b := range []string{`{"sequences":[{"tokens":[1],"logprobs":null,"stop_reason":"` + keyA + `"}]}`, `{"sequences":"` + keyA + `"}`} {
		_, err = decodeSampleResponse("application/json", []byte(b))
		if err != nil {
			assert.NotContains(t, fmt.Sprintf("%v %+v", err, err), keyA[:12])
		}
	}
}

// A server that ignores the offset sends the same page for every offset
// under a total_count it never reaches: walking the list ends with a
// KindValidation error after the items of the first page, not never.
func TestPagesOfAServerIgnoringTheOffsetEnd(t *testing.T) {
	e := newEnv(t, nil)
	page := `{"training_runs":[{"training_run_id":"run-a","base_model":"m"},{"training_run_id":"run-b","base_model":"m"}],` +
		`"cursor":{"offset":0,"limit":2,"total_count":1000000000}}`
	svc := serviceAt(t, e, apiAnswering(t, e, "/training_runs", page))
	var ids []string
	var err error
	for run, e := range svc.Rest().TrainingRuns(ctxT(t), WithPageSize(2)) {
		if e != nil {
			err = e
			break
		}
		ids = append(ids, run.TrainingRunID)
	}
	assert.Equal(t, []string{"run-a", "run-b"}, ids, "the first page's items, each once")
	require.ErrorIs(t, err, types.ErrValidation)
	assert.Contains(t, err.Error(), "ignores the offset")
}

// An archive host that streams without a size (chunked) past the limit, or
// announces a size over it: the download fails with KindValidation, writing
// no more than the limit, and is not retried.
func TestDownloadStopsAtTheSizeLimit(t *testing.T) {
	const limit = 1000
	chunk := strings.Repeat("y", 300)
	cases := map[string]struct {
		answer func(n int) string
		most   int
	}{
		"chunked past the limit": {func(int) string {
			var b strings.Builder
			b.WriteString("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n")
			for range 10 {
				fmt.Fprintf(&b, "%x\r\n%s\r\n", len(chunk), chunk)
			}
			b.WriteString("0\r\n\r\n")
			return b.String()
		}, limit},
		"announced over the limit": {func(int) string {
			return "HTTP/1.1 200 OK\r\nContent-Length: 5000\r\nConnection: close\r\n\r\n" + strings.Repeat("z", 5000)
		}, 0},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, nil)
			var requests atomic.Int32
			svc := serviceAt(t, e, apiWithArchiveAt(t, e, rawArchiveHost(t, func(n int) string { requests.Add(1); return c.answer(n) })))
			var buf bytes.Buffer
			_, err := svc.Rest().DownloadCheckpoint(ctxT(t), "tinker://run-1/weights/w", &buf, WithMaxArchiveBytes(limit))
			require.ErrorIs(t, err, types.ErrValidation)
			assert.Contains(t, err.Error(), "limit of 1000 bytes")
			assert.LessOrEqual(t, buf.Len(), c.most)
			assert.Equal(t, int32(1), requests.Load(), "a size over the limit is not retried")
		})
	}
}

// An archive host that redirects elsewhere: the download is not followed
// there, with tinkex's own pools or with a user's client that would follow
// (following would hand the signed URL to the next host in its Referer).
func TestDownloadDoesNotFollowTheArchiveHostsRedirect(t *testing.T) {
	var elsewhere atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { elsewhere.Add(1) }))
	t.Cleanup(other.Close)
	for name, opts := range map[string][]ServiceOption{"own pools": nil, "user client": {WithHTTPClient(&http.Client{})}} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, nil)
			host := rawArchiveHost(t, func(int) string {
				return "HTTP/1.1 302 Found\r\nLocation: " + other.URL + "/stolen\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
			})
			svc := serviceAt(t, e, apiWithArchiveAt(t, e, host), opts...)
			var buf bytes.Buffer
			_, err := svc.Rest().DownloadCheckpoint(ctxT(t), "tinker://run-1/weights/w", &buf)
			require.Error(t, err)
			assert.Contains(t, err.Error(), "302")
			assert.Zero(t, elsewhere.Load(), "nothing reached the redirect's target")
		})
	}
}

// An archive host that, asked to resume, answers 206 with a Content-Range
// that ends at the announced total but a body far longer: the download
// stops at the size the host announced instead of writing on past it
// (and never reports more done than the total, which would draw a
// progress bar past its end).
func TestDownloadStopsAtTheAnnouncedSize(t *testing.T) {
	e := newEnv(t, nil)
	host := rawArchiveHost(t, func(n int) string {
		if n == 0 { // half the archive, then the connection drops
			return "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\nAccept-Ranges: bytes\r\nETag: \"v1\"\r\nConnection: close\r\n\r\n" + strings.Repeat("a", 500)
		}
		return "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 500-999/1000\r\nContent-Length: 5000\r\nConnection: close\r\n\r\n" +
			strings.Repeat("b", 5000)
	})
	svc := serviceAt(t, e, apiWithArchiveAt(t, e, host))
	var buf bytes.Buffer
	var over []string
	_, err := svc.Rest().DownloadCheckpoint(ctxT(t), "tinker://run-1/weights/w", &buf, WithProgress(func(done, total int64) {
		if total >= 0 && done > total {
			over = append(over, fmt.Sprintf("%d/%d", done, total))
		}
	}))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "more than the 1000 bytes")
	assert.LessOrEqual(t, buf.Len(), 1000, "nothing written past the announced size")
	assert.Empty(t, over, "progress never passes the total")
}

// A 302 whose Location is relative (RFC 9110 §10.2.2) names a URL relative
// to the archive request's: the archive URL is resolved against it, and
// the download goes there, without the key.
func TestArchiveRedirectToARelativeLocationIsResolved(t *testing.T) {
	e := newEnv(t, nil)
	target, err := url.Parse(e.srv.URL())
	require.NoError(t, err)
	proxy := httputil.NewSingleHostReverseProxy(target)
	var archiveKey atomic.Value
	archiveKey.Store("unset")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/archive"):
			w.Header().Set("Location", "/archives/w.tar?sig=1") // no scheme, no host
			w.WriteHeader(http.StatusFound)
		case r.URL.Path == "/archives/w.tar":
			archiveKey.Store(r.Header.Get("X-Api-Key"))
			_, _ = w.Write([]byte("tar bytes"))
		default:
			proxy.ServeHTTP(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	svc := serviceAt(t, e, srv.URL)
	got, err := svc.Rest().GetCheckpointArchiveURL(ctxT(t), "tinker://run-1/weights/w")
	require.NoError(t, err)
	assert.Equal(t, srv.URL+"/archives/w.tar?sig=1", got.URL)
	var buf bytes.Buffer
	n, err := svc.Rest().DownloadCheckpoint(ctxT(t), "tinker://run-1/weights/w", &buf)
	require.NoError(t, err)
	assert.Equal(t, int64(9), n)
	assert.Equal(t, "tar bytes", buf.String())
	assert.Equal(t, "", archiveKey.Load(), "the archive host never gets the key")
}

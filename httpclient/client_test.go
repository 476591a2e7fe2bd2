package httpclient

import (
	"bufio"
	"context"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/tinkex-go/tinkex/clock"
	"github.com/tinkex-go/tinkex/telemetry"
	"github.com/tinkex-go/tinkex/types"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const testKey = "tml-test-secret-key-0123456789"

// reply is one scripted server answer.
type reply struct {
	status int
	header map[string]string
	body   string
	reset  bool // hijack and close the connection without answering
	hang   bool // wait until the request is canceled
}

// script is an httptest server answering from a list of replies (the last
// one repeats) and recording every request.
type script struct {
	t       *testing.T
	srv     *httptest.Server
	mu      sync.Mutex
	replies []reply
	reqs    []*http.Request
	bodies  []string
}

func newScript(t *testing.T, replies ...reply) *script {
	t.Helper()
	s := &script{t: t, replies: replies}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *script) serve(w http.ResponseWriter, r *http.Request) {
	b := new(strings.Builder)
	_, _ = bufio.NewReader(r.Body).WriteTo(b)
	s.mu.Lock()
	n := len(s.reqs)
	s.reqs = append(s.reqs, r)
	s.bodies = append(s.bodies, b.String())
	rep := s.replies[min(n, len(s.replies)-1)]
	s.mu.Unlock()
	switch {
	case rep.reset:
		hj, _ := w.(http.Hijacker)
		conn, _, err := hj.Hijack()
		if err == nil {
			_ = conn.Close()
		}
		return
	case rep.hang:
		<-r.Context().Done()
		return
	}
	for k, v := range rep.header {
		w.Header().Set(k, v)
	}
	if w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", "application/json")
	}
	status := rep.status
	if status == 0 {
		status = 200
	}
	w.WriteHeader(status)
	_, _ = w.Write([]byte(rep.body))
}

func (s *script) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.reqs)
}

func (s *script) header(i int, name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reqs[i].Header.Get(name)
}

// delays records backoff sleeps without waiting.
type delays struct {
	mu sync.Mutex
	d  []time.Duration
}

func (d *delays) sleep(ctx context.Context, x time.Duration) error {
	d.mu.Lock()
	d.d = append(d.d, x)
	d.mu.Unlock()
	return ctx.Err()
}

func (d *delays) all() []time.Duration {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]time.Duration(nil), d.d...)
}

func noJitter() Backoff {
	return RetryAfterOr(ExponentialBackoff(500*time.Millisecond, 10*time.Second, nil))
}

func newClient(t *testing.T, s *script, opts ...Option) (*Client, *delays) {
	t.Helper()
	return newClientWithKey(t, s, testKey, opts...)
}

// newClientWithKey is newClient with the API key key.
func newClientWithKey(t *testing.T, s *script, key string, opts ...Option) (*Client, *delays) {
	t.Helper()
	d := &delays{}
	all := append([]Option{withSleep(d.sleep), WithBackoff(noJitter())}, opts...)
	c, err := New(s.srv.URL, key, all...)
	require.NoError(t, err)
	t.Cleanup(c.CloseIdleConnections)
	return c, d
}

type okBody struct {
	OK bool `json:"ok"`
}

func post(c *Client, p Policy) (*Response, error) {
	var out okBody
	return c.Do(context.Background(), &Request{Op: "test", Path: "/api/v1/x", Body: map[string]int{"a": 1}, Policy: p, Into: JSONInto(&out)})
}

func TestSuccessSendsHeadersAndDecodes(t *testing.T) {
	s := newScript(t, reply{body: `{"ok":true}`})
	c, _ := newClient(t, s, WithHeader("X-Extra", "1"))
	var out okBody
	resp, err := c.Do(context.Background(), &Request{Path: "/api/v1/x", Body: map[string]int{"a": 1},
		Header: http.Header{"X-Tinker-Request-Type": {"Sample"}}, Into: JSONInto(&out)})
	require.NoError(t, err)
	assert.True(t, out.OK)
	assert.Equal(t, 200, resp.StatusCode)
	assert.Equal(t, 1, resp.Attempts)
	assert.Equal(t, 0, resp.Retries)

	assert.Equal(t, testKey, s.header(0, "X-API-Key"))
	assert.Equal(t, "Tinkex/Go "+types.Version, s.header(0, "User-Agent"))
	assert.Equal(t, "go", s.header(0, "X-Stainless-Lang"))
	assert.Equal(t, types.Version, s.header(0, "X-Stainless-Package-Version"))
	assert.NotEmpty(t, s.header(0, "X-Stainless-OS"))
	assert.NotEmpty(t, s.header(0, "X-Stainless-Arch"))
	assert.Equal(t, "go", s.header(0, "X-Stainless-Runtime"))
	assert.NotEmpty(t, s.header(0, "X-Stainless-Runtime-Version"))
	assert.Equal(t, "0", s.header(0, "x-stainless-retry-count"))
	assert.Equal(t, "60", s.header(0, "x-stainless-read-timeout"))
	assert.True(t, strings.HasPrefix(s.header(0, "X-Idempotency-Key"), "tinkex-go-retry-"))
	assert.Equal(t, "application/json", s.header(0, "Accept"))
	assert.Equal(t, "application/json", s.header(0, "Content-Type"))
	assert.Equal(t, "Sample", s.header(0, "X-Tinker-Request-Type"))
	assert.Equal(t, "1", s.header(0, "X-Extra"))
	assert.Equal(t, `{"a":1}`, s.bodies[0])
	assert.Equal(t, http.MethodPost, s.reqs[0].Method)
}

func TestGetHasNoBodyHeaders(t *testing.T) {
	s := newScript(t, reply{body: `{"ok":true}`})
	c, _ := newClient(t, s)
	_, err := c.Do(context.Background(), &Request{Method: http.MethodGet, Path: "/api/v1/healthz",
		Query: map[string][]string{"limit": {"20"}}})
	require.NoError(t, err)
	assert.Empty(t, s.header(0, "X-Idempotency-Key"))
	assert.Empty(t, s.header(0, "Content-Type"))
	assert.Equal(t, "limit=20", s.reqs[0].URL.RawQuery)
}

func TestRawProtobufBody(t *testing.T) {
	s := newScript(t, reply{body: `{"ok":true}`})
	c, _ := newClient(t, s)
	_, err := c.Do(context.Background(), &Request{Path: "/api/v1/forward_backward", RawBody: []byte{1, 2, 3},
		ContentType: ContentTypeProtobuf, ContentEncoding: "zstd", Accept: ContentTypeProtobuf})
	require.NoError(t, err)
	assert.Equal(t, ContentTypeProtobuf, s.header(0, "Content-Type"))
	assert.Equal(t, "zstd", s.header(0, "Content-Encoding"))
	assert.Equal(t, ContentTypeProtobuf, s.header(0, "Accept"))
	assert.Equal(t, "\x01\x02\x03", s.bodies[0])
}

// The HTTP-layer column of the truth table: retried statuses.
func TestRetriedStatusesThenSuccess(t *testing.T) {
	for _, status := range []int{408, 409, 429, 500, 502, 503, 504} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			s := newScript(t, reply{status: status, body: `{"detail":"try later"}`}, reply{body: `{"ok":true}`})
			c, d := newClient(t, s)
			resp, err := post(c, Policy{})
			require.NoError(t, err)
			assert.Equal(t, 2, s.count())
			assert.Equal(t, 2, resp.Attempts)
			assert.Equal(t, 1, resp.Retries)
			assert.Equal(t, s.header(0, "X-Idempotency-Key"), s.header(1, "X-Idempotency-Key"), "idempotency key reused")
			assert.Equal(t, "0", s.header(0, "x-stainless-retry-count"))
			assert.Equal(t, "1", s.header(1, "x-stainless-retry-count"))
			assert.Equal(t, []time.Duration{500 * time.Millisecond}, d.all())
		})
	}
}

// The HTTP-layer column: user errors are never retried.
func TestUserErrorsNotRetried(t *testing.T) {
	for _, status := range []int{400, 401, 403, 404, 422, 418} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			s := newScript(t, reply{status: status, body: `{"detail":"bad input"}`})
			c, d := newClient(t, s)
			resp, err := post(c, Policy{})
			require.Error(t, err)
			assert.Equal(t, 1, s.count())
			assert.Empty(t, d.all())
			assert.ErrorIs(t, err, types.ErrUser)
			assert.True(t, types.IsUserError(err))
			assert.False(t, types.IsRetryable(err))
			var e *types.Error
			require.ErrorAs(t, err, &e)
			assert.Equal(t, status, e.StatusCode)
			assert.Equal(t, "bad input", e.Message)
			assert.Equal(t, 1, e.Attempts)
			require.NotNil(t, resp, "the last response is returned with a status error")
			assert.Equal(t, status, resp.StatusCode)
		})
	}
}

func TestCategoryUserBodyIsNotRetried(t *testing.T) {
	s := newScript(t, reply{status: 500, body: `{"error":"bad tokens","category":"user"}`})
	c, _ := newClient(t, s)
	_, err := post(c, Policy{})
	assert.Equal(t, 1, s.count())
	assert.ErrorIs(t, err, types.ErrUser)
	var e *types.Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, types.CategoryUser, e.Category)
}

func TestShouldRetryHeaderOverridesStatus(t *testing.T) {
	s := newScript(t, reply{status: 400, header: map[string]string{"x-should-retry": "true"}}, reply{body: `{"ok":true}`})
	c, _ := newClient(t, s)
	_, err := post(c, Policy{})
	require.NoError(t, err)
	assert.Equal(t, 2, s.count(), "x-should-retry: true retries a 400")

	s2 := newScript(t, reply{status: 503, header: map[string]string{"x-should-retry": "false"}})
	c2, _ := newClient(t, s2)
	_, err = post(c2, Policy{})
	assert.ErrorIs(t, err, types.ErrServer)
	assert.Equal(t, 1, s2.count(), "x-should-retry: false stops a 503")
	assert.False(t, types.IsRetryable(err), "and the error says so (Error.NoRetry)")
}

func TestRetriesExhaustedAndBackoffSequence(t *testing.T) {
	s := newScript(t, reply{status: 500})
	c, d := newClient(t, s)
	_, err := post(c, Policy{MaxRetries: Retries(5)})
	require.Error(t, err)
	assert.Equal(t, 6, s.count())
	var e *types.Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, types.KindServer, e.Kind)
	assert.Equal(t, 6, e.Attempts)
	assert.Equal(t, []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second}, d.all())
	assert.Contains(t, err.Error(), "after 6 attempts")
	assert.Contains(t, err.Error(), "POST /api/v1/x")
}

func TestDefaultMaxRetriesIsTenAndCapIsTenSeconds(t *testing.T) {
	s := newScript(t, reply{status: 502})
	c, d := newClient(t, s)
	_, err := post(c, Policy{})
	require.Error(t, err)
	assert.Equal(t, 11, s.count())
	got := d.all()
	require.Len(t, got, 10)
	assert.Equal(t, 10*time.Second, got[9])
	assert.Equal(t, 10*time.Second, got[5])
}

func TestZeroRetries(t *testing.T) {
	s := newScript(t, reply{status: 500})
	c, _ := newClient(t, s, WithMaxRetries(0))
	_, err := post(c, Policy{})
	assert.ErrorIs(t, err, types.ErrServer)
	assert.Equal(t, 1, s.count())
}

func TestRetryAfterHeaders(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		name   string
		header map[string]string
		want   time.Duration
	}{
		{"ms", map[string]string{"retry-after-ms": "1500"}, 1500 * time.Millisecond},
		{"ms wins over seconds", map[string]string{"retry-after-ms": "250", "retry-after": "7"}, 250 * time.Millisecond},
		{"seconds", map[string]string{"retry-after": "2"}, 2 * time.Second},
		{"fractional seconds", map[string]string{"retry-after": "0.75"}, 750 * time.Millisecond},
		{"http date", map[string]string{"retry-after": now.Add(30 * time.Second).Format(http.TimeFormat)}, 30 * time.Second},
		{"exactly 60", map[string]string{"retry-after": "60"}, 60 * time.Second},
		{"over 60 falls back", map[string]string{"retry-after": "61"}, 500 * time.Millisecond},
		{"zero falls back", map[string]string{"retry-after": "0"}, 500 * time.Millisecond},
		{"negative falls back", map[string]string{"retry-after-ms": "-5"}, 500 * time.Millisecond},
		{"garbage falls back", map[string]string{"retry-after": "soon"}, 500 * time.Millisecond},
		{"past date falls back", map[string]string{"retry-after": now.Add(-time.Minute).Format(http.TimeFormat)}, 500 * time.Millisecond},
		{"NaN falls back", map[string]string{"retry-after-ms": "NaN"}, 500 * time.Millisecond},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newScript(t, reply{status: 429, header: tc.header}, reply{body: `{"ok":true}`})
			c, d := newClient(t, s, WithClock(clock.NewFake(now)))
			_, err := post(c, Policy{})
			require.NoError(t, err)
			assert.Equal(t, []time.Duration{tc.want}, d.all())
		})
	}
}

type observer struct {
	mu sync.Mutex
	d  []time.Duration
}

func (o *observer) ReportRateLimited(d time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.d = append(o.d, d)
}

func TestRateLimitReportedToObserver(t *testing.T) {
	s := newScript(t, reply{status: 429, header: map[string]string{"retry-after": "2"}}, reply{body: `{"ok":true}`})
	obs := &observer{}
	c, _ := newClient(t, s, WithRateLimitObserver(obs))
	_, err := post(c, Policy{})
	require.NoError(t, err)
	assert.Equal(t, []time.Duration{2 * time.Second}, obs.d)
}

// The sampling column: nothing is auto-retried, 429 goes back to the caller.
func TestNoAutoRetryPolicy(t *testing.T) {
	for _, tc := range []struct {
		status int
		kind   error
	}{{500, types.ErrServer}, {503, types.ErrServer}, {408, types.ErrTimeout}, {409, types.ErrConflict}, {429, types.ErrRateLimited}} {
		t.Run(strconv.Itoa(tc.status), func(t *testing.T) {
			s := newScript(t, reply{status: tc.status, header: map[string]string{"retry-after": "3"}})
			obs := &observer{}
			c, _ := newClient(t, s, WithRateLimitObserver(obs))
			_, err := post(c, Policy{Retry: NoAutoRetryPolicy, Pool: PoolSampling})
			assert.ErrorIs(t, err, tc.kind)
			assert.Equal(t, 1, s.count())
			var e *types.Error
			require.ErrorAs(t, err, &e)
			assert.Equal(t, 3*time.Second, e.RetryAfter)
			if tc.status == 429 {
				assert.Equal(t, []time.Duration{3 * time.Second}, obs.d, "the limiter hears about the 429")
			} else {
				assert.Empty(t, obs.d)
			}
		})
	}
	s := newScript(t, reply{status: 500, header: map[string]string{"x-should-retry": "true"}}, reply{body: `{"ok":true}`})
	c, _ := newClient(t, s)
	_, err := post(c, Policy{Retry: NoAutoRetryPolicy})
	require.NoError(t, err)
	assert.Equal(t, 2, s.count(), "x-should-retry: true still retries")
}

func TestTransportErrorRetried(t *testing.T) {
	s := newScript(t, reply{reset: true}, reply{body: `{"ok":true}`})
	c, _ := newClient(t, s)
	_, err := post(c, Policy{})
	require.NoError(t, err)
	assert.Equal(t, 2, s.count())

	s2 := newScript(t, reply{reset: true})
	c2, _ := newClient(t, s2)
	_, err = post(c2, Policy{MaxRetries: Retries(2)})
	assert.ErrorIs(t, err, types.ErrConnection)
	assert.Equal(t, 3, s2.count())
	assert.True(t, types.IsRetryable(err))
}

func TestAttemptTimeout(t *testing.T) {
	s := newScript(t, reply{hang: true})
	c, _ := newClient(t, s)
	_, err := post(c, Policy{MaxRetries: Retries(1), Timeout: 20 * time.Millisecond})
	assert.ErrorIs(t, err, types.ErrTimeout)
	assert.Equal(t, 2, s.count())
}

func TestCancelDuringBackoffReturnsCanceled(t *testing.T) {
	s := newScript(t, reply{status: 500})
	fc := clock.NewFake(time.Unix(0, 0))
	c, err := New(s.srv.URL, testKey, WithClock(fc))
	require.NoError(t, err)
	t.Cleanup(c.CloseIdleConnections)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := c.Do(ctx, &Request{Path: "/api/v1/x", Body: struct{}{}})
		done <- err
	}()
	<-fc.BlockUntil(1) // sleeping in the first backoff
	cancel()
	err = <-done
	assert.ErrorIs(t, err, types.ErrCanceled)
	assert.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, 1, s.count())
}

func TestCancelDuringAttempt(t *testing.T) {
	s := newScript(t, reply{hang: true})
	c, _ := newClient(t, s)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := c.Do(ctx, &Request{Path: "/api/v1/x"})
		done <- err
	}()
	require.Eventually(t, func() bool { return s.count() == 1 }, 10*time.Second, time.Millisecond)
	cancel()
	err := <-done
	assert.ErrorIs(t, err, types.ErrCanceled)
	assert.Equal(t, 1, s.count())
}

func TestAlreadyCanceledSendsNothing(t *testing.T) {
	s := newScript(t, reply{body: `{}`})
	c, _ := newClient(t, s)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := c.Do(ctx, &Request{Path: "/api/v1/x"})
	assert.ErrorIs(t, err, types.ErrCanceled)
	assert.Equal(t, 0, s.count())
}

func TestBillingPause(t *testing.T) {
	fc := clock.NewFake(time.Unix(0, 0))
	s := newScript(t, reply{status: 402}, reply{status: 402}, reply{body: `{"ok":true}`})
	advance := func(ctx context.Context, d time.Duration) error { fc.Advance(d); return ctx.Err() }
	c, err := New(s.srv.URL, testKey, WithClock(fc), withSleep(advance), WithMaxRetries(0))
	require.NoError(t, err)
	t.Cleanup(c.CloseIdleConnections)
	resp, err := post(c, Policy{})
	require.NoError(t, err, "402s inside the window are retried even with MaxRetries 0")
	assert.Equal(t, 3, s.count())
	assert.Equal(t, 2, resp.Retries)
	assert.Equal(t, time.Unix(10, 0), fc.Now(), "two 5 s pauses")

	// A window that has run out fails with a user error.
	s2 := newScript(t, reply{status: 402, body: `{"detail":"payment required"}`})
	c2, err := New(s2.srv.URL, testKey, WithClock(fc), withSleep(advance), WithBillingPause(5*time.Second, 12*time.Second))
	require.NoError(t, err)
	t.Cleanup(c2.CloseIdleConnections)
	_, err = post(c2, Policy{})
	assert.ErrorIs(t, err, types.ErrUser)
	assert.Equal(t, 4, s2.count(), "pauses at t=0,5,10 then the window (12 s) has closed at t=15")

	s3 := newScript(t, reply{status: 402})
	c3, _ := newClient(t, s3)
	_, err = post(c3, Policy{NoBillingPause: true})
	assert.ErrorIs(t, err, types.ErrUser)
	assert.Equal(t, 1, s3.count())
}

// SetBillingWindow moves the window of a client already built (the server's
// billing_exception_max_pause_duration_sec arrives after it); <= 0 keeps it.
func TestSetBillingWindow(t *testing.T) {
	fc := clock.NewFake(time.Unix(0, 0))
	advance := func(ctx context.Context, d time.Duration) error { fc.Advance(d); return ctx.Err() }
	s := newScript(t, reply{status: 402, body: `{"detail":"payment required"}`})
	c, err := New(s.srv.URL, testKey, WithClock(fc), withSleep(advance))
	require.NoError(t, err)
	t.Cleanup(c.CloseIdleConnections)
	assert.Equal(t, BillingPauseWindow, c.BillingWindow())
	c.SetBillingWindow(7 * time.Second)
	c.SetBillingWindow(0)
	assert.Equal(t, 7*time.Second, c.BillingWindow())
	_, err = post(c, Policy{})
	assert.ErrorIs(t, err, types.ErrUser)
	assert.Equal(t, 3, s.count(), "pauses at t=0 and 5, then the 7 s window has closed at t=10")
}

func TestBodyCap(t *testing.T) {
	s := newScript(t, reply{body: strings.Repeat("x", 2048)})
	c, _ := newClient(t, s, WithMaxResponseBytes(1024))
	_, err := post(c, Policy{})
	assert.ErrorIs(t, err, types.ErrValidation)
	assert.Contains(t, err.Error(), "cap of 1024 bytes")
	assert.Equal(t, 1, s.count())
}

func TestMalformedBodyIsValidationError(t *testing.T) {
	s := newScript(t, reply{body: `{"ok":tru`})
	c, _ := newClient(t, s)
	_, err := post(c, Policy{})
	assert.ErrorIs(t, err, types.ErrValidation)
	assert.Equal(t, 1, s.count())
}

func TestUnencodableBody(t *testing.T) {
	s := newScript(t, reply{body: `{}`})
	c, _ := newClient(t, s)
	_, err := c.Do(context.Background(), &Request{Path: "/api/v1/x", Body: make(chan int)})
	assert.ErrorIs(t, err, types.ErrValidation)
	assert.Equal(t, 0, s.count())
}

func TestKeyNeverInErrorsOrStrings(t *testing.T) {
	s := newScript(t, reply{status: 401, body: `{"detail":"invalid key ` + testKey + `"}`})
	c, _ := newClient(t, s)
	_, err := post(c, Policy{})
	require.Error(t, err)
	assert.NotContains(t, err.Error(), testKey)
	assert.Contains(t, err.Error(), "REDACTED")
	for _, f := range []string{"%v", "%+v", "%#v", "%s"} {
		assert.NotContains(t, fmt.Sprintf(f, c), testKey, f)
	}
	var sb strings.Builder
	slog.New(slog.NewTextHandler(&sb, nil)).Info("client", "c", c)
	assert.NotContains(t, sb.String(), testKey)
	assert.Contains(t, sb.String(), c.Fingerprint())
}

// String, GoString and LogValue cover %v, %s, %+v, %#v and slog; any other
// verb would make fmt print the fields, the key among them. Format prints
// the description for every verb.
func TestNoFormatVerbPrintsTheKey(t *testing.T) {
	c, err := New("https://example.com", testKey)
	require.NoError(t, err)
	t.Cleanup(c.CloseIdleConnections)
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%d", "%x", "%q", "%t", "%o"} {
		out := fmt.Sprintf(verb, c)
		assert.NotContains(t, out, testKey, "%s: %.300s", verb, out)
		assert.NotContains(t, out, fmt.Sprintf("%x", testKey), "%s hex-encodes the key", verb)
		assert.Contains(t, out, c.Fingerprint(), verb)
	}
}

func TestNewValidates(t *testing.T) {
	_, err := New("ftp://x", testKey)
	assert.ErrorIs(t, err, types.ErrValidation)
	_, err = New("http://x", "sk-nope")
	assert.ErrorIs(t, err, types.ErrValidation)
	_, err = New("http://x", testKey, WithMaxRetries(-1))
	assert.ErrorIs(t, err, types.ErrValidation)
	_, err = New("http://x", testKey, WithTimeout(0))
	assert.ErrorIs(t, err, types.ErrValidation)
	_, err = New("http://x", testKey, WithMaxResponseBytes(0))
	assert.ErrorIs(t, err, types.ErrValidation)
	c, err := New("HTTP://X:80/", testKey)
	require.NoError(t, err)
	assert.Equal(t, "http://x", c.BaseURL())
}

func TestTelemetrySpanAndRetryEvents(t *testing.T) {
	bus := telemetry.NewBus()
	var mu sync.Mutex
	var events []telemetry.Event
	require.NoError(t, bus.Attach("t", []string{"tinkex.http.*"}, func(e telemetry.Event) {
		mu.Lock()
		defer mu.Unlock()
		events = append(events, e)
	}))
	s := newScript(t, reply{status: 503}, reply{status: 429, header: map[string]string{"retry-after": "1"}}, reply{body: `{"ok":true}`})
	c, _ := newClient(t, s, WithTelemetry(bus))
	_, err := post(c, Policy{Pool: PoolSampling})
	require.NoError(t, err)

	names := make([]string, len(events))
	for i, e := range events {
		names[i] = e.Name
	}
	assert.Equal(t, []string{telemetry.HTTPRequestStart, telemetry.HTTPRetry, telemetry.HTTPRetry, telemetry.HTTPRequestStop}, names)
	r1, r2, stop := events[1], events[2], events[3]
	assert.Equal(t, 503, r1.Metadata[telemetry.KeyStatus])
	assert.Equal(t, 1.0, r1.Measurements[telemetry.MeasureAttempt])
	assert.Equal(t, 0.5, r1.Measurements[telemetry.MeasureDelay])
	assert.Equal(t, 429, r2.Metadata[telemetry.KeyStatus])
	assert.Equal(t, 1.0, r2.Measurements[telemetry.MeasureDelay])
	// A retry carries the span's start metadata, the pool among them.
	for k, v := range events[0].Metadata {
		assert.Equal(t, v, r1.Metadata[k], "http.retry metadata %s", k)
	}
	assert.Equal(t, "sampling", r1.Metadata[telemetry.KeyPool])
	assert.Equal(t, "server", r1.Metadata[telemetry.KeyKind])
	assert.Equal(t, 2.0, stop.Measurements[telemetry.MeasureRetryCount])
	assert.Equal(t, "sampling", stop.Metadata[telemetry.KeyPool])
	assert.Equal(t, c.Fingerprint(), stop.Metadata[telemetry.KeyConfig])
	assert.Equal(t, "/api/v1/x", stop.Metadata[telemetry.KeyPath])
	for _, e := range events {
		assert.NotContains(t, e.String(), testKey)
	}

	events = nil
	s2 := newScript(t, reply{status: 400, body: `{"detail":"bad request"}`})
	c2, _ := newClient(t, s2, WithTelemetry(bus))
	_, err = post(c2, Policy{})
	require.Error(t, err)
	require.Len(t, events, 2)
	assert.Equal(t, telemetry.HTTPRequestError, events[1].Name)
	assert.Equal(t, "user", events[1].Metadata[telemetry.KeyKind])
	assert.Equal(t, 400, events[1].Metadata[telemetry.KeyStatus])
}

func TestPoolsAreSeparate(t *testing.T) {
	tr := NewTransports(map[Pool]int{PoolSampling: 3})
	a := tr.Client("http://a", PoolSampling)
	assert.Same(t, a, tr.Client("http://a", PoolSampling))
	assert.NotSame(t, a, tr.Client("http://a", PoolFutures))
	assert.NotSame(t, a, tr.Client("http://b", PoolSampling))
	assert.Equal(t, 3, a.Transport.(*http.Transport).MaxConnsPerHost)
	assert.Equal(t, DefaultPoolSizes[PoolFutures], tr.Client("http://a", PoolFutures).Transport.(*http.Transport).MaxConnsPerHost)

	hc := &http.Client{Transport: &http.Transport{}}
	c, err := New("http://a", testKey, WithHTTPClient(hc))
	require.NoError(t, err)
	// Every pool uses hc, through one copy that refuses redirects.
	assert.Same(t, c.pool(PoolSampling), c.pool(PoolFutures))
	assert.Same(t, hc.Transport, c.pool(PoolSampling).Transport)
	assert.NotNil(t, c.pool(PoolSampling).CheckRedirect)
	assert.Equal(t, "futures", PoolFutures.String())
	assert.Equal(t, "unknown", Pool(99).String())
}

func TestCodecHelpers(t *testing.T) {
	assert.True(t, IsProtobuf("application/x-protobuf"))
	assert.True(t, IsProtobuf("application/x-protobuf; charset=binary"))
	assert.False(t, IsProtobuf("application/json"))
	assert.True(t, IsJSON("application/json; charset=utf-8"))
	assert.True(t, IsJSON(""))
	assert.True(t, IsJSON("application/problem+json"))
	assert.False(t, IsJSON("application/x-protobuf"))
}

func TestNoRateLimitReport(t *testing.T) {
	s := newScript(t, reply{status: 429, header: map[string]string{"retry-after": "2"}})
	obs := &observer{}
	c, _ := newClient(t, s, WithRateLimitObserver(obs))
	_, err := post(c, Policy{Retry: NoAutoRetryPolicy, NoRateLimitReport: true})
	assert.ErrorIs(t, err, types.ErrRateLimited)
	assert.Empty(t, obs.d, "the caller owns the backoff")
}

func TestSetCredential(t *testing.T) {
	s := newScript(t, reply{status: 401, body: `{"detail":"bad token eyJhbGciOiJ.tok.sig"}`}, reply{body: `{"ok":true}`})
	c, _ := newClient(t, s)
	c.SetCredential("eyJhbGciOiJ.tok.sig")
	_, err := post(c, Policy{})
	require.Error(t, err)
	assert.Equal(t, "eyJhbGciOiJ.tok.sig", s.header(0, "X-API-Key"))
	assert.NotContains(t, err.Error(), "eyJhbGciOiJ.tok.sig", "the token is scrubbed like the key")
	assert.Equal(t, c.Fingerprint(), types.ConfigFingerprint(c.BaseURL(), testKey), "the config is still the key's")
	c.SetCredential("")
	_, err = c.Do(context.Background(), &Request{Path: "/api/v1/x", Header: http.Header{"X-API-Key": {"tml-override"}}})
	require.NoError(t, err)
	assert.Equal(t, "tml-override", s.header(1, "X-API-Key"), "a request may carry its own credential")
}

// CredentialClaims decodes the held JWT's payload (a key that is a JWT, or
// the token SetCredential installed) and refuses a plain key or a token
// whose payload does not decode.
func TestCredentialClaims(t *testing.T) {
	enc := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	jwt := enc(`{"alg":"HS256"}`) + "." + enc(`{"sub":"user:1"}`) + ".sig"
	var claims struct {
		Sub   string `json:"sub"`
		Email string `json:"email"`
	}
	c, err := New("http://x", testKey)
	require.NoError(t, err)
	assert.False(t, c.CredentialClaims(&claims), "a plain key has no claims")
	c.SetCredential(jwt)
	require.True(t, c.CredentialClaims(&claims))
	assert.Equal(t, "user:1", claims.Sub)
	assert.Empty(t, claims.Email)
	c.SetCredential("eyJ.!!!.x")
	assert.False(t, c.CredentialClaims(&claims), "an undecodable payload")
	c.SetCredential("")
	assert.False(t, c.CredentialClaims(&claims), "back to the key")

	asKey, err := New("http://x", jwt)
	require.NoError(t, err)
	assert.True(t, asKey.CredentialClaims(&claims), "a key that is a JWT")
}

// Clients without headers of their own share one base header map (it is
// never written after it was built); WithHeader gets a map of its own, and
// a UserAgent set by the program is used from then on.
func TestBaseHeadersAreSharedUnlessAClientAddsItsOwn(t *testing.T) {
	a, err := New("http://h", "tml-a")
	require.NoError(t, err)
	b, err := New("http://other", "tml-b")
	require.NoError(t, err)
	c, err := New("http://h", "tml-c", WithHeader("CF-Access-Client-Id", "x"))
	require.NoError(t, err)
	t.Cleanup(func() { a.CloseIdleConnections(); b.CloseIdleConnections(); c.CloseIdleConnections() })
	assert.Equal(t, reflect.ValueOf(a.header).Pointer(), reflect.ValueOf(b.header).Pointer(), "shared")
	assert.NotEqual(t, reflect.ValueOf(a.header).Pointer(), reflect.ValueOf(c.header).Pointer())
	assert.Equal(t, "x", c.header.Get("CF-Access-Client-Id"))
	assert.Empty(t, a.header.Get("CF-Access-Client-Id"), "the shared map is not written")
	assert.Equal(t, a.header.Get("X-Stainless-OS"), c.header.Get("X-Stainless-OS"))

	old := UserAgent
	t.Cleanup(func() { UserAgent = old })
	UserAgent = "MyService/1.0"
	d, err := New("http://h", "tml-d")
	require.NoError(t, err)
	t.Cleanup(d.CloseIdleConnections)
	assert.Equal(t, "MyService/1.0", d.header.Get("User-Agent"))
	assert.Equal(t, old, a.header.Get("User-Agent"), "earlier clients keep theirs")
}

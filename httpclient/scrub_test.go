package httpclient

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tinkex-go/tinkex/telemetry"
	"github.com/tinkex-go/tinkex/types"
)

// An error body that echoes the key is scrubbed before its message is cut
// at 512 bytes: a key straddling the cut leaves no prefix behind, in the
// error or in the request's exception event. Keys longer than the cut, and
// keys with characters outside the credential shape, go too.
func TestErrorBodyScrubbedBeforeTheCut(t *testing.T) {
	longKey := "tml-" + strings.Repeat("long.key!", 70) // 634 characters
	for name, tc := range map[string]struct{ key, body string }{
		"straddling the cut":  {testKey, `{"detail":"` + strings.Repeat("x", 500) + testKey + `"}`},
		"longer than the cut": {longKey, `{"detail":"bad key ` + longKey + `"}`},
		"plain text body":     {longKey, strings.Repeat("y", 300) + longKey},
	} {
		t.Run(name, func(t *testing.T) {
			s := newScript(t, reply{status: 401, body: tc.body})
			bus, exceptions := exceptionEvents(t)
			d := &delays{}
			c, err := New(s.srv.URL, tc.key, withSleep(d.sleep), WithTelemetry(bus))
			require.NoError(t, err)
			t.Cleanup(c.CloseIdleConnections)
			_, err = post(c, Policy{})
			require.ErrorIs(t, err, types.ErrUser)
			events := exceptions()
			require.NotEmpty(t, events)
			for what, text := range map[string]string{"error": err.Error(), "event": events} {
				assert.NotContains(t, text, tc.key[:5], what)
				assert.NotContains(t, text, tc.key[4:20], what)
			}
			assert.Contains(t, err.Error(), "[REDACTED:", "the key was replaced, not dropped")
		})
	}
}

// exceptionEvents returns a bus and the metadata of the
// tinkex.http.request.exception events it has carried, one per line.
func exceptionEvents(t *testing.T) (*telemetry.Bus, func() string) {
	t.Helper()
	bus := telemetry.NewBus()
	var mu sync.Mutex
	var evs strings.Builder
	require.NoError(t, bus.Attach("t", []string{telemetry.HTTPRequestError}, func(e telemetry.Event) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(&evs, "%+v\n", e.Metadata)
	}))
	return bus, func() string {
		mu.Lock()
		defer mu.Unlock()
		return evs.String()
	}
}

func TestScrubCoversTheJWT(t *testing.T) {
	s := newScript(t, reply{})
	c, _ := newClient(t, s)
	const jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1In0.c2ln"
	c.SetCredential(jwt)
	got := c.Scrub("key " + testKey + " token " + jwt)
	assert.NotContains(t, got, testKey)
	assert.NotContains(t, got, "eyJ")
	assert.Contains(t, got, "[REDACTED:"+types.KeyFingerprint(testKey)+"]")
}

// A request id header that echoes the key is scrubbed too, and a huge
// plain-text error body is scrubbed within a bounded window past the cut.
func TestRequestIDAndHugeBodyScrubbed(t *testing.T) {
	body := strings.Repeat("z", 100) + testKey + strings.Repeat("z", 8<<20)
	s := newScript(t, reply{status: 400, header: map[string]string{"x-request-id": "req-" + testKey}, body: body})
	c, _ := newClient(t, s)
	_, err := post(c, Policy{})
	require.ErrorIs(t, err, types.ErrUser)
	var e *types.Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, "req-[REDACTED:"+types.KeyFingerprint(testKey)+"]", e.RequestID)
	assert.NotContains(t, err.Error(), testKey[:8])
	assert.Less(t, len(e.Message), 600, "the message is cut")
}

func TestScrubWindow(t *testing.T) {
	long := strings.Repeat("k", 3000)
	assert.Len(t, scrubWindow(strings.Repeat("x", 10000), 512, nil), 512+1024)
	assert.Len(t, scrubWindow(strings.Repeat("x", 10000), 512, []string{long}), 512+3000, "room for the longest secret")
	assert.Equal(t, "short", scrubWindow("short", 512, nil))
}

// A server (or anything on the path) whose answer is not HTTP and quotes
// the X-API-Key it was sent: net/http puts the offending line in its error
// ("malformed HTTP response …"). The error, every fmt verb of it and the
// request's exception event are scrubbed, and errors.As still reaches the
// transport's *url.Error.
func TestTransportErrorsAreScrubbedOfTheKey(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func(conn net.Conn) {
				defer conn.Close()
				req, err := http.ReadRequest(bufio.NewReader(conn))
				if err != nil {
					return
				}
				fmt.Fprintf(conn, "bad-key:%s\r\n\r\n", req.Header.Get("X-Api-Key"))
			}(conn)
		}
	}()
	bus, exceptions := exceptionEvents(t)
	d := &delays{}
	c, err := New("http://"+ln.Addr().String(), testKey, withSleep(d.sleep), WithMaxRetries(0), WithCallRetryBudget(0), WithTelemetry(bus))
	require.NoError(t, err)
	t.Cleanup(c.CloseIdleConnections)
	_, err = post(c, Policy{})
	require.ErrorIs(t, err, types.ErrConnection)
	assert.Contains(t, err.Error(), "malformed HTTP response", "the cause is still described")
	assert.Contains(t, err.Error(), "[REDACTED:"+types.KeyFingerprint(testKey)+"]")
	var ue *url.Error
	assert.True(t, errors.As(err, &ue), "errors.As reaches the transport's error")
	events := exceptions()
	require.NotEmpty(t, events)
	for name, text := range map[string]string{"Error()": err.Error(), "%+v": fmt.Sprintf("%+v", err),
		"%#v": fmt.Sprintf("%#v", err), "%q": fmt.Sprintf("%q", err), "event": events} {
		assert.NotContains(t, text, testKey, "%s leaks the key: %s", name, text)
	}
}

// A key with a character JSON escapes (the key check allows any printable
// ASCII) echoed in a structured error body (FastAPI's 422 detail list
// quotes the input): errorMessage re-marshals a non-string detail, and a
// body without detail is quoted raw, so the key arrives JSON-escaped. It is
// redacted whole in that form too, and so is a future's non-string error
// text (ScrubShort).
func TestJSONEscapedKeyInErrorBodyIsScrubbed(t *testing.T) {
	key := `tml-Ab3"SECRETPART"tail`
	for name, body := range map[string]string{
		"detail list":   `{"detail":[{"loc":["header","x-api-key"],"msg":"invalid","input":"tml-Ab3\"SECRETPART\"tail"}]}`,
		"no detail":     `{"input":"tml-Ab3\"SECRETPART\"tail"}`,
		"detail object": `{"detail":{"input":"tml-Ab3\"SECRETPART\"tail"}}`,
	} {
		t.Run(name, func(t *testing.T) {
			s := newScript(t, reply{status: 422, body: body})
			c, _ := newClientWithKey(t, s, key)
			_, err := post(c, Policy{})
			require.Error(t, err)
			assert.NotContains(t, err.Error(), "SECRETPART", "rest of the key leaks: %s", err.Error())
			assert.Contains(t, err.Error(), "[REDACTED:"+types.KeyFingerprint(key)+"]")
			assert.NotContains(t, c.ScrubShort(body), "SECRETPART", "a future's error")
		})
	}
}

// The scrub window ends inside a copy of the key when the server echoes it
// many times; redaction then shrinks the text (a 100-byte key becomes 23
// bytes) and would pull the cut-off start of that copy, which no longer
// matches the key and whose credential shape stops at the first '.', in
// front of the 512-byte cut. The window drops it: no piece of the key is
// shown, in an error body's message or in ScrubShort's text, and the cut is
// marked.
func TestAKeyCutByTheScrubWindowLeavesNoPiece(t *testing.T) {
	key := "tml-abc.SECRETPREFIX." + strings.Repeat("z", 79)
	require.Len(t, key, 100)
	s := newScript(t, reply{status: 401, body: strings.Repeat(key, 20)})
	c, _ := newClientWithKey(t, s, key)
	_, err := post(c, Policy{})
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "SECRETPREFIX", "%s", err.Error())
	assert.True(t, strings.HasSuffix(err.Error(), "]…"), "the cut is marked: %s", err.Error())
	short := c.ScrubShort(strings.Repeat(key, 40))
	assert.NotContains(t, short, "SECRETPREFIX", "ScrubShort (future errors)")
	assert.True(t, strings.HasSuffix(short, "…"), "the cut is marked: %s", short)
}

// A per-request secret (Request.Secrets: a weights access token sent in
// the request's own X-API-Key) is scrubbed like the client's key from the
// error message, the request id, a redirect's Location and the exception
// event, even where it has no credential shape.
func TestRequestSecretsAreScrubbedLikeTheKey(t *testing.T) {
	const token = "owner!SECRETPART!tail"
	for name, r := range map[string]reply{
		"error body": {status: 403, header: map[string]string{"x-request-id": "req-" + token}, body: `{"detail":"token ` + token + ` refused"}`},
		"redirect":   {status: 302, header: map[string]string{"Location": "https://" + token + ".example/x"}},
	} {
		t.Run(name, func(t *testing.T) {
			s := newScript(t, r)
			bus, exceptions := exceptionEvents(t)
			c, _ := newClient(t, s, WithTelemetry(bus))
			_, err := c.Do(context.Background(), &Request{Op: "test", Path: "/api/v1/x", Header: http.Header{"X-Api-Key": {token}},
				Secrets: []string{token}, Policy: Policy{MaxRetries: Retries(0)}})
			require.Error(t, err)
			var e *types.Error
			require.ErrorAs(t, err, &e)
			events := exceptions()
			require.NotEmpty(t, events)
			for what, text := range map[string]string{"error": err.Error(), "request id": e.RequestID, "event": events} {
				assert.NotContains(t, text, "SECRETPART", "%s: %s", what, text)
			}
			assert.Contains(t, err.Error(), "[REDACTED:"+types.KeyFingerprint(token)+"]")
		})
	}
}

// An error body's message is cut on a rune boundary, as ScrubShort's text
// is: a long non-ASCII detail leaves a valid UTF-8 message.
func TestErrorMessageIsCutOnARuneBoundary(t *testing.T) {
	s := newScript(t, reply{status: 422, body: `{"detail":"x` + strings.Repeat("é", 600) + `"}`})
	c, _ := newClient(t, s)
	_, err := post(c, Policy{})
	require.Error(t, err)
	assert.True(t, utf8.ValidString(err.Error()), "%q", err.Error())
	assert.True(t, strings.HasSuffix(err.Error(), "…"))
}

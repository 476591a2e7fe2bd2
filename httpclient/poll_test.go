package httpclient

import (
	"errors"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestPollPolicy is the future-polling column of spec/BEHAVIOR.md's retry
// truth table, row by row, as PollPolicy decides it from the Outcome.
func TestPollPolicy(t *testing.T) {
	hdr := func(kv ...string) http.Header {
		h := http.Header{}
		for i := 0; i < len(kv); i += 2 {
			h.Set(kv[i], kv[i+1])
		}
		return h
	}
	user := []byte(`{"detail":"bad","category":"user"}`)
	rows := []struct {
		name string
		o    Outcome
		bare int
		want PollAction
	}{
		{"x-should-retry true on 400", Outcome{StatusCode: 400, Header: hdr("x-should-retry", "true")}, 0, PollBackoff},
		{"x-should-retry true on 408", Outcome{StatusCode: 408, Header: hdr("x-should-retry", "true")}, 0, PollNow},
		{"x-should-retry false on 503", Outcome{StatusCode: 503, Header: hdr("x-should-retry", "false")}, 0, PollFail},
		{"x-should-retry false on 408", Outcome{StatusCode: 408, Header: hdr("x-should-retry", "false")}, 0, PollFail},
		{"429", Outcome{StatusCode: 429}, 0, PollBackoff},
		{"429 of category user stays a 429", Outcome{StatusCode: 429, Body: user}, 0, PollBackoff},
		{"408", Outcome{StatusCode: 408}, 0, PollNow},
		{"409", Outcome{StatusCode: 409}, 0, PollFail},
		{"500", Outcome{StatusCode: 500}, 0, PollBackoff},
		{"503", Outcome{StatusCode: 503}, 0, PollBackoff},
		{"transport failure", Outcome{Err: errors.New("connection reset by peer")}, 0, PollBackoff},
		{"attempt timeout", Outcome{Err: errors.New("timeout"), Timeout: true}, 0, PollBackoff},
		{"410", Outcome{StatusCode: 410}, 0, PollExpired},
		{"bare 400, first", Outcome{StatusCode: 400}, 0, PollNow},
		{"bare 400, third", Outcome{StatusCode: 400}, MaxBareBadRequests - 1, PollNow},
		{"bare 400, fourth", Outcome{StatusCode: 400}, MaxBareBadRequests, PollFail},
		{"400 with a body", Outcome{StatusCode: 400, Body: []byte(`{"detail":"no"}`)}, 0, PollFail},
		{"401", Outcome{StatusCode: 401}, 0, PollFail},
		{"403", Outcome{StatusCode: 403}, 0, PollFail},
		{"404", Outcome{StatusCode: 404}, 0, PollFail},
		{"422", Outcome{StatusCode: 422}, 0, PollFail},
		{"category user on 500", Outcome{StatusCode: 500, Body: user}, 0, PollFail},
		{"category user on 408", Outcome{StatusCode: 408, Body: user}, 0, PollFail},
	}
	for _, r := range rows {
		assert.Equal(t, r.want, PollPolicy(r.o, r.bare), r.name)
	}
}

package types

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestErrorIsKind(t *testing.T) {
	err := fmt.Errorf("wrapped: %w", &Error{Kind: KindRateLimited, Op: "sample", StatusCode: 429})
	assert.ErrorIs(t, err, ErrRateLimited)
	assert.NotErrorIs(t, err, ErrServer)
	var e *Error
	assert.True(t, errors.As(err, &e))
	assert.Equal(t, 429, e.StatusCode)
	assert.Equal(t, KindRateLimited, KindOf(err))
}

func TestCanceledKeepsContextIdentity(t *testing.T) {
	err := CanceledError("sample", context.DeadlineExceeded)
	assert.ErrorIs(t, err, ErrCanceled)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Equal(t, KindCanceled, KindOf(context.Canceled))
	assert.Equal(t, KindUnknown, KindOf(errors.New("x")))
}

func TestErrorMessage(t *testing.T) {
	e := &Error{Kind: KindServer, Op: "sample", Method: "POST", Path: "/api/v1/asample", StatusCode: 500,
		Attempts: 1, Message: "overloaded"}
	assert.Equal(t, "tinkex: sample: POST /api/v1/asample: 500 server error after 1 attempt: overloaded", e.Error())
	e2 := &Error{Kind: KindRequestFailed, Op: "retrieve_future", Category: CategoryUser, RequestID: "r1",
		Message: "bad tokens", Attempts: 3}
	assert.Equal(t, "tinkex: retrieve_future: request failed error (category user) after 3 attempts [request r1]: bad tokens", e2.Error())
	e3 := &Error{Kind: KindConnection, Err: errors.New("connection reset")}
	assert.Equal(t, "tinkex: connection error: connection reset", e3.Error())
}

func TestClassificationHelpers(t *testing.T) {
	cases := []struct {
		err       error
		user      bool
		retryable bool
	}{
		{&Error{Kind: KindUser, StatusCode: 400}, true, false},
		{&Error{Kind: KindValidation}, true, false},
		{&Error{Kind: KindRequestFailed, Category: CategoryUser}, true, false},
		{&Error{Kind: KindRequestFailed, Category: CategoryServer}, false, false},
		{&Error{Kind: KindRateLimited}, false, true},
		{&Error{Kind: KindServer}, false, true},
		{&Error{Kind: KindRateLimited, NoRetry: true}, false, false}, // x-should-retry: false
		{fmt.Errorf("wrapped: %w", &Error{Kind: KindServer, NoRetry: true}), false, false},
		{&Error{Kind: KindConnection}, false, true},
		{&Error{Kind: KindTimeout}, false, true},
		{&Error{Kind: KindConflict}, true, false}, // BEHAVIOR: a 409 is a user error
		{&Error{Kind: KindSeqGap}, false, false},
		{&Error{Kind: KindPromiseExpired}, false, true},
		{&Error{Kind: KindClientRestarted}, false, true},
		{&Error{Kind: KindClientStopped}, false, false},
		{CanceledError("x", context.Canceled), false, false},
		{errors.New("plain"), false, false},
		{nil, false, false},
	}
	for _, c := range cases {
		assert.Equal(t, c.user, IsUserError(c.err), "IsUserError(%v)", c.err)
		assert.Equal(t, c.retryable, IsRetryable(c.err), "IsRetryable(%v)", c.err)
	}
}

func TestKindForStatus(t *testing.T) {
	cases := map[int]Kind{400: KindUser, 401: KindAuth, 402: KindUser, 403: KindPermission, 404: KindNotFound, 408: KindTimeout,
		409: KindConflict, 410: KindUser, 422: KindUser, 429: KindRateLimited, 500: KindServer,
		503: KindServer, 200: KindUnknown}
	for status, want := range cases {
		assert.Equal(t, want, KindForStatus(status), "status %d", status)
	}
}

func TestKindStrings(t *testing.T) {
	assert.Equal(t, "rate_limited", KindRateLimited.String())
	assert.Equal(t, "tinkex: client restarted", ErrClientRestarted.Error())
	assert.Equal(t, "kind(200)", Kind(200).String())
	assert.Equal(t, CategoryUser, ParseCategory("USER"))
	assert.Equal(t, CategoryUnknown, ParseCategory("weird"))
}

func TestNormalizeBaseURL(t *testing.T) {
	good := map[string]string{
		"https://Example.COM/":                 "https://example.com",
		"https://example.com:443":              "https://example.com",
		"HTTPS://example.com:443/a/b//":        "https://example.com/a/b",
		"http://127.0.0.1:80/x":                "http://127.0.0.1/x",
		"http://127.0.0.1:8080":                "http://127.0.0.1:8080",
		"http://[::1]:9000/":                   "http://[::1]:9000",
		"http://[::1]/":                        "http://[::1]",
		"https://example.com:80":               "https://example.com:80",
		" https://tinker.example/services/p/ ": "https://tinker.example/services/p",
		// an IPv6 zone keeps its case and its %25 escape
		"http://[FE80::1%25Eth0]:8080/": "http://[fe80::1%25Eth0]:8080",
		"http://[fe80::1%25eth0]/":      "http://[fe80::1%25eth0]",
	}
	for in, want := range good {
		got, err := NormalizeBaseURL(in)
		if assert.NoError(t, err, in) {
			assert.Equal(t, want, got, in)
		}
	}
	bad := []string{"", "example.com", "ftp://example.com", "https://", "https://u:secretpw@example.com",
		"https://example.com?token=secretpw", "https://example.com/#frag", "://x", "http://%zz", "http://[fe80::1%25a%20b]/",
		"https://api.tinker%25evil.example", "https://tinker%25.example.com:8443/v1"}
	for _, in := range bad {
		_, err := NormalizeBaseURL(in)
		assert.ErrorIs(t, err, ErrValidation, in)
		if err != nil {
			assert.NotContains(t, err.Error(), "secretpw", in)
		}
	}
}

func TestValidateAPIKey(t *testing.T) {
	assert.NoError(t, ValidateAPIKey("tml-abc"))
	assert.NoError(t, ValidateAPIKey("eyJhbGciOi"))
	for _, k := range []string{"", "sk-secretvalue", "tml-a b"} {
		err := ValidateAPIKey(k)
		assert.ErrorIs(t, err, ErrValidation, k)
		if k != "" {
			assert.NotContains(t, err.Error(), "secretvalue")
		}
	}
}

func TestFingerprints(t *testing.T) {
	a := ConfigFingerprint("https://a", "tml-1")
	assert.Len(t, a, 12)
	assert.Equal(t, a, ConfigFingerprint("https://a", "tml-1"))
	assert.NotEqual(t, a, ConfigFingerprint("https://a", "tml-2"))
	assert.NotEqual(t, a, ConfigFingerprint("https://b", "tml-1"))
	assert.NotContains(t, KeyFingerprint("tml-1"), "tml")
	assert.Len(t, KeyFingerprint("tml-1"), 12)
}

// A normalized URL normalizes to itself, and is returned without a copy.
func TestNormalizeBaseURLKeepsANormalizedOne(t *testing.T) {
	for _, raw := range []string{"HTTPS://Tinker.Example:443/", "http://h:8080/api/", "http://[::1]:80", "https://h/x%2Fy", "http://[fe80::1%25eth0]:8080"} {
		norm, err := NormalizeBaseURL(raw)
		require.NoError(t, err)
		again, err := NormalizeBaseURL(norm)
		require.NoError(t, err)
		assert.Equal(t, norm, again)
		assert.Equal(t, unsafe.StringData(norm), unsafe.StringData(again), "%s: no copy", norm)
	}
	// Same length, different text: still normalized.
	got, err := NormalizeBaseURL("http://H:1")
	require.NoError(t, err)
	assert.Equal(t, "http://h:1", got)
}

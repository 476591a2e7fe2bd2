package httpclient

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net/http"
	"net/url"
	"strings"
)

// permanentFailure says why a transport error will recur on every attempt,
// or returns "" for a failure worth retrying (refused, reset, DNS, timeout,
// a body cut short). Such a failure is never retried by any policy and is
// classified KindValidation: nothing reached the server, and the caller has
// to fix the configuration (trust store, base URL, header values).
//
// Permanent are: certificate verification failures (an untrusted, expired
// or wrong-host certificate), a TLS handshake with a server that does not
// speak TLS, a URL that does not parse, and requests net/http refuses to
// send (unsupported scheme, no host, invalid method, an invalid header or
// trailer field). net/http does not export types for the last group, so
// they are recognised by its fixed message prefixes.
func permanentFailure(err error) string {
	if err == nil {
		return ""
	}
	var (
		verify    *tls.CertificateVerificationError
		unknownCA x509.UnknownAuthorityError
		hostname  x509.HostnameError
		invalid   x509.CertificateInvalidError
		roots     x509.SystemRootsError
		record    tls.RecordHeaderError
		ue        *url.Error
	)
	switch {
	case errors.As(err, &verify), errors.As(err, &unknownCA), errors.As(err, &hostname),
		errors.As(err, &invalid), errors.As(err, &roots):
		return "the server's TLS certificate failed verification; check the base URL and the trust store"
	case errors.Is(err, http.ErrSchemeMismatch), errors.As(err, &record):
		return "the TLS handshake failed: the server does not speak TLS on this port; check the base URL's scheme"
	case errors.As(err, &ue) && ue.Op == "parse":
		return "the request URL does not parse"
	}
	msg := err.Error()
	for _, m := range netHTTPRefusals {
		if strings.Contains(msg, m) {
			return "net/http refused to send the request (" + m + ")"
		}
	}
	return ""
}

// netHTTPRefusals are the fixed texts of net/http's refusals to send a
// request, the same on every attempt.
var netHTTPRefusals = []string{
	"unsupported protocol scheme",
	"http: no Host in request URL",
	"http: nil Request.URL",
	"net/http: invalid method",
	"net/http: invalid header",
	"net/http: invalid trailer",
	"invalid header field name",
	"invalid header field value",
}

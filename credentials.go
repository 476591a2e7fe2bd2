package tinkex

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"os/exec"
	"strings"
	"time"

	"github.com/tinkex-go/tinkex/types"
)

// Environment variables of credentials and default headers (reference §6.1).
const (
	// EnvCredentialCmd is a shell command whose standard output is the
	// credential, used when no API key is given or set.
	EnvCredentialCmd = "TINKER_CREDENTIAL_CMD"
	// EnvCloudflareClientID and EnvCloudflareClientSecret become the
	// CF-Access-Client-Id and CF-Access-Client-Secret default headers.
	EnvCloudflareClientID     = "CLOUDFLARE_ACCESS_CLIENT_ID"
	EnvCloudflareClientSecret = "CLOUDFLARE_ACCESS_CLIENT_SECRET"
)

// CredentialCmdTimeout bounds one run of TINKER_CREDENTIAL_CMD.
const CredentialCmdTimeout = 30 * time.Second

// WithDefaultHeaders adds headers to every request of the ServiceClient
// (merged over the Cloudflare Access headers from the environment; later
// calls add to earlier ones). They cannot replace X-API-Key or the headers
// tinkex sets for a request.
func WithDefaultHeaders(h map[string]string) ServiceOption {
	return func(c *serviceConfig) {
		if c.defaultHeaders == nil {
			c.defaultHeaders = http.Header{}
		}
		for k, v := range h {
			c.defaultHeaders.Set(k, v)
		}
	}
}

// defaultHeaders returns the Cloudflare Access headers the environment
// asks for under the explicit ones, and the values to scrub as secrets.
func defaultHeaders(explicit http.Header, getenv func(string) string) (http.Header, []string) {
	h := http.Header{}
	var secrets []string
	if id := strings.TrimSpace(getenv(EnvCloudflareClientID)); id != "" {
		h.Set("CF-Access-Client-Id", id)
	}
	if sec := strings.TrimSpace(getenv(EnvCloudflareClientSecret)); sec != "" {
		h.Set("CF-Access-Client-Secret", sec)
	}
	for k, vs := range explicit {
		h[http.CanonicalHeaderKey(k)] = append([]string(nil), vs...)
	}
	if v := h.Get("CF-Access-Client-Secret"); v != "" {
		secrets = append(secrets, v)
	}
	if len(h) == 0 {
		return nil, secrets // most configs add none: no empty map per client
	}
	return h, secrets
}

// runCredentialCmd runs cmd with sh -c and returns its trimmed standard
// output, the credential. Its output never appears in an error: a failure
// is a KindValidation error naming the variable and what went wrong (exit
// status, timeout, empty output), and the command's standard error is
// discarded unread, since it may echo the secret.
func runCredentialCmd(cmd string, timeout time.Duration) (string, error) {
	const op = "credential_cmd"
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	c := exec.CommandContext(ctx, "sh", "-c", cmd)
	var out bytes.Buffer
	c.Stdout = &out
	c.WaitDelay = time.Second
	err := c.Run()
	switch {
	case ctx.Err() != nil:
		return "", types.ValidationError(op, "%s did not finish within %v", EnvCredentialCmd, timeout)
	case err != nil:
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return "", types.ValidationError(op, "%s failed with exit status %d; it must print the credential and exit 0", EnvCredentialCmd, exit.ExitCode())
		}
		return "", types.ValidationError(op, "%s could not be run (%s)", EnvCredentialCmd, describeRunError(err))
	}
	key := strings.TrimSpace(out.String())
	if key == "" {
		return "", types.ValidationError(op, "%s printed nothing; it must print the credential", EnvCredentialCmd)
	}
	return key, nil
}

// describeRunError names why a command could not start without quoting
// anything it printed.
func describeRunError(err error) string {
	if errors.Is(err, exec.ErrNotFound) {
		return "sh not found"
	}
	return "start failed"
}

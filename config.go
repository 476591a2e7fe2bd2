package tinkex

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/tinkex-go/tinkex/types"
)

// Environment variables read by NewServiceClient. Explicit options win.
const (
	EnvAPIKey    = "TINKER_API_KEY"
	EnvBaseURL   = "TINKER_BASE_URL"
	EnvProjectID = "TINKER_PROJECT_ID"
	EnvTags      = "TINKER_TAGS"
	EnvTelemetry = "TINKER_TELEMETRY"
	EnvLog       = "TINKER_LOG"
)

// ServiceOption configures a ServiceClient.
type ServiceOption func(*serviceConfig)

type serviceConfig struct {
	apiKey       *string
	baseURL      *string
	projectID    *string
	tags         []string
	tagsSet      bool
	userMetadata map[string]string
	maxRetries   *int
	retryBudget  *time.Duration
	httpClient   *http.Client
	telemetry    *bool
	name         string
	noSession    bool
	// defaultHeaders are WithDefaultHeaders'.
	defaultHeaders http.Header
	// credentialCmdTimeout bounds TINKER_CREDENTIAL_CMD (tests shorten it).
	credentialCmdTimeout time.Duration
}

// WithAPIKey sets the credential: a "tml-…" API key or an "eyJ…" JWT.
// Default: $TINKER_API_KEY, else the output of $TINKER_CREDENTIAL_CMD
// (run once per NewServiceClient with sh -c, within CredentialCmdTimeout;
// its output is never logged).
func WithAPIKey(key string) ServiceOption { return func(c *serviceConfig) { c.apiKey = &key } }

// WithBaseURL sets the server. Default: $TINKER_BASE_URL, else
// types.DefaultBaseURL.
func WithBaseURL(u string) ServiceOption { return func(c *serviceConfig) { c.baseURL = &u } }

// WithProjectID sets the session's project. Default: $TINKER_PROJECT_ID.
func WithProjectID(id string) ServiceOption { return func(c *serviceConfig) { c.projectID = &id } }

// WithTags sets the session tags. Default: $TINKER_TAGS, comma-separated.
func WithTags(tags ...string) ServiceOption {
	return func(c *serviceConfig) { c.tags, c.tagsSet = append([]string(nil), tags...), true }
}

// WithUserMetadata attaches metadata to the session (create_session's
// user_metadata). A model's own metadata is WithModelMetadata's.
func WithUserMetadata(md map[string]string) ServiceOption {
	return func(c *serviceConfig) {
		c.userMetadata = make(map[string]string, len(md))
		for k, v := range md {
			c.userMetadata[k] = v
		}
	}
}

// WithMaxRetries sets the HTTP layer's default retry count (default 10; 0
// allowed; negative is a validation error).
func WithMaxRetries(n int) ServiceOption { return func(c *serviceConfig) { c.maxRetries = &n } }

// WithCallRetryBudget bounds the second retry layer of every call (see
// docs/protocol.md): after the HTTP layer gives up on a retryable failure,
// the call is sent again under a new idempotency key for at most d since its
// first attempt. Default 5 minutes, the Python SDK's; 0 turns the second
// layer off; negative is a validation error.
func WithCallRetryBudget(d time.Duration) ServiceOption {
	return func(c *serviceConfig) { c.retryBudget = &d }
}

// WithHTTPClient sends every request through hc instead of tinkex's own
// per-pool transports. tinkex uses a copy of hc that never follows a
// redirect (hc is not modified): a 3xx fails the call with a KindUser error.
func WithHTTPClient(hc *http.Client) ServiceOption {
	return func(c *serviceConfig) { c.httpClient = hc }
}

// WithTelemetry turns server-side telemetry batches on or off. Default: on
// while $TINKER_TELEMETRY is unset or 1/true/yes/on (any case); set to
// anything else, the empty string included, it is off (as in the Python
// SDK).
func WithTelemetry(enabled bool) ServiceOption {
	return func(c *serviceConfig) { c.telemetry = &enabled }
}

// WithoutSession makes a ServiceClient for REST calls only (Rest,
// GetServerCapabilities), as the Python SDK's REST holder is (reference
// §1, §3.3): NewServiceClient fetches the client config, exchanges the key
// for a JWT when the server asks for it, and fetches the dynamic config,
// but creates no server session and sends no heartbeat. Its SessionID is
// "sessionless-<uuid4>", carried only by its own telemetry and events
// (no SESSION_START). Creating a training or sampling client on it fails
// with KindValidation (ErrNoSession). The tinkex CLI connects this way.
func WithoutSession() ServiceOption { return func(c *serviceConfig) { c.noSession = true } }

// WithName sets the client's name in the supervision tree
// ("service:<name>"). Default: derived from the config fingerprint. Names
// use letters, digits, '-', '_' and '.', and are unique per runtime.
func WithName(name string) ServiceOption { return func(c *serviceConfig) { c.name = name } }

// resolvedConfig is a validated ServiceClient configuration. Its String and
// LogValue never show the key.
type resolvedConfig struct {
	apiKey       string
	baseURL      string // normalized
	fingerprint  string
	projectID    string
	tags         []string
	userMetadata map[string]string
	maxRetries   int
	retryBudget  *time.Duration
	httpClient   *http.Client
	telemetry    bool
	noSession    bool // WithoutSession
	name         string
	// headers go on every request; secrets are header values scrubbed like the key.
	headers http.Header
	secrets []string
}

func (c resolvedConfig) String() string {
	return fmt.Sprintf("service{name=%s base_url=%s config=%s}", c.name, c.baseURL, c.fingerprint)
}

func (c resolvedConfig) GoString() string { return c.String() }

// Format prints String for every verb: no verb prints the key field.
func (c resolvedConfig) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, c.String()) }

func (c resolvedConfig) LogValue() slog.Value {
	return slog.GroupValue(slog.String("name", c.name), slog.String("base_url", c.baseURL),
		slog.String("config", c.fingerprint))
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// lookupEnv reads one environment variable and whether it is set at all:
// os.LookupEnv outside tests.
type lookupEnv func(key string) (string, bool)

// getenvLookup adapts a getenv-style function (tests' fixed environments):
// a variable it answers "" for counts as unset.
func getenvLookup(getenv func(string) string) lookupEnv {
	return func(key string) (string, bool) {
		v := getenv(key)
		return v, v != ""
	}
}

// resolve applies the environment under the options and validates the
// result. env is os.LookupEnv when nil.
func resolve(opts []ServiceOption, env lookupEnv) (resolvedConfig, error) {
	var c serviceConfig
	for _, o := range opts {
		o(&c)
	}
	if env == nil {
		env = os.LookupEnv
	}
	getenv := func(key string) string {
		v, _ := env(key)
		return v
	}
	pick := func(p *string, env string) string {
		if p != nil {
			return *p
		}
		return getenv(env)
	}
	r := resolvedConfig{maxRetries: 10, httpClient: c.httpClient, userMetadata: c.userMetadata}
	// Not trimmed: a key with white space around it is refused, like one
	// with white space inside (BEHAVIOR, Security). A credential command's
	// output is its stdout, whose line ending runCredentialCmd drops.
	r.apiKey = pick(c.apiKey, EnvAPIKey)
	if cmd := strings.TrimSpace(getenv(EnvCredentialCmd)); r.apiKey == "" && cmd != "" {
		timeout := c.credentialCmdTimeout
		if timeout <= 0 {
			timeout = CredentialCmdTimeout
		}
		key, err := runCredentialCmd(cmd, timeout)
		if err != nil {
			return r, err
		}
		r.apiKey = key
	}
	r.headers, r.secrets = defaultHeaders(c.defaultHeaders, getenv)
	if err := types.ValidateAPIKey(r.apiKey); err != nil {
		return r, err
	}
	base := pick(c.baseURL, EnvBaseURL)
	if strings.TrimSpace(base) == "" {
		base = types.DefaultBaseURL
	}
	norm, err := types.NormalizeBaseURL(base)
	if err != nil {
		return r, err
	}
	if keyInBaseURL(norm, r.apiKey) {
		return r, types.ValidationError("service_client", "base URL %q contains the API key or something shaped like a credential; give the key with WithAPIKey or %s, not in the URL", types.RedactURL(norm, r.apiKey), EnvAPIKey)
	}
	r.baseURL = norm
	r.fingerprint = types.ConfigFingerprint(norm, r.apiKey)
	r.projectID = pick(c.projectID, EnvProjectID)
	if c.tagsSet {
		r.tags = dedupe(c.tags)
	} else {
		r.tags = dedupe(strings.Split(getenv(EnvTags), ","))
	}
	if c.retryBudget != nil {
		if *c.retryBudget < 0 {
			return r, types.ValidationError("service_client", "call retry budget must be >= 0, got %s", *c.retryBudget)
		}
		r.retryBudget = c.retryBudget
	}
	if c.maxRetries != nil {
		if *c.maxRetries < 0 {
			return r, types.ValidationError("service_client", "max retries must be >= 0, got %d", *c.maxRetries)
		}
		r.maxRetries = *c.maxRetries
	}
	if c.telemetry != nil {
		r.telemetry = *c.telemetry
	} else {
		r.telemetry = telemetryEnabled(env(EnvTelemetry))
	}
	r.name, r.noSession = c.name, c.noSession
	if r.name != "" && !nameRE.MatchString(r.name) {
		return r, types.ValidationError("service_client", "name %q must match %s", r.name, nameRE)
	}
	for k := range r.userMetadata {
		if k == "" {
			return r, types.ValidationError("service_client", "user metadata has an empty key")
		}
	}
	return r, nil
}

// keyInBaseURL reports a normalized base URL that holds the API key, or a
// credential-shaped string in its path (a key pasted into the URL): the
// base URL goes into every event, log line and tree dump as it is.
func keyInBaseURL(norm, key string) bool {
	if strings.Contains(norm, key) {
		return true
	}
	u, err := url.Parse(norm)
	return err == nil && types.Redact(u.Path) != u.Path
}

// telemetryEnabled is the SDK's reading of TINKER_TELEMETRY (value v, set
// when the variable exists): unset means on; set, it is on only for 1,
// true, yes or on in any case, as written. Any other value, the empty
// string included, turns telemetry off.
func telemetryEnabled(v string, set bool) bool {
	if !set {
		return true
	}
	switch strings.ToLower(v) {
	case "1", "true", "yes", "on":
		return true
	}
	return false
}

func dedupe(in []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range in {
		s = strings.TrimSpace(s)
		if s == "" || seen[s] {
			continue
		}
		seen[s] = true
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

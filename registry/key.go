package registry

import (
	"fmt"
	"io"
	"log/slog"

	"github.com/tinkex-go/tinkex/types"
)

// Key identifies one config: a normalized base URL and an API key. Compute
// it once with NewKey and keep it; looking it up allocates nothing. It holds
// the key in memory only: every way of printing a Key (fmt verbs, %#v, slog)
// shows the base URL and the config fingerprint, never the key. The zero Key
// is invalid.
type Key struct {
	baseURL string
	apiKey  string
	fp      string
	id      string // map key: baseURL + NUL + apiKey
}

// NewKey normalizes baseURL (types.NormalizeBaseURL) and validates apiKey
// (types.ValidateAPIKey). Spellings that normalize equal (a trailing slash,
// an upper-case host, an explicit default port) give equal Keys. It fails
// with a KindValidation *types.Error that never contains the key.
func NewKey(baseURL, apiKey string) (Key, error) {
	u, err := types.NormalizeBaseURL(baseURL)
	if err != nil {
		return Key{}, err
	}
	if err := types.ValidateAPIKey(apiKey); err != nil {
		return Key{}, err
	}
	return Key{
		baseURL: u,
		apiKey:  apiKey,
		fp:      types.ConfigFingerprint(u, apiKey),
		id:      u + "\x00" + apiKey,
	}, nil
}

// BaseURL returns the normalized base URL.
func (k Key) BaseURL() string { return k.baseURL }

// Fingerprint returns the config fingerprint (types.ConfigFingerprint), the
// name of this config in actor names, logs, metrics and telemetry.
func (k Key) Fingerprint() string { return k.fp }

// IsZero reports whether k is the zero Key (not made by NewKey).
func (k Key) IsZero() bool { return k.id == "" }

// String shows the base URL and fingerprint, never the API key.
func (k Key) String() string {
	if k.IsZero() {
		return "registry.Key{}"
	}
	return "registry.Key{" + k.baseURL + " config=" + k.fp + "}"
}

// GoString is String, so %#v does not print the key either.
func (k Key) GoString() string { return k.String() }

// Format prints String for every verb, so no verb (%d, %x, %+v...) can reach
// the API key field.
func (k Key) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, k.String()) }

// LogValue shows the base URL and fingerprint in slog output.
func (k Key) LogValue() slog.Value {
	return slog.GroupValue(slog.String("base_url", k.baseURL), slog.String("config", k.fp))
}

package httpclient

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TransportTLS reaches every pool of the set, those Client hands out for
// other hosts (the archive host, the Hugging Face hub) included, each with
// a config of its own: the transport writes its ALPN protocols into it.
func TestTransportTLSReachesEveryPoolAsAClone(t *testing.T) {
	cfg := &tls.Config{RootCAs: x509.NewCertPool(), MinVersion: tls.VersionTLS13}
	ts := NewTransports(nil, TransportTLS(cfg))
	lease := ts.Acquire("https://api.example")
	defer lease.Release()
	seen := map[*tls.Config]bool{}
	check := func(hc *http.Client) {
		t.Helper()
		tc := hc.Transport.(*http.Transport).TLSClientConfig
		require.NotNil(t, tc)
		assert.NotSame(t, cfg, tc)
		assert.False(t, seen[tc], "a clone per transport")
		seen[tc] = true
		assert.Same(t, cfg.RootCAs, tc.RootCAs)
		assert.Equal(t, uint16(tls.VersionTLS13), tc.MinVersion)
		assert.True(t, hc.Transport.(*http.Transport).ForceAttemptHTTP2)
	}
	for p := Pool(0); p < numPools; p++ {
		check(lease.Client(p))
	}
	check(ts.Client("https://storage.example", PoolTraining))
	check(ts.Client("huggingface-hub", PoolSession))
}

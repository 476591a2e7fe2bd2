// Package etcdtest finds the etcd server that the cluster tests (package
// cluster's and tests/cluster's) start.
package etcdtest

import (
	"os"
	"os/exec"
	"testing"

	"github.com/stretchr/testify/require"
)

// Binary returns the etcd on PATH, or skips t when there is none, unless
// TINKEX_REQUIRE_ETCD=1 (set by .ci/run, which installs etcd-server): then
// a missing etcd fails t.
func Binary(t testing.TB) string {
	t.Helper()
	bin, err := exec.LookPath("etcd")
	if err != nil {
		if os.Getenv("TINKEX_REQUIRE_ETCD") == "1" {
			require.FailNow(t, "TINKEX_REQUIRE_ETCD=1 but no etcd on PATH (apt-get install etcd-server)")
		}
		t.Skip("no etcd on PATH (apt-get install etcd-server)")
	}
	return bin
}

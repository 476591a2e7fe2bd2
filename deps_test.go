package tinkex

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// clusterOnlyDeps are what only a fleet member needs: protoactor's remote
// and cluster (and their gRPC transport), the etcd client, echo (the
// automanaged provider's health endpoint).
var clusterOnlyDeps = []string{
	"google.golang.org/grpc",
	"go.etcd.io/etcd",
	"github.com/labstack/echo",
	"github.com/asynkron/protoactor-go/cluster",
	"github.com/asynkron/protoactor-go/remote",
}

// clusterUsers are the packages that make a cluster.Provider and so link
// the cluster; every other package of the module (the root included) must
// not, so that a program without WithCluster links none of it.
var clusterUsers = []string{
	"github.com/tinkex-go/tinkex/cluster",
	"github.com/tinkex-go/tinkex/cmd/demo",
	"github.com/tinkex-go/tinkex/tests/cluster",
}

func TestRootLinksNoClusterDependency(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("no go command: %v", err)
	}
	out, err := exec.Command(goBin, "list", "-f", "{{.ImportPath}} {{join .Deps \" \"}}", "github.com/tinkex-go/tinkex/...").Output()
	if err != nil {
		t.Skipf("go list unavailable: %v", err)
	}
	deps := map[string][]string{}
	for line := range strings.Lines(string(out)) {
		f := strings.Fields(line)
		deps[f[0]] = f[1:]
	}
	linked := func(pkg, dep string) bool {
		for _, d := range deps[pkg] {
			if d == dep || strings.HasPrefix(d, dep+"/") {
				return true
			}
		}
		return false
	}
	require.Contains(t, deps, "github.com/tinkex-go/tinkex")
	require.Contains(t, deps, "github.com/tinkex-go/tinkex/actors")
	// The check would pass vacuously if these names were wrong: package
	// cluster links every one of them.
	for _, dep := range clusterOnlyDeps {
		require.True(t, linked("github.com/tinkex-go/tinkex/cluster", dep), "package cluster does not link %s", dep)
	}
	for pkg := range deps {
		if isClusterUser(pkg) {
			continue
		}
		for _, dep := range clusterOnlyDeps {
			assert.False(t, linked(pkg, dep), "%s links %s", pkg, dep)
		}
	}
}

func isClusterUser(pkg string) bool {
	for _, u := range clusterUsers {
		if pkg == u || strings.HasPrefix(pkg, u+"/") {
			return true
		}
	}
	return false
}

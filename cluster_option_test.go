package tinkex

import (
	"context"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tinkex-go/tinkex/internal/inspect"
)

// Without WithCluster no cluster code runs: no cluster node in the tree, no
// fleet, and no goroutine of protoactor's cluster or remote, or of gRPC.
func TestWithoutClusterNothingOfTheClusterRuns(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rt, err := Start(ctx)
	require.NoError(t, err)
	defer func() { require.NoError(t, rt.Stop(ctx)) }()
	_, err = inspect.Registry(rt).LimiterFor(ctx, "https://tinker.example", "tml-no-cluster-key")
	require.NoError(t, err)
	assert.Nil(t, rt.Cluster())
	tree, err := rt.Tree(ctx)
	require.NoError(t, err)
	for _, c := range tree.Children {
		assert.NotEqual(t, "cluster", c.ID)
	}
	buf := make([]byte, 1<<20)
	stacks := string(buf[:runtime.Stack(buf, true)])
	for _, pkg := range []string{"protoactor-go/cluster", "protoactor-go/remote", "google.golang.org/grpc", "labstack/echo", "go.etcd.io"} {
		assert.False(t, strings.Contains(stacks, pkg), "a goroutine of %s runs", pkg)
	}
}

package cluster_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tinkex-go/tinkex"
	"github.com/tinkex-go/tinkex/cluster"
	"github.com/tinkex-go/tinkex/internal/inspect"
	"github.com/tinkex-go/tinkex/supervisor"
)

// With WithCluster the runtime's tree gains tinkex → cluster → member, and
// under the member the fleet's members and the grains active here.
func TestRuntimeWithClusterShowsMembersAndGrainsInTheTree(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	rt, err := tinkex.Start(ctx, tinkex.WithCluster("tree-test", "127.0.0.1:0", cluster.NewTestNetwork().Provider(),
		cluster.WithRenewInterval(20*time.Millisecond), cluster.WithLeaseTTL(200*time.Millisecond)))
	require.NoError(t, err)
	defer func() { require.NoError(t, rt.Stop(ctx)) }()
	lim, err := inspect.Registry(rt).LimiterFor(ctx, "https://tinker.example", "tml-cluster-tree-key")
	require.NoError(t, err)
	fp := lim.Identity().Fingerprint
	require.NotNil(t, rt.Cluster())
	f, ok := rt.Cluster().(*cluster.Fleet)
	require.True(t, ok, "Runtime.Cluster is a %T", rt.Cluster())
	assert.Equal(t, "tree-test", f.Name())
	assert.Equal(t, "test", f.Status().Provider)

	eventually(t, func() bool {
		st := rt.Cluster().Status()
		return len(st.Configs) == 1 && st.Configs[0].Slots == 400 && len(st.Grains) == 1
	}, "the only member is granted the whole budget")
	tree, err := rt.Tree(ctx)
	require.NoError(t, err)
	var ids []string
	var walk func(n supervisor.Node, path string)
	walk = func(n supervisor.Node, path string) {
		p := path + "/" + n.ID
		ids = append(ids, p)
		for _, c := range n.Children {
			walk(c, p)
		}
	}
	walk(tree, "")
	addr := rt.Cluster().Status().Address
	assert.Contains(t, ids, "/tinkex/cluster/member/member:"+addr)
	assert.Contains(t, ids, "/tinkex/cluster/member/grain:"+fp)
	assert.Contains(t, ids, "/tinkex/registry/limiter:"+fp)
	assert.False(t, strings.Contains(tree.String(), "tml-cluster-tree-key"))
}

func TestStartRefusesABadClusterOption(t *testing.T) {
	_, err := tinkex.Start(context.Background(), tinkex.WithCluster("", "127.0.0.1:0", cluster.NewTestNetwork().Provider()))
	assert.ErrorIs(t, err, tinkex.ErrValidation)
	_, err = tinkex.Start(context.Background(), tinkex.WithCluster("x", "127.0.0.1:0", cluster.NewTestNetwork().Provider(), cluster.WithRenewInterval(0)))
	assert.ErrorIs(t, err, tinkex.ErrValidation)
}

// The zero Provider (none) is refused by Start, not run.
func TestStartRefusesTheZeroProvider(t *testing.T) {
	_, err := tinkex.Start(context.Background(), tinkex.WithCluster("x", "127.0.0.1:0", cluster.Provider{}))
	assert.ErrorIs(t, err, tinkex.ErrValidation)
	assert.Equal(t, "", cluster.Provider{}.String())
	assert.Equal(t, "etcd", cluster.Etcd("http://127.0.0.1:2379").String())
}

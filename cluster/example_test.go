package cluster_test

import (
	"context"
	"fmt"
	"time"

	"github.com/tinkex-go/tinkex"
	"github.com/tinkex-go/tinkex/cluster"
)

// A process of a fleet of workers sharing one API key: the runtime joins
// the fleet "rl-job-17" through etcd, and every config's 429 backoff and
// dispatch budget are shared with the other members. (Compiled, not run:
// it needs an etcd.)
func Example() {
	ctx := context.Background()
	rt, err := tinkex.Start(ctx,
		tinkex.WithCluster("rl-job-17", "10.0.0.5:7000", cluster.Etcd("http://etcd-0:2379"),
			cluster.WithAdvertisedAddress("worker-3.rl-job-17:7000"), cluster.WithDegradeAfter(2*time.Second)))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer func() { _ = rt.Stop(ctx) }()
	st := rt.Cluster().Status()
	fmt.Println(st.Provider, st.Members)
}

//go:build !race

package cluster_test

import (
	"fmt"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/tinkex-go/tinkex/cluster"
)

// BenchmarkBackoffPropagation measures, on 5 members in one process talking
// over loopback gRPC, the delay from a 429 on member 0 (ReportRateLimited)
// until the last of the other 4 members' limiters shows the extended
// backoff, and the protocol messages per 429 (reports sent + pushes sent).
// Each iteration extends the deadline by 10 ms more than the previous one,
// so each is a fresh fleet-wide extension. Reports p50-ms, p99-ms, max-ms
// and msgs/429.
func BenchmarkBackoffPropagation(b *testing.B) {
	net := cluster.NewTestNetwork()
	var nodes []*node
	for range 5 {
		nodes = append(nodes, startNode(b, net, nil, fpA))
	}
	for _, n := range nodes {
		eventually(b, func() bool { return n.config(fpA).Members == 5 }, "joined")
	}
	src, others := nodes[0].lims[fpA], nodes[1:]
	msgs := func() uint64 {
		var m uint64
		for _, n := range nodes {
			st := n.f.Status()
			m += st.Reports + st.Pushes
		}
		return m
	}
	before := msgs()
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		d := time.Hour + time.Duration(i+1)*10*time.Millisecond
		t0 := time.Now()
		if !src.ReportRateLimited(d) {
			b.Fatal("no extension")
		}
		for _, n := range others {
			for n.lims[fpA].BackoffRemaining() < d-time.Since(t0) {
				runtime.Gosched()
				if time.Since(t0) > 10*time.Second {
					b.Fatalf("member never saw backoff %d", i)
				}
			}
		}
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	slices.Sort(lat)
	pct := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000 }
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(pct(1), "max-ms")
	b.ReportMetric(float64(msgs()-before)/float64(b.N), "msgs/429")
	if testing.Verbose() {
		fmt.Printf("propagation over %d 429s: p50 %.2f ms, p99 %.2f ms\n", b.N, pct(0.5), pct(0.99))
	}
}

// Package bench is tinkex's benchmark suite: the full stack against a
// hand-written net/http client doing the same calls, isolation of a config
// held in a 429 backoff, restart latency, the training step round trip, and
// a 10,000-sample scale run with memory per idle client. It holds benchmarks
// only; run them with
//
//	go test ./tests/bench -run '^$' -bench . -count 6
//
// and read docs/performance.md for the results and how they were measured.
package bench

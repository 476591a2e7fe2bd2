package chaos

import (
	"flag"
	"testing"
	"time"

	"go.uber.org/goleak"
)

var (
	flagFull     = flag.Bool("chaos.full", false, "run the full chaos mix (10,000 requests) instead of the short one")
	flagRequests = flag.Int("chaos.requests", 0, "override the number of requests of one chaos run")
	flagSoak     = flag.Duration("soak", 0, "repeat the chaos mix for this long and report the totals (e.g. -soak 10m)")
	flagSeed     = flag.Uint64("chaos.seed", 0, "seed of the mix's random choices (0: time-based, printed)")
	flagReport   = flag.String("chaos.report", "", "append the figures of each chaos run as JSON lines to this file")
)

// Sizes of one run.
const (
	shortRequests = 1_000
	fullRequests  = 10_000
)

func requestsPerRun() int {
	switch {
	case *flagRequests > 0:
		return *flagRequests
	case *flagFull:
		return fullRequests
	}
	return shortRequests
}

func soakFor() time.Duration { return *flagSoak }

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

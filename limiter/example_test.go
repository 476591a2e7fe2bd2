package limiter_test

import (
	"context"
	"fmt"
	"time"

	"github.com/tinkex-go/tinkex/clock"
	"github.com/tinkex-go/tinkex/limiter"
)

// A sampler takes a permit per submit; on a 429 it backs off through the
// limiter, which frees its slot and bytes while it sleeps.
func Example() {
	fake := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	lim, err := limiter.New(limiter.WithClock(fake), limiter.WithIdentity("3f2a9c0d1e4b", "https://tinker.example"))
	if err != nil {
		panic(err)
	}
	ctx := context.Background()

	p, err := lim.Acquire(ctx, 4096)
	if err != nil {
		panic(err)
	}
	fmt.Println("in use:", lim.Stats().SlotsInUse, "throttled:", p.Throttled())

	// The server answered 429: back off for 1 s and re-acquire.
	done := make(chan *limiter.Permit)
	go func() {
		np, err := lim.BackOff(ctx, p, time.Second)
		if err != nil {
			panic(err)
		}
		done <- np
	}()
	<-fake.BlockUntil(1) // the sampler is sleeping
	st := lim.Stats()
	fmt.Println("while sleeping: in use:", st.SlotsInUse, "backoff:", st.BackoffRemaining)
	fake.Advance(time.Second)
	p = <-done
	fmt.Println("after: throttled:", p.Throttled(), "charged:", p.Charged())
	p.Release()
	// Output:
	// in use: 1 throttled: false
	// while sleeping: in use: 0 backoff: 1s
	// after: throttled: true charged: 81920
}

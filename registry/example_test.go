package registry_test

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/tinkex-go/tinkex/registry"
)

// One registry per runtime; its actor runs under the root supervisor (here
// spawned directly). Clients compute their Key once and share the limiter of
// their config.
func Example() {
	sys := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return slog.New(slog.DiscardHandler)
	}))
	reg, err := registry.New()
	if err != nil {
		panic(err)
	}
	pid := sys.Root.Spawn(actor.PropsFromProducer(reg.Producer()))
	defer func() { _ = sys.Root.StopFuture(pid).Wait() }()

	ctx := context.Background()
	k, err := registry.NewKey("https://Tinker.Example:443/api/", "tml-example-key")
	if err != nil {
		panic(err)
	}
	lim, err := reg.Limiter(ctx, k)
	if err != nil {
		panic(err)
	}
	same, _ := reg.LimiterFor(ctx, "https://tinker.example/api", "tml-example-key")
	fmt.Println("shared:", lim == same)

	seq := reg.Counter("service:a/training:m1/seq_id", 1)
	fmt.Println("seq_ids:", seq.Next(), seq.Next())

	for _, e := range reg.Entries() {
		fmt.Println(e.BaseURL, e.Fingerprint == k.Fingerprint(), e.PID.Id == pid.Id+"/"+registry.LimiterActorName(e.Fingerprint))
	}
	// Output:
	// shared: true
	// seq_ids: 1 2
	// https://tinker.example/api true true
}

package registry_test

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/tinkex-go/tinkex/registry"
	"github.com/tinkex-go/tinkex/supervisor"
)

// One registry per runtime; its subtree (the registry actor and one limiter
// actor per config) runs under the root supervisor. Clients compute their
// Key once and share the limiter of their config.
func Example() {
	sys := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return slog.New(slog.DiscardHandler)
	}))
	reg, err := registry.New()
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	root, err := supervisor.Start(ctx, sys, "root", supervisor.OneForOne, []supervisor.Spec{reg.Spec()})
	if err != nil {
		panic(err)
	}
	defer func() { _ = root.Stop(ctx) }()

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
		fmt.Println(e.BaseURL, e.Fingerprint == k.Fingerprint(), e.PID.Id == "root/registry/"+registry.LimiterActorName(e.Fingerprint))
	}
	// Output:
	// shared: true
	// seq_ids: 1 2
	// https://tinker.example/api true true
}

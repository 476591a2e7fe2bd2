package registry_test

import (
	"context"
	"testing"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/tinkex-go/tinkex/registry"
	"github.com/tinkex-go/tinkex/supervisor"
)

func BenchmarkLookup(b *testing.B) {
	sys := actor.NewActorSystem(actor.WithLoggerFactory(discardLogger))
	r, err := registry.New()
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	root, err := supervisor.Start(ctx, sys, "root", supervisor.OneForOne, []supervisor.Spec{r.Spec()})
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = root.Stop(ctx) }()
	for _, url := range []string{"https://a.example", "https://b.example", "https://c.example"} {
		if _, err := r.LimiterFor(ctx, url, keyA); err != nil {
			b.Fatal(err)
		}
	}
	k, err := registry.NewKey("https://b.example", keyA)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("Lookup", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, ok := r.Lookup(k); !ok {
				b.Fatal("miss")
			}
		}
	})
	b.Run("Limiter", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := r.Limiter(ctx, k); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("LimiterParallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := r.Limiter(ctx, k); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	b.Run("LimiterForURL", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := r.LimiterFor(ctx, "https://b.example", keyA); err != nil {
				b.Fatal(err)
			}
		}
	})
}

package limiter_test

import (
	"context"
	"testing"

	"github.com/tinkex-go/tinkex/limiter"
)

func BenchmarkWaitIdle(b *testing.B) {
	l, err := limiter.New()
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := l.Wait(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAcquireRelease(b *testing.B) {
	ctx := context.Background()
	b.Run("uncontended", func(b *testing.B) {
		l, err := limiter.New()
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			p, err := l.Acquire(ctx, 1024)
			if err != nil {
				b.Fatal(err)
			}
			p.Release()
		}
	})
	b.Run("parallel", func(b *testing.B) {
		l, err := limiter.New()
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				p, err := l.Acquire(ctx, 1024)
				if err != nil {
					b.Error(err)
					return
				}
				p.Release()
			}
		})
	})
}

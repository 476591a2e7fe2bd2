package telemetry_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/tinkex-go/tinkex/telemetry"
	"github.com/tinkex-go/tinkex/types"
)

// Attach a handler to every HTTP event and read measurements and metadata
// by the shared keys.
func ExampleBus_Attach() {
	bus := telemetry.NewBus()
	err := bus.Attach("my-metrics", []string{"tinkex.http.*"}, func(ev telemetry.Event) {
		if ev.Name == telemetry.HTTPRetry {
			fmt.Printf("retry of config %v after status %v, waiting %gs\n",
				ev.Metadata[telemetry.KeyConfig], ev.Metadata[telemetry.KeyStatus], ev.Measurements[telemetry.MeasureDelay])
		}
	})
	if err != nil {
		panic(err)
	}
	defer bus.Detach("my-metrics")

	// What the HTTP layer emits before sleeping for a retry.
	bus.Execute(telemetry.HTTPRetry,
		map[string]float64{telemetry.MeasureAttempt: 1, telemetry.MeasureDelay: 0.5},
		map[string]any{telemetry.KeyConfig: "3f2a9c0d41e7", telemetry.KeyStatus: 503})
	// Output:
	// retry of config 3f2a9c0d41e7 after status 503, waiting 0.5s
}

// Print events through slog. The time attribute is removed here only to
// make the output deterministic.
func ExampleAttachLogger() {
	logger := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}))
	bus := telemetry.NewBus()
	detach, err := telemetry.AttachLogger(bus, logger, telemetry.LoggerOptions{})
	if err != nil {
		panic(err)
	}
	defer detach()

	bus.Execute(telemetry.LimiterBackoffSet,
		map[string]float64{telemetry.MeasureDelay: 2},
		map[string]any{telemetry.KeyConfig: "3f2a9c0d41e7", telemetry.KeyStatus: 429})
	bus.Execute(telemetry.TrainingPrefix+"forward_backward.stop",
		map[string]float64{telemetry.MeasureDuration: 1.25},
		map[string]any{telemetry.KeyModelID: "m-1", telemetry.KeySeqID: 4, "api_key": "tml-oops"})
	// Output:
	// level=WARN msg=tinkex.limiter.backoff.set delay=2s config=3f2a9c0d41e7 status=429
	// level=INFO msg=tinkex.training.forward_backward.stop duration=1.25s api_key=[REDACTED] model_id=m-1 seq_id=4
}

// Send server-side telemetry through a Sender (in tinkex, the HTTP layer's
// POST /api/v1/telemetry) and forward problems seen on the bus.
func ExampleBatcher() {
	send := func(ctx context.Context, req *types.TelemetrySendRequest) error {
		for _, ev := range req.Events {
			fmt.Println(req.SessionID, ev.EventSessionIndex, ev.Event, ev.EventName, ev.EventData["request_id"])
		}
		return nil
	}
	batcher, err := telemetry.NewBatcher("sess-1", send, telemetry.WithEnabled(true))
	if err != nil {
		panic(err)
	}
	bus := telemetry.NewBus()
	detach, err := batcher.Bridge(bus, telemetry.BridgeOptions{SessionID: "sess-1"})
	if err != nil {
		panic(err)
	}
	defer detach()

	batcher.SessionStart()
	bus.Execute(telemetry.FutureTimeout, nil, map[string]any{telemetry.KeySessionID: "sess-1", telemetry.KeyRequestID: "req-7"})
	if err := batcher.Close(context.Background()); err != nil { // sends what is queued
		panic(err)
	}
	// Output:
	// sess-1 0 SESSION_START  <nil>
	// sess-1 1 GENERIC_EVENT tinkex.future.timeout req-7
}

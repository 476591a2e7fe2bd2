package telemetry

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/tinkex-go/tinkex/types"
)

func BenchmarkPrometheusHTTPStop(b *testing.B) {
	c, err := NewPrometheusCollector(nil)
	if err != nil {
		b.Fatal(err)
	}
	bus := NewBus()
	if _, err := c.Attach(bus); err != nil {
		b.Fatal(err)
	}
	m := map[string]float64{MeasureDuration: 0.01, MeasureRetryCount: 0}
	md := map[string]any{KeyConfig: "3f2a9c0d41e7", KeyPool: "sampling", KeyStatus: 200}
	b.ReportAllocs()
	for b.Loop() {
		bus.Execute(HTTPRequestStop, m, md)
	}
}

func BenchmarkLoggerBelowMinLevel(b *testing.B) {
	bus := NewBus()
	if _, err := AttachLogger(bus, slog.New(slog.NewTextHandler(io.Discard, nil)), LoggerOptions{}); err != nil {
		b.Fatal(err)
	}
	md := map[string]any{KeyConfig: "3f2a9c0d41e7", KeyPool: "sampling", KeyStatus: 200}
	b.ReportAllocs()
	for b.Loop() {
		bus.Execute(HTTPRequestStop, nil, md) // DEBUG: filtered before formatting
	}
}

func BenchmarkLoggerWrite(b *testing.B) {
	bus := NewBus()
	if _, err := AttachLogger(bus, slog.New(slog.NewTextHandler(io.Discard, nil)), LoggerOptions{}); err != nil {
		b.Fatal(err)
	}
	m := map[string]float64{MeasureAttempt: 1, MeasureDelay: 0.5}
	md := map[string]any{KeyConfig: "3f2a9c0d41e7", KeyStatus: 429, KeyPath: "/api/v1/asample", KeyError: "rate limited"}
	b.ReportAllocs()
	for b.Loop() {
		bus.Execute(HTTPRetry, m, md)
	}
}

func BenchmarkBatcherEnqueue(b *testing.B) {
	sent := func(context.Context, *types.TelemetrySendRequest) error { return nil }
	bt, err := NewBatcher("sess", sent, WithMaxQueue(1<<20))
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = bt.Close(context.Background()) }()
	data := map[string]any{KeyRequestID: "r-1", KeyStatus: 500}
	b.ReportAllocs()
	for b.Loop() {
		bt.Log("tinkex.future.api_error", types.SeverityWarning, data)
	}
}

package tinkex

import (
	"context"
	"io"
	"log/slog"
	"strings"

	"github.com/tinkex-go/tinkex/telemetry"
)

// WithEventLogs chooses whether the runtime's logger also logs tinkex's
// telemetry events (default true): retries, backoffs, restarts and
// failures at WARN/ERROR, operation stops and queue changes at INFO,
// per-request traffic at DEBUG (see telemetry.EventLevel), each filtered
// by the logger's level. Turn it off when you attach your own
// telemetry.AttachLogger and want each event logged once.
func WithEventLogs(on bool) RuntimeOption { return func(c *runtimeConfig) { c.noEventLogs = !on } }

// withLogOutput replaces stderr as the TINKER_LOG destination (tests).
func withLogOutput(w io.Writer) RuntimeOption { return func(c *runtimeConfig) { c.logOutput = w } }

// envLogger is the logger TINKER_LOG asks for: debug, info or
// warning/warn (any case) log to w at that level; anything else is silent.
func envLogger(level string, w io.Writer) *slog.Logger {
	var l slog.Level
	switch strings.ToLower(strings.TrimSpace(level)) {
	case "debug":
		l = slog.LevelDebug
	case "info":
		l = slog.LevelInfo
	case "warning", "warn":
		l = slog.LevelWarn
	case "error":
		l = slog.LevelError
	default:
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l}))
}

// attachEventLogger logs the bus's events through logger at the lowest
// level its handler enables, listening only to the events that can reach
// that level. A logger that enables nothing attaches nothing. The result
// detaches (nil when nothing was attached).
func attachEventLogger(bus *telemetry.Bus, logger *slog.Logger) (func(), error) {
	h := logger.Handler()
	for _, l := range []slog.Level{slog.LevelDebug, slog.LevelInfo, slog.LevelWarn, slog.LevelError} {
		if !h.Enabled(context.Background(), l) {
			continue
		}
		return telemetry.AttachLogger(bus, logger, telemetry.LoggerOptions{
			Events: telemetry.EventPatternsAtLeast(l), MinLevel: l})
	}
	return nil, nil
}

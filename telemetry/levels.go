package telemetry

import "log/slog"

// EventPatternsAtLeast returns bus patterns covering every event whose
// EventLevel can be level or above, and as few others as it can: "*" for
// DEBUG and INFO; for WARN and ERROR the retry, backoff, future, restart
// and exception events (training operations by prefix, their starts and
// stops included). A logger attached with these patterns sees everything
// it would print and leaves the rest of the bus idle (a successful Sample
// builds no span when nothing listens to its stop).
func EventPatternsAtLeast(level slog.Level) []string {
	if level <= slog.LevelInfo {
		return []string{"*"}
	}
	return []string{
		HandlerFailed, SupervisorIntensityExceeded, SupervisorChildRestarted,
		HTTPRetry, HTTPRequestError, LimiterBackoffSet,
		FutureAPIError, FutureConnectionError, FutureRequestFailed, FutureTimeout,
		SamplingSampleException, TrainingPrefix + "*",
	}
}

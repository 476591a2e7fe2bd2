package tinkex

import (
	"fmt"
	"io"
	"log/slog"
)

// The client types print a short description for every fmt verb (their
// Format methods): never the API key, and never a reflection over their
// internal (concurrently written) fields, which any verb but %v, %s and %#v
// would otherwise print, the ServiceClient's key among them.

// String describes the training client.
func (t *TrainingClient) String() string {
	return fmt.Sprintf("tinkex.TrainingClient{model_id=%s service=%s}", t.modelID, t.svc.name)
}

// GoString is String.
func (t *TrainingClient) GoString() string { return t.String() }

// Format prints String for every verb.
func (t *TrainingClient) Format(st fmt.State, _ rune) { _, _ = io.WriteString(st, t.String()) }

// LogValue is the client's description for slog.
func (t *TrainingClient) LogValue() slog.Value {
	return slog.GroupValue(slog.String("model_id", t.modelID), slog.String("service", t.svc.name))
}

// String describes the sampling client.
func (s *SamplingClient) String() string {
	return fmt.Sprintf("tinkex.SamplingClient{sampler_id=%s service=%s}", s.samplerID, s.svc.name)
}

// GoString is String.
func (s *SamplingClient) GoString() string { return s.String() }

// Format prints String for every verb.
func (s *SamplingClient) Format(st fmt.State, _ rune) { _, _ = io.WriteString(st, s.String()) }

// LogValue is the client's description for slog.
func (s *SamplingClient) LogValue() slog.Value {
	return slog.GroupValue(slog.String("sampler_id", s.samplerID), slog.String("service", s.svc.name))
}

// String describes the REST client.
func (r *RestClient) String() string { return "tinkex.RestClient{service=" + r.s.name + "}" }

// GoString is String.
func (r *RestClient) GoString() string { return r.String() }

// Format prints String for every verb.
func (r *RestClient) Format(st fmt.State, _ rune) { _, _ = io.WriteString(st, r.String()) }

// LogValue is the client's description for slog.
func (r *RestClient) LogValue() slog.Value { return slog.GroupValue(slog.String("service", r.s.name)) }

// String describes the runtime.
func (rt *Runtime) String() string {
	return fmt.Sprintf("tinkex.Runtime{services=%d}", len(rt.Services()))
}

// GoString is String.
func (rt *Runtime) GoString() string { return rt.String() }

// Format prints String for every verb.
func (rt *Runtime) Format(st fmt.State, _ rune) { _, _ = io.WriteString(st, rt.String()) }

// LogValue is the runtime's description for slog.
func (rt *Runtime) LogValue() slog.Value {
	return slog.GroupValue(slog.Int("services", len(rt.Services())))
}

// String describes the future and its state.
func (f *Future[T]) String() string {
	state := "pending"
	select {
	case <-f.done:
		state = "done"
		if f.err != nil {
			state = "failed"
		}
	default:
	}
	return fmt.Sprintf("tinkex.Future{request_id=%s state=%s}", f.RequestID(), state)
}

// GoString is String.
func (f *Future[T]) GoString() string { return f.String() }

// Format prints String for every verb.
func (f *Future[T]) Format(st fmt.State, _ rune) { _, _ = io.WriteString(st, f.String()) }

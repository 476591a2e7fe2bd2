package registry

import "github.com/tinkex-go/tinkex/limiter"

// Created describes a limiter the registry has just created. It never
// carries the API key.
type Created struct {
	Fingerprint string
	BaseURL     string
	Limiter     *limiter.Limiter
}

// WithObserver calls f once for every limiter the registry creates, on the
// registry actor's goroutine, before the first caller gets the limiter. f
// must not block (the cluster uses it to attach a limiter to the fleet).
func WithObserver(f func(Created)) Option {
	return func(r *Registry) { r.observers = append(r.observers, f) }
}

func (r *Registry) observe(e *entry) {
	for _, f := range r.observers {
		f(Created{Fingerprint: e.key.fp, BaseURL: e.key.baseURL, Limiter: e.lim})
	}
}

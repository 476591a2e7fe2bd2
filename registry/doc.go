// Package registry owns one limiter per Tinker config — a normalized base URL
// and an API key — and the per-client state that must survive a client
// actor's restart. It is tinkex's analogue of an ETS table with an heir: the
// data lives in a *Registry created outside any actor, and the registry
// subtree (Spec: a one_for_one supervisor under the root) only serves it. Its
// first child, the registry actor, is the single writer; then comes one
// limiter actor per config, "limiter:<fingerprint>", an ordinary supervised
// child, so its crashes follow OTP's rules and show in Tree.
//
// Callers compute a Key once (NewKey normalizes the URL and validates the
// key) and keep it, or keep the limiter itself:
//
//	k, err := registry.NewKey(baseURL, apiKey)
//	lim, err := reg.Limiter(ctx, k) // created once, race-free, on first use
//
// A hit is one atomic load and one map read (Lookup), with no lock and no
// allocation. A miss asks the registry actor, which creates the limiter and
// publishes a new immutable snapshot; the caller then adds the config's
// limiter actor to the registry supervisor. Every start of the subtree
// rebuilds its children from the snapshot, so backoff state, slots and
// counters outlive any restart.
//
// Counter gives durable sequences (seq_ids) by name; DropCounters forgets a
// client's state when it is stopped for good.
//
// API keys stay in memory: Key, Registry and Entry print fingerprints and
// base URLs only, under every fmt verb and in slog.
//
// Store is the small interface clients depend on, so that a cluster-backed
// implementation could share backoff across machines later.
package registry

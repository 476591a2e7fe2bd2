package main

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"

	"github.com/tinkex-go/tinkex/tinkertest"
)

// control serves the fake's scripting API to other processes (the
// multi-process cluster tests), on its own listener so the Tinker API
// stays exactly the fake's:
//
//	POST   /faults          body: a tinkertest.Fault as JSON → {"id": N}
//	DELETE /faults          clears every fault
//	GET    /inflight?key=K&endpoint=E → {"now": N, "peak": N}
//	POST   /inflight/reset?key=K&endpoint=E
//	GET    /count?key=K&endpoint=E&status=S → {"count": N}
//
// Bind it to loopback only: it takes raw keys.
func control(srv *tinkertest.Server, l net.Listener) *http.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /faults", func(w http.ResponseWriter, r *http.Request) {
		var f tinkertest.Fault
		if err := json.NewDecoder(r.Body).Decode(&f); err != nil {
			http.Error(w, "bad fault: "+err.Error(), http.StatusBadRequest)
			return
		}
		writeJSON(w, map[string]int{"id": srv.Inject(f)})
	})
	mux.HandleFunc("DELETE /faults", func(w http.ResponseWriter, _ *http.Request) {
		srv.ClearFaults()
		writeJSON(w, map[string]bool{"ok": true})
	})
	mux.HandleFunc("GET /inflight", func(w http.ResponseWriter, r *http.Request) {
		now, peak := srv.InFlight(r.URL.Query().Get("key"), r.URL.Query().Get("endpoint"))
		writeJSON(w, map[string]int{"now": now, "peak": peak})
	})
	mux.HandleFunc("POST /inflight/reset", func(w http.ResponseWriter, r *http.Request) {
		srv.ResetPeak(r.URL.Query().Get("key"), r.URL.Query().Get("endpoint"))
		writeJSON(w, map[string]bool{"ok": true})
	})
	mux.HandleFunc("GET /count", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		m := tinkertest.Match{Key: q.Get("key"), Endpoint: q.Get("endpoint")}
		if s := q.Get("status"); s != "" {
			if _, err := fmt.Sscan(s, &m.Status); err != nil {
				http.Error(w, "bad status", http.StatusBadRequest)
				return
			}
		}
		writeJSON(w, map[string]int{"count": srv.Count(m)})
	})
	hs := &http.Server{Handler: mux}
	go func() { _ = hs.Serve(l) }()
	return hs
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

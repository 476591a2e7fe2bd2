package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http/httptest"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/tinkex-go/tinkex/supervisor"
)

// summary is the end-of-run report; -json prints it as one object (the
// schema is documented in README.md).
type summary struct {
	Mode            string         `json:"mode"` // "fake" (embedded) or "server"
	BaseURL         string         `json:"base_url"`
	DurationSeconds float64        `json:"duration_s"`
	FaultsInjected  bool           `json:"faults_injected"`
	SharedConfig    bool           `json:"shared_config"` // A and B use one key: retries and 429s are counted for both together
	Clients         []clientRow    `json:"clients"`
	ServiceRestarts map[string]int `json:"service_restarts"`
	Faults          []faultResult  `json:"faults"`
	Isolation       isolation      `json:"isolation"`
	Invariants      []invariant    `json:"invariants"`
	OK              bool           `json:"ok"`
}

// clientRow is one row of the summary table.
type clientRow struct {
	Client       string         `json:"client"` // "A/training", "A/sampling", ...
	Config       string         `json:"config"` // config fingerprint
	Requests     int            `json:"requests"`
	OK           int            `json:"ok"`
	Errors       map[string]int `json:"errors"` // by error kind
	Retries      int            `json:"retries"`
	RateLimited  int            `json:"rate_limited"` // 429 responses
	Restarts     int            `json:"restarts"`     // restarts of the client's actor
	Units        int            `json:"completed"`    // training steps or samples
	PeakInFlight int            `json:"peak_in_flight"`
	P50ms        float64        `json:"p50_ms"`
	P99ms        float64        `json:"p99_ms"`
}

// isolation is the evidence for "no config was delayed by another's
// backoff".
type isolation struct {
	Checked             bool      `json:"checked"` // false when A and B are one config
	ABackoffs           []float64 `json:"a_backoff_s"`
	BBackoffs           int       `json:"b_backoffs"`
	BCompletedDuringA   int       `json:"b_completed_during_a_backoff"`
	BLimiterBursts      uint64    `json:"b_limiter_bursts"`
	BWindowsWithoutWork int       `json:"a_backoffs_where_b_completed_nothing"`
}

// invariant is one end-of-run check.
type invariant struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// summarize collects the run's results and checks the invariants (except
// the key scan of the summary itself, which report adds).
func (d *demo) summarize(ctx context.Context, elapsed time.Duration, faults []faultResult, canceled bool) *summary {
	s := &summary{Mode: "fake", BaseURL: d.cfg.BaseURL, DurationSeconds: elapsed.Seconds(), FaultsInjected: d.cfg.Faults,
		SharedConfig: d.shared, Faults: faults}
	if !d.cfg.Embedded {
		s.Mode = "server"
	}
	if s.Faults == nil {
		s.Faults = []faultResult{}
	}
	cnt := d.obs.counts()
	s.ServiceRestarts = map[string]int{}
	snaps := map[string]clientSnapshot{}
	ended := true
	var unended []string
	for _, c := range d.clients {
		s.ServiceRestarts[c.label] = cnt.ServiceRestarts[c.label]
		for _, st := range []*clientStats{c.training, c.sampling} {
			snap := st.snapshot(true)
			snaps[snap.Name] = snap
			httpRow := snap.Name // the row HTTP events were counted under
			if d.shared {
				httpRow = sharedLabel + snap.Name[strings.Index(snap.Name, "/"):]
			}
			s.Clients = append(s.Clients, clientRow{Client: snap.Name, Config: c.svc.Fingerprint(), Requests: snap.Issued,
				OK: snap.OK, Errors: snap.Errors, Retries: cnt.Retries[httpRow], RateLimited: cnt.RateLimited[httpRow],
				Restarts: cnt.Restarts[snap.Name], Units: snap.Units, PeakInFlight: snap.Peak, P50ms: ms(snap.P50), P99ms: ms(snap.P99)})
			if snap.Ended != snap.Issued || snap.Ended != snap.latencies {
				ended = false
				unended = append(unended, fmt.Sprintf("%s: %d issued, %d ended", snap.Name, snap.Issued, snap.Ended))
			}
		}
	}

	add := func(name string, ok bool, detail string) {
		s.Invariants = append(s.Invariants, invariant{Name: name, OK: ok, Detail: detail})
	}
	total := 0
	for _, r := range s.Clients {
		total += r.Requests
	}
	switch {
	case !ended:
		add("every_request_ended", false, strings.Join(unended, "; "))
	case canceled:
		add("every_request_ended", false, fmt.Sprintf("all %d requests ended, but some only when canceled after %s", total, drainTimeout))
	default:
		add("every_request_ended", true, fmt.Sprintf("all %d requests ended with a result or an error", total))
	}

	s.Isolation = d.isolation(cnt, snaps["B/sampling"])
	switch {
	case !s.Isolation.Checked:
		add("no_cross_config_delay", true, "skipped: A and B are the same config (give -api-key-b to compare two)")
	case s.Isolation.BBackoffs > 0 || s.Isolation.BLimiterBursts > 0:
		add("no_cross_config_delay", false, fmt.Sprintf("B's limiter backed off %d time(s)", max(s.Isolation.BBackoffs, int(s.Isolation.BLimiterBursts))))
	case len(s.Isolation.ABackoffs) > 0 && s.Isolation.BCompletedDuringA == 0:
		add("no_cross_config_delay", false, "B completed no sample while A was backing off")
	case len(s.Isolation.ABackoffs) == 0:
		add("no_cross_config_delay", true, "A never backed off; B's limiter never backed off")
	default:
		add("no_cross_config_delay", true, fmt.Sprintf("B's limiter never backed off and B completed %d samples during A's %d backoff(s)",
			s.Isolation.BCompletedDuringA, len(s.Isolation.ABackoffs)))
	}

	if d.cfg.Faults {
		var bad []string
		for _, f := range s.Faults {
			if !f.OK {
				bad = append(bad, f.Name)
			}
		}
		switch {
		case len(s.Faults) < len(schedule):
			add("faults_recovered", false, fmt.Sprintf("only %d of %d scheduled faults ran (interrupted)", len(s.Faults), len(schedule)))
		case len(bad) > 0:
			add("faults_recovered", false, "not observed or not recovered: "+strings.Join(bad, ", "))
		case cnt.ServiceRestarts["B"] > 0 || cnt.Restarts["B/training"]+cnt.Restarts["B/sampling"] > 0:
			add("faults_recovered", false, "faults on A restarted part of B")
		default:
			add("faults_recovered", true, fmt.Sprintf("all %d faults were observed and recovered from; B was never restarted", len(s.Faults)))
		}
	}

	tctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	tree, err := d.rt.Tree(tctx)
	cancel()
	if err != nil {
		add("tree_running", false, "reading the tree: "+err.Error())
	} else if down := notRunning(tree); len(down) > 0 {
		add("tree_running", false, "not running: "+strings.Join(down, ", "))
	} else {
		add("tree_running", true, "every node of the supervision tree is running")
	}
	d.errMu.Lock()
	for _, err := range d.errs {
		add("demo_ok", false, err.Error())
	}
	d.errMu.Unlock()
	return s
}

// isolation measures whether A's backoffs touched B.
func (d *demo) isolation(cnt counts, b clientSnapshot) isolation {
	iso := isolation{Checked: !d.shared, ABackoffs: []float64{}}
	if d.shared {
		return iso
	}
	iso.BBackoffs = len(cnt.Backoffs["B"])
	for _, c := range d.clients {
		if c.label == "B" {
			iso.BLimiterBursts = c.svc.LimiterStats().Bursts
		}
	}
	for _, w := range cnt.Backoffs["A"] {
		to := w.To
		if to < 0 {
			to = d.since()
		}
		iso.ABackoffs = append(iso.ABackoffs, (to - w.From).Seconds())
		n := b.okBetween(w.From, to)
		iso.BCompletedDuringA += n
		if n == 0 {
			iso.BWindowsWithoutWork++
		}
	}
	return iso
}

func notRunning(n supervisor.Node) []string {
	var out []string
	if n.Status != supervisor.Running {
		out = append(out, n.ID+" "+n.Status.String())
	}
	for _, c := range n.Children {
		out = append(out, notRunning(c)...)
	}
	return out
}

// report checks the last invariant (no key in any output: everything
// printed so far, the metrics, and the summary about to be printed), then
// prints the summary.
func (d *demo) report(s *summary) error {
	rec := httptest.NewRecorder()
	promhttp.HandlerFor(d.reg, promhttp.HandlerOpts{}).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	d.guard.scan(rec.Body.Bytes())
	draft, err := d.render(s)
	if err != nil {
		return err
	}
	d.guard.scan(draft)
	if leaks := d.guard.leaks(); len(leaks) > 0 {
		slices.Sort(leaks)
		s.Invariants = append(s.Invariants, invariant{Name: "no_key_in_output", OK: false, Detail: "found " + strings.Join(leaks, ", ")})
	} else {
		s.Invariants = append(s.Invariants, invariant{Name: "no_key_in_output", OK: true,
			Detail: "neither API key appears in stdout, stderr, the metrics or this summary"})
	}
	s.OK = true
	for _, inv := range s.Invariants {
		s.OK = s.OK && inv.OK
	}
	out, err := d.render(s)
	if err != nil {
		return err
	}
	_, err = d.out.Write(out)
	return err
}

func (d *demo) render(s *summary) ([]byte, error) {
	if d.cfg.JSON {
		b, err := json.Marshal(s)
		return append(b, '\n'), err
	}
	var buf bytes.Buffer
	writeTable(&buf, s)
	return buf.Bytes(), nil
}

// writeTable prints the human summary.
func writeTable(w io.Writer, s *summary) {
	fmt.Fprintf(w, "\nSummary (%s, %.1fs)\n\n", s.BaseURL, s.DurationSeconds)
	fmt.Fprintf(w, "%-11s %8s %8s %8s %6s %8s %9s %9s %5s  %s\n", "client", "requests", "ok", "retries", "429s", "restarts", "p50", "p99", "peak", "errors")
	for _, r := range s.Clients {
		fmt.Fprintf(w, "%-11s %8d %8d %8d %6d %8d %7.1fms %7.1fms %5d  %s\n", r.Client, r.Requests, r.OK, r.Retries, r.RateLimited,
			r.Restarts, r.P50ms, r.P99ms, r.PeakInFlight, errorList(r.Errors))
	}
	if s.SharedConfig {
		fmt.Fprintln(w, "(A and B share one config: each of their retries and 429s columns counts both)")
	}
	fmt.Fprintf(w, "\nservice subtree restarts: A=%d B=%d\n", s.ServiceRestarts["A"], s.ServiceRestarts["B"])
	if len(s.Faults) > 0 {
		fmt.Fprintln(w, "\nFaults")
		for _, f := range s.Faults {
			mark := "✓"
			if !f.OK {
				mark = "✗"
			}
			fmt.Fprintf(w, "  %s %-45s at %5.1fs  injected: %s\n", mark, f.Name, f.AtSeconds, f.Injected)
			fmt.Fprintf(w, "      observed:  %s\n      recovered: %s\n", orNone(f.Observed), orNone(f.Recovered))
		}
	}
	fmt.Fprintln(w, "\nInvariants")
	for _, inv := range s.Invariants {
		mark := "✓"
		if !inv.OK {
			mark = "✗"
		}
		fmt.Fprintf(w, "  %s %-22s %s\n", mark, inv.Name, inv.Detail)
	}
	if s.OK {
		fmt.Fprintln(w, "\nOK: every invariant holds")
	} else {
		fmt.Fprintln(w, "\nFAILED: see the invariants above")
	}
}

func errorList(m map[string]int) string {
	if len(m) == 0 {
		return "-"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%d", k, m[k])
	}
	return strings.Join(parts, " ")
}

func orNone(s string) string {
	if s == "" {
		return "(no)"
	}
	return s
}

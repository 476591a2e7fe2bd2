package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tinkex-go/tinkex"
	"github.com/tinkex-go/tinkex/cluster"
	"github.com/tinkex-go/tinkex/internal/inspect"
	"github.com/tinkex-go/tinkex/registry"
	"github.com/tinkex-go/tinkex/tinkertest"
	"github.com/tinkex-go/tinkex/types"
)

// The -members mode: N member processes (this binary again, told what to be
// by envFleetMember) form one fleet with protoactor's automanaged provider
// on loopback and sample config A from the demo's embedded fake; the demo
// injects 429s into A and shows each member's view of A's backoff and
// leases. Its summary checks fleet_backoff_propagation: every injected 429
// reached every member's limiter within fleetPropagationBound.

// envFleetMember carries a member's spec (JSON) to a child process.
const envFleetMember = "TINKEX_DEMO_FLEET_MEMBER"

// fleetPropagationBound is the invariant's bound on "a 429 on one member
// stops the others" (the members report every fleetReportEvery).
const (
	fleetPropagationBound = time.Second
	fleetReportEvery      = 50 * time.Millisecond
)

type memberSpec struct {
	Index       int      `json:"index"`
	Cluster     string   `json:"cluster"`
	Bind        string   `json:"bind"`
	Health      int      `json:"health"`
	Hosts       []string `json:"hosts"`
	BaseURL     string   `json:"base_url"`
	Key         string   `json:"key"`
	Concurrency int      `json:"concurrency"`
}

// memberReport is one member's view, printed every fleetReportEvery.
type memberReport struct {
	Index     int     `json:"index"`
	Address   string  `json:"address"`
	Members   int     `json:"members"`
	BackoffMS float64 `json:"backoff_ms"`
	Slots     int     `json:"slots"`
	Bound     int     `json:"bound"`
	Degraded  bool    `json:"degraded"`
	OK        int64   `json:"ok"`
	Errors    int64   `json:"errors"`
}

// fleetMemberMain is a child process: it samples A until stdin closes.
func fleetMemberMain(ctx context.Context, raw string, stdin io.Reader, stdout, stderr io.Writer) int {
	var spec memberSpec
	if err := json.Unmarshal([]byte(raw), &spec); err != nil {
		fmt.Fprintln(stderr, "demo member:", err)
		return 2
	}
	if err := runFleetMember(ctx, spec, stdin, stdout); err != nil {
		fmt.Fprintln(stderr, "demo member:", err)
		return 2
	}
	return 0
}

func runFleetMember(ctx context.Context, spec memberSpec, stdin io.Reader, stdout io.Writer) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	rt, err := tinkex.Start(ctx, tinkex.WithCluster(spec.Cluster, spec.Bind, cluster.Automanaged(spec.Health, spec.Hosts...),
		cluster.WithRenewInterval(50*time.Millisecond), cluster.WithLeaseTTL(time.Second)))
	if err != nil {
		return err
	}
	defer func() {
		stopCtx, c := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer c()
		_ = rt.Stop(stopCtx)
	}()
	svc, err := rt.NewServiceClient(ctx, tinkex.WithAPIKey(spec.Key), tinkex.WithBaseURL(spec.BaseURL), tinkex.WithTelemetry(false))
	if err != nil {
		return err
	}
	sc, err := svc.CreateSamplingClient(ctx, tinkex.WithBaseModel("meta-llama/Llama-3.2-1B"))
	if err != nil {
		return err
	}
	k, err := registry.NewKey(spec.BaseURL, spec.Key)
	if err != nil {
		return err
	}
	lim, err := inspect.Registry(rt).Limiter(ctx, k)
	if err != nil {
		return err
	}
	go func() { // stdin closing is the parent's stop
		_, _ = io.Copy(io.Discard, stdin)
		cancel()
	}()
	var ok, errs atomic.Int64
	var wg sync.WaitGroup
	params := tinkex.DefaultSamplingParams()
	maxTokens := 4
	params.MaxTokens = &maxTokens
	for range spec.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				if _, err := sc.Sample(ctx, tinkex.ModelInputFromInts([]int{1, 2, 3}), 1, params); err == nil {
					ok.Add(1)
				} else if ctx.Err() == nil {
					errs.Add(1)
				}
			}
		}()
	}
	enc := json.NewEncoder(stdout)
	t := time.NewTicker(fleetReportEvery)
	defer t.Stop()
	for ctx.Err() == nil {
		select {
		case <-ctx.Done():
		case <-t.C:
			st := rt.Cluster().Status()
			r := memberReport{Index: spec.Index, Address: st.Address, Members: len(st.Members), OK: ok.Load(), Errors: errs.Load(),
				BackoffMS: float64(lim.BackoffRemaining().Microseconds()) / 1000}
			for _, c := range st.Configs {
				if c.Fingerprint == k.Fingerprint() {
					r.Slots, r.Bound, r.Degraded = c.Slots, c.BoundSlots, c.Degraded
				}
			}
			_ = enc.Encode(r)
		}
	}
	wg.Wait()
	return nil
}

// fleetSummary is the -members run's result.
type fleetSummary struct {
	Members      int            `json:"members"`
	Injected     int            `json:"injected_429s"`
	Propagation  []float64      `json:"propagation_ms"` // per 429: until the last member showed the backoff
	Final        []memberReport `json:"final"`
	Invariants   []invariant    `json:"invariants"`
	OK           bool           `json:"ok"`
	ServerPeak   int            `json:"server_peak_concurrent_submits_a"`
	FleetBudget  int            `json:"fleet_budget"`
	ServerErrors int            `json:"member_errors"`
}

type member struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	last  atomic.Pointer[memberReport]
	done  chan struct{}
}

func fleetMain(ctx context.Context, cfg config, stdout, stderr io.Writer) int {
	s, err := runFleet(ctx, cfg, stdout, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "demo:", err)
		return 2
	}
	if !s.OK {
		return 1
	}
	return 0
}

func runFleet(ctx context.Context, cfg config, stdout, stderr io.Writer) (fleetSummary, error) {
	s := fleetSummary{Members: cfg.Members, FleetBudget: 400}
	srv := tinkertest.NewServer()
	defer srv.Close()
	self, err := os.Executable()
	if err != nil {
		return s, err
	}
	ports := make([][2]int, cfg.Members)
	var hosts []string
	for i := range ports {
		for j := range ports[i] {
			if ports[i][j], err = freePort(); err != nil {
				return s, err
			}
		}
		hosts = append(hosts, "127.0.0.1:"+strconv.Itoa(ports[i][1]))
	}
	members := make([]*member, cfg.Members)
	for i := range members {
		spec, _ := json.Marshal(memberSpec{Index: i, Cluster: fmt.Sprintf("tinkex-demo-%d", os.Getpid()),
			Bind: "127.0.0.1:" + strconv.Itoa(ports[i][0]), Health: ports[i][1], Hosts: hosts,
			BaseURL: srv.URL(), Key: cfg.APIKey, Concurrency: max(1, cfg.Concurrency/cfg.Members)})
		m := &member{cmd: exec.Command(self), done: make(chan struct{})}
		m.cmd.Env = append(os.Environ(), envFleetMember+"="+string(spec))
		m.cmd.Stderr = io.Discard
		out, err := m.cmd.StdoutPipe()
		if err != nil {
			return s, err
		}
		if m.stdin, err = m.cmd.StdinPipe(); err != nil {
			return s, err
		}
		if err := m.cmd.Start(); err != nil {
			return s, err
		}
		members[i] = m
		go func() {
			defer close(m.done)
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				var r memberReport
				if json.Unmarshal(sc.Bytes(), &r) == nil {
					m.last.Store(&r)
				}
			}
			_ = m.cmd.Wait()
		}()
	}
	defer func() {
		for _, m := range members {
			_ = m.stdin.Close()
		}
		for _, m := range members {
			select {
			case <-m.done:
			case <-time.After(30 * time.Second):
				_ = m.cmd.Process.Kill()
				<-m.done
			}
		}
	}()
	lastNote, lastDraw := "", time.Time{}
	view := func(note string) {
		// Live: redraw at most every 200 ms; plain: one table per new note.
		if cfg.JSON || cfg.Live && time.Since(lastDraw) < 200*time.Millisecond && note != "done" || !cfg.Live && note == lastNote {
			return
		}
		lastNote, lastDraw = note, time.Now()
		var b strings.Builder
		if cfg.Live {
			b.WriteString("\x1b[H\x1b[2J")
		}
		fmt.Fprintf(&b, "fleet of %d members, config A (%s) — %s\n", cfg.Members, types.KeyFingerprint(cfg.APIKey), note)
		fmt.Fprintf(&b, "%-8s %-22s %8s %12s %10s %9s %8s %7s\n", "member", "address", "members", "A backoff", "A lease", "degraded", "ok", "errors")
		for i, m := range members {
			r := m.last.Load()
			if r == nil {
				fmt.Fprintf(&b, "%-8d %-22s\n", i, "joining")
				continue
			}
			fmt.Fprintf(&b, "%-8d %-22s %8d %10.0fms %5d/%-4d %9v %8d %7d\n", i, r.Address, r.Members, r.BackoffMS, r.Slots, r.Bound, r.Degraded, r.OK, r.Errors)
		}
		fmt.Fprint(stdout, b.String())
	}
	joined := func() bool {
		for _, m := range members {
			r := m.last.Load()
			if r == nil || r.Members != cfg.Members || r.Slots == 0 || r.Degraded {
				return false
			}
		}
		return true
	}
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	deadline := time.Now().Add(60 * time.Second)
	for !joined() {
		select {
		case <-ctx.Done():
			return s, ctx.Err()
		case <-tick.C:
		}
		if time.Now().After(deadline) {
			return s, fmt.Errorf("the %d members did not form a fleet within a minute", cfg.Members)
		}
		view("joining")
	}
	srv.ResetPeak(cfg.APIKey, tinkertest.EndpointAsample)
	// The fault schedule: one 429 (Retry-After 1 s) on A every quarter of
	// the run, seen by whichever member submits next.
	every := cfg.Duration / 4
	end := time.Now().Add(cfg.Duration)
	for time.Now().Before(end) && ctx.Err() == nil {
		// Each 429 starts from a fleet with no backoff left, so "a member
		// shows a backoff" can only mean this 429's.
		for !allClear(members) && time.Now().Before(end) && ctx.Err() == nil {
			select {
			case <-ctx.Done():
			case <-time.After(fleetReportEvery / 2):
			}
		}
		if !time.Now().Before(end) {
			break
		}
		before := srv.Count(tinkertest.Match{Key: cfg.APIKey, Endpoint: tinkertest.EndpointAsample, Status: 429})
		srv.Inject(tinkertest.Fault{Key: cfg.APIKey, Endpoint: tinkertest.EndpointAsample, Status: 429, RetryAfter: "1", Times: 1})
		s.Injected++
		hit, lastSeen := time.Time{}, time.Time{}
		seen := make([]bool, len(members))
		for wait := time.Now().Add(every); time.Now().Before(wait) && ctx.Err() == nil; {
			select {
			case <-ctx.Done():
			case <-time.After(fleetReportEvery / 2):
			}
			if hit.IsZero() && srv.Count(tinkertest.Match{Key: cfg.APIKey, Endpoint: tinkertest.EndpointAsample, Status: 429}) > before {
				hit = time.Now()
			}
			if !hit.IsZero() && lastSeen.IsZero() {
				all := true
				for i, m := range members {
					if r := m.last.Load(); r != nil && r.BackoffMS > 0 {
						seen[i] = true
					}
					all = all && seen[i]
				}
				if all {
					lastSeen = time.Now()
					s.Propagation = append(s.Propagation, ms(lastSeen.Sub(hit)))
				}
			}
			view(fmt.Sprintf("429 #%d injected", s.Injected))
		}
		if lastSeen.IsZero() {
			s.Propagation = append(s.Propagation, -1)
		}
	}
	_, s.ServerPeak = srv.InFlight(cfg.APIKey, tinkertest.EndpointAsample)
	for _, m := range members {
		if r := m.last.Load(); r != nil {
			s.Final = append(s.Final, *r)
			s.ServerErrors += int(r.Errors)
		}
	}
	worst := 0.0
	okProp := len(s.Propagation) > 0
	for _, p := range s.Propagation {
		okProp = okProp && p >= 0 && p <= ms(fleetPropagationBound)
		worst = max(worst, p)
	}
	s.Invariants = []invariant{
		{Name: "fleet_backoff_propagation", OK: okProp, Detail: fmt.Sprintf("%d injected 429s on A; each reached all %d members within %.0f ms (bound %s, members report every %s)",
			len(s.Propagation), cfg.Members, worst, fleetPropagationBound, fleetReportEvery)},
		{Name: "fleet_budget", OK: s.ServerPeak <= s.FleetBudget, Detail: fmt.Sprintf("peak concurrent submits of A at the server %d, fleet budget %d", s.ServerPeak, s.FleetBudget)},
		{Name: "no_lost_requests", OK: s.ServerErrors == 0, Detail: fmt.Sprintf("%d member sampling errors", s.ServerErrors)},
	}
	s.OK = true
	for _, inv := range s.Invariants {
		s.OK = s.OK && inv.OK
	}
	if cfg.JSON {
		return s, json.NewEncoder(stdout).Encode(s)
	}
	view("done")
	fmt.Fprintln(stdout, "\nInvariants")
	for _, inv := range s.Invariants {
		mark := "ok  "
		if !inv.OK {
			mark = "FAIL"
		}
		fmt.Fprintf(stdout, "  %s %s: %s\n", mark, inv.Name, inv.Detail)
	}
	return s, nil
}

// allClear reports whether no member shows a backoff of A.
func allClear(members []*member) bool {
	for _, m := range members {
		if r := m.last.Load(); r == nil || r.BackoffMS > 0 {
			return false
		}
	}
	return true
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

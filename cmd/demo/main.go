// Command demo is the first thing to run: it starts a tinkex runtime and an
// embedded fake Tinker server, trains and samples on two configs (A and B)
// at once, injects faults into A on a schedule, and shows the supervision
// tree, the per-config limiters and the events as A fails and recovers
// while B keeps going. At the end it prints a summary and checks the
// invariants; it exits 0 only when they all hold.
//
//	go run ./cmd/demo                 # live view on a terminal, ~20 s
//	go run ./cmd/demo -duration 5s -json
//
// With TINKER_API_KEY set (or -api-key), it runs a small workload against
// that server instead, without faults, after saying what it will do.
// See README.md for the flags and the -json schema.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"golang.org/x/term"

	"github.com/tinkex-go/tinkex/types"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		// After the first Ctrl-C the run winds down and prints its summary;
		// a second one kills the process as usual.
		<-ctx.Done()
		stop()
	}()
	fd := int(os.Stdout.Fd())
	tty := term.IsTerminal(fd)
	height := func() int {
		if _, h, err := term.GetSize(fd); err == nil {
			return h
		}
		return 0
	}
	code := mainCode(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr, tty, height)
	stop()
	os.Exit(code)
}

// mainCode runs the demo and returns the exit code: 0 when every invariant
// holds, 1 when one fails, 2 for a bad command line or a run that could
// not start. tty says whether stdout is a terminal (live view) and height
// reports its rows (0 when unknown).
func mainCode(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer,
	tty bool, height func() int) int {
	if spec := getenv(envFleetMember); spec != "" {
		return fleetMemberMain(ctx, spec, stdin, stdout, stderr)
	}
	cfg, err := parseConfig(args, getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "demo:", err)
		return 2
	}
	cfg.Live = cfg.Live && tty
	cfg.Height = height
	if cfg.Members > 0 {
		return fleetMain(ctx, cfg, stdout, stderr)
	}
	if cfg.realServer() {
		if err := confirm(cfg, stdin, stderr, tty); err != nil {
			fmt.Fprintln(stderr, "demo:", err)
			return 2
		}
	}
	s, err := run(ctx, cfg, stdout, stderr)
	if err != nil {
		msg, leaked := scrub(err.Error(), cfg)
		fmt.Fprintln(stderr, "demo:", msg)
		if leaked {
			fmt.Fprintln(stderr, "demo: BUG: that error contained an API key (replaced by its fingerprint above)")
		}
		return 2
	}
	if !s.OK {
		return 1
	}
	return 0
}

// confirm says what a run against a real server will do and, unless -yes,
// asks on a terminal (and refuses without one).
func confirm(cfg config, stdin io.Reader, stderr io.Writer, tty bool) error {
	steps, samples := fmt.Sprint(cfg.Steps), fmt.Sprint(cfg.Samples)
	if cfg.Steps == 0 {
		steps = "as many as fit in " + cfg.Duration.String()
	}
	if cfg.Samples == 0 {
		samples = "as many as fit in " + cfg.Duration.String()
	}
	faults := "No faults are injected."
	if cfg.Faults {
		faults = "-faults: 429/5xx/400 responses are injected by the demo's own transport (not sent), and client actors are crashed."
	}
	fmt.Fprintf(stderr, `WARNING: this run talks to a real Tinker server and may be billed.
  server:  %s
  keys:    A %s, B %s (fingerprints)
  it will: create 2 sessions, 2 LoRA models (rank 8) on %s and 2 sampling sessions;
           run %s training steps (forward_backward + optim_step on 2 tiny sequences) per model;
           draw %s samples of at most 8 tokens per client, %d at a time; unload the models at the end.
  %s
`, cfg.BaseURL, types.KeyFingerprint(cfg.APIKey), types.KeyFingerprint(cfg.APIKeyB), cfg.Model, steps, samples, cfg.Concurrency, faults)
	if cfg.Yes {
		return nil
	}
	if !tty {
		return errors.New("not a terminal: pass -yes to confirm a run against a real server")
	}
	fmt.Fprint(stderr, "Continue? [y/N] ")
	line, _ := bufio.NewReader(stdin).ReadString('\n')
	if a := strings.ToLower(strings.TrimSpace(line)); a != "y" && a != "yes" {
		return errDeclined
	}
	return nil
}

// scrub replaces the keys in a message printed outside the scanned
// writers, and reports whether there was one (a bug worth saying aloud).
func scrub(s string, cfg config) (string, bool) {
	leaked := false
	for _, k := range []string{cfg.APIKey, cfg.APIKeyB} {
		if k != "" && strings.Contains(s, k) {
			s, leaked = strings.ReplaceAll(s, k, "[key "+types.KeyFingerprint(k)+"]"), true
		}
	}
	return s, leaked
}

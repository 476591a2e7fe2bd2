package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/tinkex-go/tinkex/types"
)

// Environment variables the demo reads (the same ones tinkex reads).
const (
	envAPIKey  = "TINKER_API_KEY"
	envBaseURL = "TINKER_BASE_URL"
	envAPIKeyB = "TINKER_API_KEY_B"
)

// config is one run of the demo, from flags and the environment.
type config struct {
	Duration    time.Duration
	BaseURL     string // "" = embedded fake server
	APIKey      string // config A's key
	APIKeyB     string // config B's key; defaults to APIKey against a server
	Faults      bool   // inject the fault schedule
	JSON        bool   // print the summary as one JSON object
	Live        bool   // redraw a live view in place (stdout is a terminal)
	MetricsAddr string
	Model       string
	Concurrency int // concurrent sampling requests per client
	Steps       int // training steps per client; 0 = until the end of the run
	Samples     int // sampling requests per client; 0 = until the end of the run
	Yes         bool
	// Members > 0 runs the fleet demo (fleet.go): that many member
	// processes sharing config A's limits through the cluster.
	Members int
	// Embedded is true when the demo runs its own tinkertest server.
	Embedded bool
	// Height reports the terminal's rows for the live view (nil or 0:
	// unknown).
	Height func() int
}

// usageError is a bad command line; main exits 2 for it.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// parseConfig reads the flags in args and the environment through getenv.
// With no flags and no TINKER_API_KEY it configures the default run: the
// embedded fake, two generated keys, faults on. With a key (flag or
// environment) it targets a real server with a small workload and no
// faults unless -faults is given.
func parseConfig(args []string, getenv func(string) string, stderr io.Writer) (config, error) {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c config
	fs.DurationVar(&c.Duration, "duration", 20*time.Second, "how long the workload runs (the fault schedule is spread over it)")
	fs.StringVar(&c.BaseURL, "base-url", "", "Tinker server to use instead of the embedded fake (default $"+envBaseURL+" when $"+envAPIKey+" is set)")
	fs.StringVar(&c.APIKey, "api-key", "", "API key of config A (default $"+envAPIKey+"); setting one targets a real server")
	fs.StringVar(&c.APIKeyB, "api-key-b", "", "API key of config B (default $"+envAPIKeyB+", else the key of A)")
	faults := fs.Bool("faults", false, "inject the fault schedule against -base-url too (only for a fake server such as cmd/tinkerfake)")
	fs.BoolVar(&c.JSON, "json", false, "print the end-of-run summary as one JSON object on stdout (events go to stderr)")
	plain := fs.Bool("plain", false, "one log line per event even when stdout is a terminal")
	fs.StringVar(&c.MetricsAddr, "metrics-addr", "", "serve Prometheus /metrics on this address during the run, e.g. 127.0.0.1:9464")
	fs.StringVar(&c.Model, "model", "meta-llama/Llama-3.2-1B", "base model to train and sample")
	fs.IntVar(&c.Concurrency, "concurrency", 0, "concurrent sampling requests per client (default 100 on the fake, 2 on a server)")
	var steps, samples optionalInt
	fs.Var(&steps, "steps", "run `n` training steps per client, 0 = until the end (default 0 on the fake, 2 on a server)")
	fs.Var(&samples, "samples", "send `n` sampling requests per client, 0 = until the end (default 0 on the fake, 4 on a server)")
	fs.BoolVar(&c.Yes, "yes", false, "do not ask before sending requests to a real server")
	fs.IntVar(&c.Members, "members", 0, "run `n` member processes sharing config A's backoff and budget through the cluster (embedded fake only)")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `Usage: go run ./cmd/demo [flags]

Runs two configs (A and B) against an embedded fake Tinker server, injects
faults into A and shows the supervision tree recover while B keeps going.
Exits 0 when every end-of-run invariant holds. See docs/demo.md.

`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, &usageError{fmt.Sprintf("unexpected arguments %q", fs.Args())}
	}
	if c.Duration <= 0 {
		return c, &usageError{"-duration must be positive"}
	}
	if c.APIKey == "" {
		c.APIKey = getenv(envAPIKey)
	}
	if c.BaseURL == "" && c.APIKey != "" {
		c.BaseURL = getenv(envBaseURL)
	}
	if c.APIKeyB == "" {
		c.APIKeyB = getenv(envAPIKeyB)
	}
	c.Embedded = c.BaseURL == "" && c.APIKey == ""
	// A real key means a real server: a small, cheap workload. Without one
	// (the embedded fake, or a fake such as cmd/tinkerfake, which takes any
	// well-formed key) the demo makes its own keys and the full workload.
	real := c.APIKey != ""
	switch {
	case c.Embedded:
		if c.APIKeyB != "" {
			return c, &usageError{"-api-key-b needs -api-key or -base-url"}
		}
		c.APIKey, c.APIKeyB = newDemoKey("A"), newDemoKey("B")
		c.Faults = true
	case !real:
		if c.APIKeyB != "" {
			return c, &usageError{"-api-key-b needs -api-key"}
		}
		c.APIKey, c.APIKeyB = newDemoKey("A"), newDemoKey("B")
		c.Faults = *faults
	default:
		if c.APIKeyB == "" {
			c.APIKeyB = c.APIKey
		}
		c.Faults = *faults
	}
	if c.Concurrency == 0 {
		c.Concurrency = pick(real, 2, 100)
	}
	c.Steps, c.Samples = steps.or(pick(real, 2, 0)), samples.or(pick(real, 4, 0))
	if c.Steps < 0 || c.Samples < 0 {
		return c, &usageError{"-steps and -samples must not be negative"}
	}
	if c.Faults && c.APIKey == c.APIKeyB {
		return c, &usageError{"-faults needs two configs: give -api-key-b too (the faults target A while B keeps going)"}
	}
	if c.Concurrency < 1 {
		return c, &usageError{"-concurrency must be at least 1"}
	}
	if c.Members < 0 || c.Members > 9 || c.Members > 0 && !c.Embedded {
		return c, &usageError{"-members takes 1 to 9 and runs against the embedded fake only"}
	}
	if real && c.BaseURL == "" {
		c.BaseURL = types.DefaultBaseURL
	}
	c.Live = !*plain
	return c, nil
}

func pick(real bool, onServer, onFake int) int {
	if real {
		return onServer
	}
	return onFake
}

// demoKeyPrefix starts the keys the demo makes for fake servers.
const demoKeyPrefix = "tml-demo"

// newDemoKey makes a fresh fake-server key; it is random so that finding
// it in the output proves a leak.
func newDemoKey(label string) string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return demoKeyPrefix + strings.ToLower(label) + "-" + hex.EncodeToString(b)
}

// realServer reports whether the run uses a key the demo did not make, so
// a real server: then it warns and asks before starting.
func (c config) realServer() bool { return !c.Embedded && !strings.HasPrefix(c.APIKey, demoKeyPrefix) }

// errDeclined is returned when the user does not confirm a real run.
var errDeclined = errors.New("not confirmed; nothing was sent")

// optionalInt is an int flag whose default depends on other flags.
type optionalInt struct {
	v   int
	set bool
}

func (o *optionalInt) String() string {
	if o == nil || !o.set {
		return ""
	}
	return strconv.Itoa(o.v)
}

func (o *optionalInt) Set(s string) error {
	n, err := strconv.Atoi(s)
	if err != nil {
		return errors.New("not an integer")
	}
	o.v, o.set = n, true
	return nil
}

// or is the value, or def when the flag was not given.
func (o *optionalInt) or(def int) int {
	if o.set {
		return o.v
	}
	return def
}

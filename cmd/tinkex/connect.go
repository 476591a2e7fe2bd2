package main

import (
	"context"
	"errors"
	"flag"
	"log/slog"
	"strings"
	"time"

	"github.com/tinkex-go/tinkex"
	"github.com/tinkex-go/tinkex/types"
)

// Environment variables the CLI reads (the same ones tinkex reads).
const (
	envAPIKey    = "TINKER_API_KEY"
	envBaseURL   = "TINKER_BASE_URL"
	envProjectID = "TINKER_PROJECT_ID"
	envLog       = "TINKER_LOG"
)

// common holds the flags every command takes.
type common struct {
	apiKey, baseURL string
	json            bool
	maxRetries      int
	retryBudget     time.Duration // the second retry layer (0: off, so a down server fails fast)
	set             bool          // defaults applied
}

// register adds the common flags to fs; values parsed earlier (before the
// command name) are the defaults.
func (o *common) register(fs *flag.FlagSet) {
	if !o.set {
		o.maxRetries, o.set = 3, true
	}
	fs.StringVar(&o.apiKey, "api-key", o.apiKey, "API key (default $"+envAPIKey+")")
	fs.StringVar(&o.baseURL, "base-url", o.baseURL, "server URL (default $"+envBaseURL+", else the production service)")
	fs.BoolVar(&o.json, "json", o.json, "print one JSON document on stdout instead of a table")
	fs.IntVar(&o.maxRetries, "max-retries", o.maxRetries, "HTTP retries per request")
	fs.DurationVar(&o.retryBudget, "retry-budget", o.retryBudget, "how long a failed call is sent again after its HTTP retries (0: not at all)")
}

// session is a connected client, closed by close.
type session struct {
	rt  *tinkex.Runtime
	svc *tinkex.ServiceClient
}

func (s *session) rest() *tinkex.RestClient { return s.svc.Rest() }

// close stops the client and the runtime (bounded, so a dead server cannot
// hold the CLI).
func (s *session) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = s.svc.Close(ctx)
	_ = s.rt.Stop(ctx)
}

// connect checks the key and URL, then starts a runtime and a
// ServiceClient, with a server session only when withSession is set (else
// WithoutSession: the SDK's REST holder, no session, no heartbeat). A
// missing or malformed key or URL is a usage error naming the flag and the
// variable to set.
func (c *cli) connect(ctx context.Context, withSession bool) (*session, error) {
	key := cmpOr(c.common.apiKey, c.getenv(envAPIKey)) // not trimmed: tinkex refuses white space in a key
	if key == "" {
		return nil, usagef("no API key: set %s or pass --api-key", envAPIKey)
	}
	if err := types.ValidateAPIKey(key); err != nil {
		// Its message says what is wrong (white space or a control
		// character at a byte, or the prefix), never the key.
		var te *types.Error
		msg := err.Error()
		if errors.As(err, &te) {
			msg = te.Message
		}
		return nil, usagef("bad API key (from --api-key or %s): %s", envAPIKey, msg)
	}
	c.common.apiKey = key // for scrubbing error messages
	base := strings.TrimSpace(cmpOr(c.common.baseURL, c.getenv(envBaseURL)))
	if base == "" {
		base = types.DefaultBaseURL
	}
	if _, err := types.NormalizeBaseURL(base); err != nil {
		return nil, usagef("bad server URL (from --base-url or %s): %v", envBaseURL, err)
	}
	if c.common.maxRetries < 0 {
		return nil, usagef("--max-retries must be >= 0")
	}
	if c.common.retryBudget < 0 {
		return nil, usagef("--retry-budget must be >= 0")
	}
	logger := slog.New(slog.DiscardHandler)
	if lv := strings.ToLower(c.getenv(envLog)); lv == "debug" || lv == "info" {
		level := slog.LevelInfo
		if lv == "debug" {
			level = slog.LevelDebug
		}
		logger = slog.New(slog.NewTextHandler(c.stderr, &slog.HandlerOptions{Level: level}))
	}
	rt, err := tinkex.Start(ctx, tinkex.WithLogger(logger))
	if err != nil {
		return nil, err
	}
	opts := []tinkex.ServiceOption{tinkex.WithAPIKey(key), tinkex.WithBaseURL(base), tinkex.WithName("tinkex-cli"),
		tinkex.WithMaxRetries(c.common.maxRetries), tinkex.WithCallRetryBudget(c.common.retryBudget), tinkex.WithTelemetry(false), tinkex.WithTags(),
		tinkex.WithProjectID(c.getenv(envProjectID))}
	if !withSession {
		opts = append(opts, tinkex.WithoutSession())
	}
	svc, err := rt.NewServiceClient(ctx, opts...)
	if err != nil {
		stopCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = rt.Stop(stopCtx)
		if types.KindOf(err) == types.KindValidation && !isRemote(err) {
			return nil, usagef("%v", err)
		}
		return nil, err
	}
	return &session{rt: rt, svc: svc}, nil
}

func cmpOr(v, def string) string {
	if v != "" {
		return v
	}
	return def
}

// withSession runs f with a client that has a server session of its own
// (tree: it shows the session's part of the supervision tree).
func (c *cli) withSession(ctx context.Context, f func(s *session) error) error {
	return c.connected(ctx, true, f)
}

// withREST runs f with a client that creates no server session (the REST
// commands: a listing or a download leaves no session behind).
func (c *cli) withREST(ctx context.Context, f func(s *session) error) error {
	return c.connected(ctx, false, f)
}

// connected connects, runs f and closes.
func (c *cli) connected(ctx context.Context, withSession bool, f func(s *session) error) error {
	s, err := c.connect(ctx, withSession)
	if err != nil {
		return err
	}
	defer s.close()
	return f(s)
}

// tinkerPath parses a checkpoint path argument; a bad one is a usage error
// that says what a path looks like.
func tinkerPath(arg string) (types.TinkerPath, error) {
	p, err := types.ParseTinkerPath(arg)
	if err != nil {
		var te *types.Error
		msg := err.Error()
		if errors.As(err, &te) {
			msg = te.Message
		}
		return p, usagef("bad checkpoint path: %s (a path looks like tinker://<run-id>/weights/<name> or tinker://<run-id>/sampler_weights/<name>)", msg)
	}
	return p, nil
}

package main

import (
	"context"
	"fmt"
	"runtime"
	"strings"

	"github.com/tinkex-go/tinkex"
	"github.com/tinkex-go/tinkex/supervisor"
	"github.com/tinkex-go/tinkex/types"
)

func (c *cli) versionCommand() *command {
	return &command{name: "version", summary: "print the tinkex version and the protocol it speaks",
		run: func(_ context.Context, c *cli, args []string) error {
			if len(args) > 0 {
				return usagef("version takes no arguments")
			}
			return c.print(output{
				title: fmt.Sprintf("tinkex %s (Tinker protocol of the Python SDK %s, %s %s/%s)", tinkex.Version, types.ProtocolVersion,
					runtime.Version(), runtime.GOOS, runtime.GOARCH),
				json: map[string]string{"version": tinkex.Version, "protocol_version": types.ProtocolVersion, "go": runtime.Version(),
					"os": runtime.GOOS, "arch": runtime.GOARCH}})
		}}
}

// treeNode is a supervision tree node for --json.
type treeNode struct {
	ID       string     `json:"id"`
	Kind     string     `json:"kind"`
	Strategy string     `json:"strategy,omitempty"`
	Restart  string     `json:"restart"`
	Status   string     `json:"status"`
	Restarts int        `json:"restarts"`
	Children []treeNode `json:"children,omitempty"`
}

func toTreeNode(n supervisor.Node) treeNode {
	t := treeNode{ID: n.ID, Kind: n.Kind.String(), Restart: n.Restart.String(), Status: n.Status.String(), Restarts: n.Restarts}
	if n.Kind == supervisor.KindSupervisor {
		t.Strategy = n.Strategy.String()
	}
	for _, ch := range n.Children {
		t.Children = append(t.Children, toTreeNode(ch))
	}
	return t
}

// limiterState is the limiter of the CLI's config for --json.
type limiterState struct {
	Config           string  `json:"config"`
	BaseURL          string  `json:"base_url"`
	BackoffSeconds   float64 `json:"backoff_remaining_seconds"`
	Throttled        bool    `json:"throttled"`
	Slots            int     `json:"slots"`
	SlotsInUse       int     `json:"slots_in_use"`
	ThrottledSlots   int     `json:"throttled_slots"`
	ThrottledInUse   int     `json:"throttled_slots_in_use"`
	ByteBudget       int64   `json:"byte_budget"`
	BytesInUse       int64   `json:"bytes_in_use"`
	Waiters          int     `json:"waiters"`
	HeartbeatsOK     int64   `json:"heartbeats_ok"`
	HeartbeatsFailed int64   `json:"heartbeats_failed"`
}

func (c *cli) treeCommand() *command {
	return &command{name: "tree", summary: "connect and print the client's supervision tree and limiter state",
		help: "A debugging aid: starts a runtime, connects a ServiceClient (which creates a session) and shows what runs.",
		run: func(ctx context.Context, c *cli, args []string) error {
			if len(args) > 0 {
				return usagef("tree takes no arguments")
			}
			return c.withSession(ctx, func(s *session) error {
				root, err := s.rt.Tree(ctx)
				if err != nil {
					return err
				}
				st := s.svc.LimiterStats()
				ok, failed := s.svc.HeartbeatStats()
				lim := limiterState{Config: st.Identity.Fingerprint, BaseURL: st.Identity.BaseURL, BackoffSeconds: st.BackoffRemaining.Seconds(),
					Throttled: st.Throttled, Slots: st.Slots, SlotsInUse: st.SlotsInUse, ThrottledSlots: st.ThrottledSlots,
					ThrottledInUse: st.ThrottledInUse, ByteBudget: st.ByteBudget, BytesInUse: st.BytesInUse, Waiters: st.Waiters,
					HeartbeatsOK: ok, HeartbeatsFailed: failed}
				if c.common.json {
					return c.print(output{json: map[string]any{"session_id": s.svc.SessionID(), "tree": toTreeNode(root), "limiter": lim}})
				}
				backoff := "none"
				if st.BackoffRemaining > 0 {
					backoff = st.BackoffRemaining.String()
				}
				var sb strings.Builder
				fmt.Fprintf(&sb, "Supervision tree (session %s)\n%s\n", s.svc.SessionID(), strings.TrimRight(root.String(), "\n"))
				fmt.Fprintf(&sb, "\nLimiter of config %s (%s)\n", lim.Config, lim.BaseURL)
				fmt.Fprintf(&sb, "  backoff     %s (throttled: %s)\n", backoff, yesNo(st.Throttled))
				fmt.Fprintf(&sb, "  slots       %d of %d in use (throttled: %d of %d)\n", st.SlotsInUse, st.Slots, st.ThrottledInUse, st.ThrottledSlots)
				fmt.Fprintf(&sb, "  bytes       %s of %s in use\n", humanSize(st.BytesInUse), humanSize(st.ByteBudget))
				fmt.Fprintf(&sb, "  waiters     %d\n", st.Waiters)
				fmt.Fprintf(&sb, "  heartbeats  %d ok, %d failed", ok, failed)
				return c.print(output{title: sb.String()})
			})
		}}
}

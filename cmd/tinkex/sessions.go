package main

import (
	"context"
	"flag"
	"iter"
	"maps"
	"slices"
	"strings"

	"github.com/tinkex-go/tinkex"
)

func (c *cli) sessionGroup() *group {
	return &group{name: "session", summary: "List and inspect sessions.", commands: []*command{sessionList(), sessionInfo()}}
}

// sortedMap yields m's entries in key order.
func sortedMap(m map[string]string) iter.Seq2[string, string] {
	return func(yield func(string, string) bool) {
		for _, k := range slices.Sorted(maps.Keys(m)) {
			if !yield(k, m[k]) {
				return
			}
		}
	}
}

func sessionList() *command {
	var limit int
	var scope string
	return &command{name: "list", summary: "list session ids",
		help: "Note: connecting creates a session of its own (tagged by the tinkex-cli client name), which the list includes.",
		flags: func(fs *flag.FlagSet) {
			fs.IntVar(&limit, "limit", 20, "list at most this many sessions (0 = all)")
			scopeFlag(fs, &scope)
		},
		run: func(ctx context.Context, c *cli, args []string) error {
			if len(args) > 0 {
				return usagef("session list takes no arguments (got %q)", args[0])
			}
			sc, err := parseScope(scope)
			if err != nil {
				return err
			}
			if limit < 0 {
				return usagef("--limit must be >= 0")
			}
			return c.withSession(ctx, func(s *session) error {
				page := 100
				if limit > 0 {
					page = min(limit, 100)
				}
				ids := []string{}
				for id, err := range s.rest().Sessions(ctx, tinkex.WithAccessScope(sc), tinkex.WithPageSize(page)) {
					if err != nil {
						return err
					}
					ids = append(ids, id)
					if limit > 0 && len(ids) == limit {
						break
					}
				}
				o := output{title: plural(len(ids), "session"), columns: []string{"SESSION ID", "THIS CLI"},
					json: map[string]any{"sessions": ids}}
				for _, id := range ids {
					o.rows = append(o.rows, []string{id, map[bool]string{true: "yes", false: ""}[id == s.svc.SessionID()]})
				}
				return c.print(o)
			})
		}}
}

func sessionInfo() *command {
	var scope string
	return &command{name: "info", args: "SESSION_ID", summary: "show a session's training runs and samplers",
		flags: func(fs *flag.FlagSet) { scopeFlag(fs, &scope) },
		run: func(ctx context.Context, c *cli, args []string) error {
			if len(args) != 1 || args[0] == "" {
				return usagef("session info takes one session id, got %d arguments", len(args))
			}
			sc, err := parseScope(scope)
			if err != nil {
				return err
			}
			return c.withSession(ctx, func(s *session) error {
				info, err := s.rest().GetSession(ctx, args[0], tinkex.WithAccessScope(sc))
				if err != nil {
					return err
				}
				none := func(xs []string) string {
					if len(xs) == 0 {
						return "-"
					}
					return strings.Join(xs, ", ")
				}
				return c.print(output{title: "Session " + args[0], columns: []string{"PROPERTY", "VALUE"},
					rows: [][]string{{"Training runs", none(info.TrainingRunIDs)}, {"Samplers", none(info.SamplerIDs)}},
					json: map[string]any{"session_id": args[0], "training_run_ids": orEmpty(info.TrainingRunIDs), "sampler_ids": orEmpty(info.SamplerIDs)}})
			})
		}}
}

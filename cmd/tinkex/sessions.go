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
	l := listFlags{what: "sessions"}
	return &command{name: "list", summary: "list session ids",
		flags: func(fs *flag.FlagSet) { l.register(fs, true) },
		run: func(ctx context.Context, c *cli, args []string) error {
			sc, err := l.check("session list", args)
			if err != nil {
				return err
			}
			return c.withREST(ctx, func(s *session) error {
				ids, err := take(s.rest().Sessions(ctx, tinkex.WithAccessScope(sc), l.pageSize(100)), l.limit)
				if err != nil {
					return err
				}
				o := output{title: plural(len(ids), "session"), columns: []string{"SESSION ID"},
					json: map[string]any{"sessions": ids}}
				for _, id := range ids {
					o.rows = append(o.rows, []string{id})
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
			return c.withREST(ctx, func(s *session) error {
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

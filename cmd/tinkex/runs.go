package main

import (
	"context"
	"flag"
	"fmt"
	"strings"

	"github.com/tinkex-go/tinkex"
)

func (c *cli) runGroup() *group {
	return &group{name: "run", summary: "List and inspect training runs.", commands: []*command{runList(), runInfo()}}
}

// scopeFlag registers --scope.
func scopeFlag(fs *flag.FlagSet, scope *string) {
	fs.StringVar(scope, "scope", string(tinkex.AccessScopeOwned), "whose to show: owned, or accessible (also those shared with you)")
}

func parseScope(s string) (tinkex.AccessScope, error) {
	switch sc := tinkex.AccessScope(s); sc {
	case tinkex.AccessScopeOwned, tinkex.AccessScopeAccessible:
		return sc, nil
	}
	return "", usagef("--scope must be owned or accessible, got %q", s)
}

func lora(r tinkex.TrainingRun) string {
	if !r.IsLoRA {
		return "no"
	}
	if r.LoRARank != nil {
		return fmt.Sprintf("rank %d", *r.LoRARank)
	}
	return "yes"
}

func lastCheckpoint(cp *tinkex.Checkpoint) string {
	if cp == nil {
		return "-"
	}
	return cp.TinkerPath
}

func runList() *command {
	l := listFlags{what: "runs"}
	var project string
	return &command{name: "list", summary: "list training runs",
		flags: func(fs *flag.FlagSet) {
			l.register(fs, true)
			fs.StringVar(&project, "project", "", "list only the runs of this project")
		},
		run: func(ctx context.Context, c *cli, args []string) error {
			sc, err := l.check("run list", args)
			if err != nil {
				return err
			}
			return c.withREST(ctx, func(s *session) error {
				opts := []tinkex.RestOption{tinkex.WithAccessScope(sc), l.pageSize(100)}
				if project != "" {
					opts = append(opts, tinkex.WithProjectFilter(project))
				}
				runs, err := take(s.rest().TrainingRuns(ctx, opts...), l.limit)
				if err != nil {
					return err
				}
				o := output{title: plural(len(runs), "training run"),
					columns: []string{"RUN ID", "BASE MODEL", "LORA", "OWNER", "LAST REQUEST", "CORRUPTED"},
					json:    map[string]any{"training_runs": runs}}
				for _, r := range runs {
					o.rows = append(o.rows, []string{r.TrainingRunID, r.BaseModel, lora(r), r.ModelOwner, when(r.LastRequestTime), yesNo(r.Corrupted)})
				}
				return c.print(o)
			})
		}}
}

func runInfo() *command {
	var scope string
	return &command{name: "info", args: "RUN_ID|PATH", summary: "show one training run (by id, or by a tinker:// path of one of its checkpoints)",
		flags: func(fs *flag.FlagSet) { scopeFlag(fs, &scope) },
		run: func(ctx context.Context, c *cli, args []string) error {
			if len(args) != 1 {
				return usagef("run info takes one training run id or tinker:// path, got %d arguments", len(args))
			}
			sc, err := parseScope(scope)
			if err != nil {
				return err
			}
			id := args[0]
			if strings.HasPrefix(id, "tinker://") {
				p, err := tinkerPath(id)
				if err != nil {
					return err
				}
				id = p.TrainingRunID
			}
			return c.withREST(ctx, func(s *session) error {
				r, err := s.rest().GetTrainingRun(ctx, id, tinkex.WithAccessScope(sc))
				if err != nil {
					return err
				}
				rows := [][]string{{"Run ID", r.TrainingRunID}, {"Base model", r.BaseModel}, {"LoRA", lora(*r)},
					{"Owner", r.ModelOwner}, {"Last request", when(r.LastRequestTime)}, {"Corrupted", yesNo(r.Corrupted)},
					{"Last checkpoint", lastCheckpoint(r.LastCheckpoint)}, {"Last sampler checkpoint", lastCheckpoint(r.LastSamplerCheckpoint)}}
				for k, v := range sortedMap(r.UserMetadata) {
					rows = append(rows, []string{"Metadata " + k, v})
				}
				return c.print(output{title: "Training run " + r.TrainingRunID, columns: []string{"PROPERTY", "VALUE"}, rows: rows, json: r})
			})
		}}
}

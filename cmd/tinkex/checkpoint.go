package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/tinkex-go/tinkex"
	"github.com/tinkex-go/tinkex/types"
)

func (c *cli) checkpointGroup() *group {
	return &group{name: "checkpoint", summary: "List, inspect, download, publish, expire and delete checkpoints.", commands: []*command{
		checkpointList(), checkpointInfo(), checkpointDownload(),
		checkpointPublish("publish", "make checkpoints readable by every key", (*tinkex.RestClient).PublishCheckpoint),
		checkpointPublish("unpublish", "make published checkpoints private again", (*tinkex.RestClient).UnpublishCheckpoint),
		checkpointDelete(), checkpointSetTTL(),
	}}
}

var checkpointColumns = []string{"CHECKPOINT ID", "TYPE", "SIZE", "PUBLIC", "CREATED", "EXPIRES", "PATH"}

func checkpointRow(cp tinkex.Checkpoint) []string {
	return []string{cp.CheckpointID, string(cp.CheckpointType), sizeOf(cp.SizeBytes), yesNo(cp.Public), when(cp.Time),
		expires(cp.ExpiresAt), cp.TinkerPath}
}

func checkpointList() *command {
	l := listFlags{what: "checkpoints across runs"}
	var runID string
	return &command{name: "list", summary: "list checkpoints (of one run with --run-id, else of every run)",
		help: "Without --run-id, lists the checkpoints across all your training runs, --limit at most (0 = all).",
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&runID, "run-id", "", "list the checkpoints of this training run only (all of them)")
			l.register(fs, false)
		},
		run: func(ctx context.Context, c *cli, args []string) error {
			if _, err := l.check("checkpoint list", args); err != nil {
				return err
			}
			return c.withREST(ctx, func(s *session) error {
				seq, limit := s.rest().UserCheckpoints(ctx, l.pageSize(1000)), l.limit
				if runID != "" {
					seq, limit = s.rest().Checkpoints(ctx, runID), 0
				}
				all, err := take(seq, limit)
				if err != nil {
					return err
				}
				doc := map[string]any{"checkpoints": all}
				title := plural(len(all), "checkpoint")
				if runID != "" {
					doc["run_id"] = runID
					title += " of run " + runID
				}
				o := output{title: title, columns: checkpointColumns, json: doc}
				for _, cp := range all {
					o.rows = append(o.rows, checkpointRow(cp))
				}
				return c.print(o)
			})
		}}
}

func orEmpty[T any](xs []T) []T {
	if xs == nil {
		return []T{}
	}
	return xs
}

// notFound adds to a "no such checkpoint" error how to see which there are.
func notFound(err error, p types.TinkerPath) error {
	if errors.Is(err, types.ErrNotFound) {
		return fmt.Errorf("%w (see the run's checkpoints: tinkex checkpoint list --run-id %s)", err, p.TrainingRunID)
	}
	return err
}

// onePath checks that args is one tinker:// path.
func onePath(cmd string, args []string) (types.TinkerPath, error) {
	if len(args) != 1 {
		return types.TinkerPath{}, usagef("checkpoint %s takes one tinker:// path, got %d arguments", cmd, len(args))
	}
	return tinkerPath(args[0])
}

func checkpointInfo() *command {
	return &command{name: "info", args: "PATH", summary: "show one checkpoint and its training run",
		run: func(ctx context.Context, c *cli, args []string) error {
			p, err := onePath("info", args)
			if err != nil {
				return err
			}
			return c.withREST(ctx, func(s *session) error {
				cp, err := s.rest().GetCheckpoint(ctx, p.String())
				if err != nil {
					return notFound(err, p)
				}
				run, err := s.rest().GetTrainingRun(ctx, p.TrainingRunID)
				if err != nil {
					return err
				}
				lora := "no"
				if run.IsLoRA {
					lora = "yes"
					if run.LoRARank != nil {
						lora = fmt.Sprintf("yes (rank %d)", *run.LoRARank)
					}
				}
				return c.print(output{title: "Checkpoint " + cp.TinkerPath, columns: []string{"PROPERTY", "VALUE"},
					rows: [][]string{
						{"Checkpoint ID", cp.CheckpointID}, {"Type", string(cp.CheckpointType)}, {"Path", cp.TinkerPath},
						{"Size", sizeOf(cp.SizeBytes)}, {"Public", yesNo(cp.Public)}, {"Created", when(cp.Time)},
						{"Expires", expires(cp.ExpiresAt)}, {"Training run", run.TrainingRunID}, {"Base model", run.BaseModel},
						{"LoRA", lora},
					},
					json: map[string]any{"checkpoint": cp, "training_run": run}})
			})
		}}
}

// defaultArchiveName is where a download goes without -o:
// <run>_<kind>_<name>.tar, as the SDK names its directory.
func defaultArchiveName(p types.TinkerPath) string {
	return strings.NewReplacer("/", "_", ":", "_").Replace(p.TrainingRunID+"/"+p.CheckpointID) + ".tar"
}

func checkpointDownload() *command {
	var out string
	var force, extract bool
	return &command{name: "download", args: "PATH", summary: "download a checkpoint's archive (a tar file), or --extract it",
		help: `Writes the archive to -o (a file, or a directory to put <run>_<kind>_<name>.tar in;
default: that name in the current directory). With --extract, unpacks it
instead into the directory <run>_<kind>_<name> under -o (default: the current
directory), as the Python SDK's CLI does; only plain files and directories
inside it are accepted. Everything is written under a temporary name next to
the destination and renamed when complete, so an interrupted download leaves
nothing under the final name. A progress bar is shown when stdout is a
terminal.`,
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&out, "o", "", "destination file or directory")
			fs.StringVar(&out, "output", "", "same as -o")
			fs.BoolVar(&force, "force", false, "replace the destination if it exists")
			fs.BoolVar(&extract, "extract", false, "unpack the archive into a directory instead of keeping the tar file")
		},
		run: func(ctx context.Context, c *cli, args []string) error {
			p, err := onePath("download", args)
			if err != nil {
				return err
			}
			name := defaultArchiveName(p)
			dest := name
			switch {
			case extract:
				dest = filepath.Join(out, strings.TrimSuffix(name, ".tar"))
			case out != "":
				dest = out
				if fi, err := os.Stat(out); err == nil && fi.IsDir() {
					dest = filepath.Join(out, name)
				}
			}
			if _, err := os.Stat(dest); err == nil && !force {
				return usagef("%s exists: pass --force to replace it, or -o to choose another place", dest)
			}
			if fi, err := os.Stat(filepath.Dir(dest)); err != nil || !fi.IsDir() {
				return usagef("cannot write %s: directory %s does not exist", dest, filepath.Dir(dest))
			}
			return c.withREST(ctx, func(s *session) error {
				var opts []tinkex.RestOption
				bar := &progressBar{w: c.stdout, label: "downloading"}
				if c.tty && !c.common.json {
					opts = append(opts, tinkex.WithProgress(bar.update))
				}
				var n int64
				files := 0
				if extract {
					n, files, err = downloadAndExtract(ctx, s.rest(), p.String(), dest, force, opts)
				} else {
					n, err = s.rest().DownloadCheckpointToFile(ctx, p.String(), dest, opts...)
				}
				bar.finish()
				if err != nil {
					if errors.Is(err, tinkex.ErrCanceled) {
						return fmt.Errorf("download of %s interrupted; nothing was written to %s", p, dest)
					}
					return notFound(err, p)
				}
				abs, _ := filepath.Abs(dest)
				doc := map[string]any{"checkpoint_path": p.String(), "destination": abs, "size_bytes": n}
				rows := [][]string{{"Archive", abs}, {"Size", humanSize(n)}}
				if extract {
					doc["files"] = files
					rows = [][]string{{"Extracted to", abs}, {"Files", fmt.Sprint(files)}, {"Archive size", humanSize(n)}}
				}
				return c.print(output{title: "Downloaded " + p.String(), columns: []string{"PROPERTY", "VALUE"}, rows: rows, json: doc})
			})
		}}
}

// downloadAndExtract downloads the archive to a temporary file next to dir
// and unpacks it into dir (replacing an existing one when replace), then
// removes the archive.
func downloadAndExtract(ctx context.Context, rest *tinkex.RestClient, path, dir string, replace bool, opts []tinkex.RestOption) (int64, int, error) {
	tmp, err := os.CreateTemp(filepath.Dir(dir), "."+filepath.Base(dir)+".*.tar.part")
	if err != nil {
		return 0, 0, fmt.Errorf("cannot create a file in %s: %w", filepath.Dir(dir), err)
	}
	defer os.Remove(tmp.Name())
	n, err := rest.DownloadCheckpoint(ctx, path, tmp, opts...)
	if cerr := tmp.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("cannot write %s: %w", tmp.Name(), cerr)
	}
	if err != nil {
		return n, 0, err
	}
	files, err := extractTar(tmp.Name(), dir, replace)
	if err != nil {
		return n, 0, fmt.Errorf("cannot unpack %s: %w", path, err)
	}
	return n, files, nil
}

// paths checks that args are one or more tinker:// paths.
func paths(cmd string, args []string) ([]types.TinkerPath, error) {
	if len(args) == 0 {
		return nil, usagef("checkpoint %s takes one or more tinker:// paths", cmd)
	}
	var ps []types.TinkerPath
	for _, a := range args {
		p, err := tinkerPath(a)
		if err != nil {
			return nil, err
		}
		ps = append(ps, p)
	}
	return ps, nil
}

func checkpointPublish(name, summary string, do func(*tinkex.RestClient, context.Context, string) error) *command {
	return &command{name: name, args: "PATH...", summary: summary,
		run: func(ctx context.Context, c *cli, args []string) error {
			ps, err := paths(name, args)
			if err != nil {
				return err
			}
			return c.withREST(ctx, func(s *session) error {
				return c.eachPath(ps, name+"ed", func(p string) error { return do(s.rest(), ctx, p) })
			})
		}}
}

// eachPath applies f to every path, printing one line per path (or, with
// --json, {"<verb>": [paths]}); it stops at the first failure.
func (c *cli) eachPath(ps []types.TinkerPath, verb string, f func(string) error) error {
	done := []string{}
	for _, p := range ps {
		if err := notFound(f(p.String()), p); err != nil {
			if len(done) > 0 && !c.common.json {
				fmt.Fprintf(c.stderr, "%s: %s before the failure: %s\n", programName, verb, strings.Join(done, ", "))
			}
			return err
		}
		done = append(done, p.String())
		if !c.common.json {
			fmt.Fprintf(c.stdout, "%s %s\n", verb, p)
		}
	}
	if c.common.json {
		return c.print(output{json: map[string]any{verb: done}})
	}
	return nil
}

func checkpointDelete() *command {
	var yes bool
	return &command{name: "delete", args: "PATH...", summary: "delete checkpoints for good",
		help: "Asks for confirmation on a terminal; pass --yes to skip it (required when stdin is not a terminal).",
		flags: func(fs *flag.FlagSet) {
			fs.BoolVar(&yes, "yes", false, "do not ask for confirmation")
			fs.BoolVar(&yes, "y", false, "same as --yes")
		},
		run: func(ctx context.Context, c *cli, args []string) error {
			ps, err := paths("delete", args)
			if err != nil {
				return err
			}
			if !yes {
				if !c.ttyIn {
					return usagef("checkpoint delete: pass --yes to delete without a terminal to confirm on")
				}
				fmt.Fprintf(c.stderr, "Delete %s for good? This cannot be undone.\n", plural(len(ps), "checkpoint"))
				for _, p := range ps {
					fmt.Fprintf(c.stderr, "  %s\n", p)
				}
				fmt.Fprint(c.stderr, "Continue? [y/N] ")
				line, _ := bufio.NewReader(c.stdin).ReadString('\n')
				if a := strings.ToLower(strings.TrimSpace(line)); a != "y" && a != "yes" {
					fmt.Fprintln(c.stderr, "nothing deleted")
					return nil
				}
			}
			return c.withREST(ctx, func(s *session) error {
				return c.eachPath(ps, "deleted", func(p string) error { return s.rest().DeleteCheckpoint(ctx, p) })
			})
		}}
}

func checkpointSetTTL() *command {
	var clear bool
	return &command{name: "set-ttl", args: "PATH [TTL]", summary: "make a checkpoint expire after TTL (e.g. 36h), or never with --clear",
		flags: func(fs *flag.FlagSet) {
			fs.BoolVar(&clear, "clear", false, "remove the expiry: keep the checkpoint until deleted")
		},
		run: func(ctx context.Context, c *cli, args []string) error {
			if clear && len(args) != 1 || !clear && len(args) != 2 {
				return usagef("checkpoint set-ttl takes a tinker:// path and a TTL (e.g. 36h, or seconds), or a path and --clear")
			}
			p, err := tinkerPath(args[0])
			if err != nil {
				return err
			}
			var ttl int64
			if !clear {
				d, err := parseTTL(args[1])
				if err != nil {
					return err
				}
				if ttl = int64(d.Seconds()); ttl < 1 {
					return usagef("TTL %s is shorter than one second; use --clear to remove the expiry", args[1])
				}
			}
			return c.withREST(ctx, func(s *session) error {
				if clear {
					err = s.rest().ClearCheckpointTTL(ctx, p.String())
				} else {
					err = s.rest().SetCheckpointTTL(ctx, p.String(), time.Duration(ttl)*time.Second)
				}
				if err != nil {
					return notFound(err, p)
				}
				cp, err := s.rest().GetCheckpoint(ctx, p.String())
				if err != nil {
					return err
				}
				return c.print(output{title: "Checkpoint " + p.String() + " expires: " + expires(cp.ExpiresAt),
					json: map[string]any{"checkpoint": cp}})
			})
		}}
}

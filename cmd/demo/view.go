package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/tinkex-go/tinkex/supervisor"
)

// view shows the run while it happens: on a terminal, a frame redrawn in
// place a few times a second; otherwise a progress line every few seconds
// (the events themselves are logged as they happen by the telemetry
// logger).
type view struct {
	cancel context.CancelFunc
	done   chan struct{}
}

const (
	frameInterval    = 250 * time.Millisecond
	progressInterval = 2 * time.Second
	recentEvents     = 10
)

func (d *demo) startView(ctx context.Context) *view {
	ctx, cancel := context.WithCancel(ctx)
	v := &view{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(v.done)
		if d.cfg.Live {
			d.live(ctx)
		} else {
			d.progress(ctx)
		}
	}()
	return v
}

// stop ends the view after one last frame.
func (v *view) stop() {
	v.cancel()
	<-v.done
}

// live redraws the frame in place: the cursor goes back up over the last
// frame and each line is rewritten and cleared to its end.
func (d *demo) live(ctx context.Context) {
	out := d.out
	if d.cfg.JSON {
		out = d.errOut
	}
	tick := time.NewTicker(frameInterval)
	defer tick.Stop()
	lines := 0
	for {
		frame := d.frame(ctx)
		var sb strings.Builder
		if lines > 0 {
			fmt.Fprintf(&sb, "\x1b[%dA", lines)
		}
		for _, l := range frame {
			sb.WriteString("\r" + l + "\x1b[K\n")
		}
		sb.WriteString("\x1b[J")
		_, _ = io.WriteString(out, sb.String())
		lines = len(frame)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// frame renders the live view.
func (d *demo) frame(ctx context.Context) []string {
	var ls []string
	add := func(f string, a ...any) { ls = append(ls, fmt.Sprintf(f, a...)) }
	add("\x1b[1m%s\x1b[0m", d.banner())
	add("elapsed %.1fs of %s   (Ctrl-C stops early; the summary still prints)", d.since().Seconds(), d.cfg.Duration)
	add("\x1b[1mSupervision tree\x1b[0m")
	tctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
	tree, err := d.rt.Tree(tctx)
	cancel()
	if err != nil {
		add("  (tree unavailable: %v)", err)
	} else {
		for _, l := range treeLines(tree, 1) {
			add("%s", l)
		}
	}
	add("\x1b[1mLimiters\x1b[0m (one per config; a 429 backs off only its own)")
	for _, c := range d.clients {
		st := c.svc.LimiterStats()
		backoff := "none"
		if st.BackoffRemaining > 0 {
			backoff = "\x1b[33m" + st.BackoffRemaining.Round(10*time.Millisecond).String() + " left\x1b[0m"
		}
		throttled := ""
		if st.Throttled {
			throttled = fmt.Sprintf("  throttled after a backoff: slots %d/%d", st.ThrottledInUse, st.ThrottledSlots)
		}
		add("  %s  config %s  backoff %-14s slots %d/%d  waiters %d  bursts %d%s", c.label, st.Identity.Fingerprint,
			backoff, st.SlotsInUse, st.Slots, st.Waiters, st.Bursts, throttled)
	}
	add("\x1b[1mProgress\x1b[0m")
	var snaps []clientSnapshot
	for _, c := range d.clients {
		snaps = append(snaps, c.training.snapshot(false), c.sampling.snapshot(false))
	}
	for i, s := range snaps {
		target := d.cfg.Steps
		unit := "steps"
		if i%2 == 1 {
			target, unit = d.cfg.Samples, "samples"
		}
		scale := target
		if scale == 0 {
			for j := i % 2; j < len(snaps); j += 2 {
				scale = max(scale, snaps[j].Units)
			}
		}
		add("  %-11s %s %5d %-7s in flight %3d  errors %d", s.Name, bar(s.Units, scale, 24), s.Units, unit,
			s.Issued-s.Ended, s.Ended-s.OK)
	}
	add("\x1b[1mRecent events\x1b[0m")
	events := recentEvents
	rows := 0
	if d.cfg.Height != nil {
		rows = d.cfg.Height()
	}
	if rows > 0 {
		// Redrawing in place needs the frame to fit: the cursor cannot go
		// back above the top of the screen.
		events = min(events, max(rows-1-len(ls), 0))
	}
	if events > 0 {
		for _, n := range d.obs.recent(events) {
			add("  %6.1fs  %s", n.At.Seconds(), shortenTo(n.Text, 110))
		}
	}
	if rows > 0 && len(ls) > rows-1 {
		ls = ls[:max(rows-1, 1)]
	}
	return ls
}

// treeLines renders a supervision tree with colored statuses.
func treeLines(n supervisor.Node, depth int) []string {
	status := n.Status.String()
	switch n.Status {
	case supervisor.Running:
		status = "\x1b[32m" + status + "\x1b[0m"
	default:
		status = "\x1b[33m" + status + "\x1b[0m"
	}
	restarts := fmt.Sprintf("restarts=%d", n.Restarts)
	if n.Restarts > 0 {
		restarts = "\x1b[31m" + restarts + "\x1b[0m"
	}
	kind := n.Restart.String()
	if n.Kind == supervisor.KindSupervisor {
		kind = n.Strategy.String()
	}
	out := []string{fmt.Sprintf("%s%-*s %-14s %s %s", strings.Repeat("  ", depth), 44-2*depth, shortenTo(n.ID, 44-2*depth), kind, status, restarts)}
	for _, c := range n.Children {
		out = append(out, treeLines(c, depth+1)...)
	}
	return out
}

func bar(n, of, width int) string {
	filled := 0
	if of > 0 {
		filled = min(width, n*width/of)
	}
	return "[" + strings.Repeat("█", filled) + strings.Repeat("░", width-filled) + "]"
}

func shortenTo(s string, limit int) string {
	r := []rune(s)
	if len(r) > limit {
		return string(r[:limit-1]) + "…"
	}
	return s
}

// progress logs one progress line per interval (plain mode).
func (d *demo) progress(ctx context.Context) {
	tick := time.NewTicker(progressInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		args := []any{"elapsed", d.since().Round(100 * time.Millisecond)}
		for _, c := range d.clients {
			t, s := c.training.snapshot(false), c.sampling.snapshot(false)
			st := c.svc.LimiterStats()
			args = append(args, c.label+".steps", t.Units, c.label+".samples", s.Units,
				c.label+".in_flight", s.Issued-s.Ended+t.Issued-t.Ended, c.label+".backoff", st.BackoffRemaining.Round(time.Millisecond))
		}
		d.logger.Info("demo.progress", args...)
	}
}

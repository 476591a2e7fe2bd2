package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/tinkex-go/tinkex"
	"github.com/tinkex-go/tinkex/types"
)

// output is what a command prints: a table for people, a JSON document
// for scripts (--json).
type output struct {
	title   string
	columns []string
	rows    [][]string
	json    any
}

// print writes o as JSON (with --json) or as a titled table. What the
// server sent is printed through clean (tables) or redacted like it (JSON,
// whose encoder already escapes control characters).
func (c *cli) print(o output) error {
	if c.common.json {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetIndent("", "  ")
		if err := enc.Encode(o.json); err != nil {
			return err
		}
		// The key as the encoder wrote it (escaped, when it holds '"', '<'
		// or '&') and anything credential-shaped, as in a table.
		_, err := io.WriteString(c.stdout, types.Redact(buf.String(), c.common.apiKey))
		return err
	}
	if o.title != "" {
		fmt.Fprintln(c.stdout, c.clean(o.title))
	}
	if len(o.rows) == 0 && len(o.columns) > 2 {
		return nil
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
	if len(o.columns) > 0 {
		fmt.Fprintln(tw, strings.Join(o.columns, "\t"))
	}
	for _, r := range o.rows {
		cells := make([]string, len(r))
		for i, cell := range r {
			cells[i] = c.clean(cell)
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	return tw.Flush()
}

// clean makes text that may come from the server fit for a terminal line:
// the key, and anything shaped like a credential, is redacted
// (types.Redact), and control characters (escape sequences that would
// drive the terminal, tabs and newlines that would forge table rows)
// become '?'.
func (c *cli) clean(s string) string {
	s = types.Redact(s, c.common.apiKey)
	if strings.IndexFunc(s, unicode.IsControl) < 0 {
		return s
	}
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return '?'
		}
		return r
	}, s)
}

// plural says "1 checkpoint" or "3 checkpoints".
func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// humanSize prints a byte count in binary units.
func humanSize(n int64) string {
	if n < 1024 {
		return fmt.Sprintf("%d B", n)
	}
	f, unit := float64(n), "B"
	for _, u := range []string{"KiB", "MiB", "GiB", "TiB"} {
		if f < 1024 {
			break
		}
		f, unit = f/1024, u
	}
	return fmt.Sprintf("%.1f %s", f, unit)
}

func sizeOf(p *int64) string {
	if p == nil {
		return "-"
	}
	return humanSize(*p)
}

// when prints a time in UTC to the second.
func when(t tinkex.Timestamp) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04:05Z")
}

func expires(t *tinkex.Timestamp) string {
	if t == nil {
		return "never"
	}
	return when(*t)
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// progressBar draws a download's progress on a terminal, in place; it
// redraws only when the shown percentage (or, size unknown, the MiB count)
// changes.
type progressBar struct {
	w     io.Writer
	label string
	last  string
	drawn bool
}

const barWidth = 30

func (b *progressBar) update(done, total int64) {
	var line string
	if total > 0 {
		done = min(max(done, 0), total) // a bar never runs past its ends
		pct := done * 100 / total
		fill := int(done * barWidth / total)
		line = fmt.Sprintf("%s [%s%s] %3d%%  %s / %s", b.label, strings.Repeat("#", fill), strings.Repeat(".", barWidth-fill), pct,
			humanSize(done), humanSize(total))
	} else {
		line = fmt.Sprintf("%s %s", b.label, humanSize(done/(1<<20)*(1<<20)))
	}
	if line == b.last {
		return
	}
	b.last, b.drawn = line, true
	fmt.Fprint(b.w, "\r\x1b[K"+line)
}

// finish clears the bar's line.
func (b *progressBar) finish() {
	if b.drawn {
		fmt.Fprint(b.w, "\r\x1b[K")
	}
}

// parseTTL reads a TTL: a Go duration ("36h", "90m") or whole seconds.
func parseTTL(s string) (time.Duration, error) {
	if d, err := time.ParseDuration(s); err == nil {
		return d, nil
	}
	var secs int64
	if _, err := fmt.Sscanf(s, "%d", &secs); err == nil && fmt.Sprint(secs) == s {
		return time.Duration(secs) * time.Second, nil
	}
	return 0, usagef("bad TTL %q: give a duration such as 36h or 90m, or whole seconds", s)
}

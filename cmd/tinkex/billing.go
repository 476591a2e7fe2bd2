package main

import (
	"context"
	"flag"
	"fmt"
	"strconv"
	"time"

	"github.com/tinkex-go/tinkex"
)

func (c *cli) billingGroup() *group {
	return &group{name: "billing", summary: "Show billed usage.", commands: []*command{billingUsage()}}
}

// parseWhen reads a --from/--to value: an RFC 3339 time, or a date
// (YYYY-MM-DD, midnight UTC).
func parseWhen(flagName, v string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, v); err == nil {
		return t, nil
	}
	return time.Time{}, usagef("--%s must be a date (2006-01-02) or an RFC 3339 time (2006-01-02T15:04:05Z), got %q", flagName, v)
}

// quantity is an event's amount with its unit.
func quantity(info tinkex.BillingEventInfo) string {
	switch info.Type {
	case tinkex.BillingTraining, tinkex.BillingSamplingSample:
		return strconv.FormatInt(info.TokenCount, 10) + " tokens"
	case tinkex.BillingSamplingPrefill:
		if info.Cached {
			return strconv.FormatInt(info.TokenCount, 10) + " tokens (cached)"
		}
		return strconv.FormatInt(info.TokenCount, 10) + " tokens"
	case tinkex.BillingCheckpoint:
		return strconv.FormatInt(info.Count, 10) + " checkpoints"
	case tinkex.BillingStorage:
		return strconv.FormatFloat(info.GigabyteHours, 'f', -1, 64) + " GB-hours"
	}
	return "-"
}

func billingUsage() *command {
	var from, to string
	return &command{name: "usage", summary: "list hourly usage with estimated costs",
		help: "Costs are the server's gross estimates before credits and commits, not an amount due; \"-\" is a bucket it has not priced.",
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&from, "from", "", "first hour to include: a date or RFC 3339 time (default: 7 days before --to)")
			fs.StringVar(&to, "to", "", "end, exclusive: a date or RFC 3339 time (default: now)")
		},
		run: func(ctx context.Context, c *cli, args []string) error {
			if len(args) > 0 {
				return usagef("billing usage takes no arguments, got %d", len(args))
			}
			end := time.Now().UTC()
			if to != "" {
				t, err := parseWhen("to", to)
				if err != nil {
					return err
				}
				end = t
			}
			start := end.Add(-7 * 24 * time.Hour)
			if from != "" {
				t, err := parseWhen("from", from)
				if err != nil {
					return err
				}
				start = t
			}
			if !start.Before(end) {
				return usagef("--from (%s) must be before --to (%s)", start.UTC().Format(time.RFC3339), end.UTC().Format(time.RFC3339))
			}
			return c.withREST(ctx, func(s *session) error {
				u, err := s.rest().GetBillingUsage(ctx, start, end)
				if err != nil {
					return err
				}
				var total float64
				for _, ev := range u.Data {
					if ev.EstimatedCostUSD != nil {
						total += *ev.EstimatedCostUSD
					}
				}
				o := output{title: fmt.Sprintf("%s from %s to %s, estimated $%.2f", plural(len(u.Data), "usage event"),
					start.UTC().Format(time.RFC3339), end.UTC().Format(time.RFC3339), total),
					columns: []string{"HOUR", "KIND", "QUANTITY", "BASE MODEL", "SESSION", "COST USD"}, json: u}
				for _, ev := range u.Data {
					cost := "-"
					if ev.EstimatedCostUSD != nil {
						cost = strconv.FormatFloat(*ev.EstimatedCostUSD, 'f', 4, 64)
					}
					o.rows = append(o.rows, []string{when(ev.BucketStart), ev.EventInfo.Type, quantity(ev.EventInfo),
						cmpOr(ev.BaseModel, "-"), cmpOr(ev.SessionID, "-"), cost})
				}
				return c.print(o)
			})
		}}
}

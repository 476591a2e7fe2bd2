package main

import (
	"flag"
	"iter"

	"github.com/tinkex-go/tinkex"
)

// listFlags are the flags of the list commands: --limit, and --scope for
// the lists that take one.
type listFlags struct {
	what  string // "runs", "sessions", ...
	limit int
	scope string
}

func (l *listFlags) register(fs *flag.FlagSet, withScope bool) {
	fs.IntVar(&l.limit, "limit", 20, "list at most this many "+l.what+" (0 = all)")
	if withScope {
		scopeFlag(fs, &l.scope)
	}
}

// check refuses arguments and a negative limit, and parses --scope.
func (l *listFlags) check(cmd string, args []string) (tinkex.AccessScope, error) {
	if len(args) > 0 {
		return "", usagef("%s takes no arguments (got %q)", cmd, args[0])
	}
	if l.limit < 0 {
		return "", usagef("--limit must be >= 0")
	}
	if l.scope == "" {
		return tinkex.AccessScopeOwned, nil
	}
	return parseScope(l.scope)
}

// pageSize asks for no more than the limit per page, at most max.
func (l *listFlags) pageSize(max int) tinkex.RestOption {
	if l.limit > 0 {
		return tinkex.WithPageSize(min(l.limit, max))
	}
	return tinkex.WithPageSize(max)
}

// take collects the items of seq, at most limit of them (0 = all).
func take[T any](seq iter.Seq2[T, error], limit int) ([]T, error) {
	out := []T{}
	for x, err := range seq {
		if err != nil {
			return nil, err
		}
		out = append(out, x)
		if limit > 0 && len(out) == limit {
			break
		}
	}
	return out, nil
}

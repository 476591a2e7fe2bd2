package tinkex_test

import (
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestPublicAPIHidesInternals: nothing in package tinkex, where every
// user-facing type is defined, hands out an actor PID or anything else of
// protoactor's, the actor system, the registry, a limiter handle, a future
// no one can complete, a crash message or a type of an internal package.
// (Package actors, which holds the actors themselves, names protoactor's
// types by nature; no tinkex type exposes it.) The one internal package that shows is fleetapi: WithCluster's
// provider and option types, which package cluster re-exports.
func TestPublicAPIHidesInternals(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command")
	}
	forbidden := []*regexp.Regexp{
		regexp.MustCompile(`\bactor\.[A-Z]`),
		regexp.MustCompile(`\bactors\.[A-Z]`),
		regexp.MustCompile(`\*registry\.Registry\b`),
		regexp.MustCompile(`\*limiter\.Limiter\b`),
		regexp.MustCompile(`\bfunc NewFuture\b`),
		regexp.MustCompile(`\btype (Crash|Probe|ProbeReply)\b`),
		regexp.MustCompile(`\) (PID|ActorSystem|Registry|Limiter)\(\)`),
		regexp.MustCompile(`\binternal/(clock|inspect)\b`),
	}
	fleetapi := regexp.MustCompile(`\bfleetapi\.`)
	for _, pkg := range []string{"."} {
		out, err := exec.Command("go", "doc", "-all", pkg).CombinedOutput()
		require.NoError(t, err, "%s", out)
		for line := range strings.Lines(string(out)) {
			if !strings.HasPrefix(line, "func ") && !strings.HasPrefix(line, "type ") && !strings.HasPrefix(line, "    ") {
				continue
			}
			for _, re := range forbidden {
				assert.False(t, re.MatchString(line), "%s: %q matches %s", pkg, strings.TrimSpace(line), re)
			}
			if strings.HasPrefix(line, "func ") && fleetapi.MatchString(line) {
				assert.True(t, strings.HasPrefix(line, "func WithCluster(") || strings.HasPrefix(line, "func (rt *Runtime) Cluster()"),
					"%s: only WithCluster and Runtime.Cluster name fleetapi types: %q", pkg, line)
			}
		}
	}
}

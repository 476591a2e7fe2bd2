package supervisor

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A crash queued right behind a restart reaches the supervisor (as a
// system message) before the restarted child's Started ack (a user
// message). Every restart must still be counted, and the plan must not
// take the crash for a failed start.
func TestBackToBackCrashesAreAllCounted(t *testing.T) {
	sys := newSystem(t)
	rec := newRecorder()
	sup := startRoot(t, sys, OneForOne, []Spec{worker(rec, "a", Permanent)}, WithIntensity(1_000_000, time.Hour))
	pid := pidOf(t, sup, "a")
	const rounds = 200
	for i := 0; i < rounds; i++ {
		send(sys, pid, crash{value: "one"})
		send(sys, pid, crash{value: "two"}) // processed right after the restart's Started
		pingChild(t, sys, pid)              // answered by the instance after both restarts
	}
	infos, err := sup.WhichChildren(testCtx(t))
	require.NoError(t, err)
	require.Len(t, infos, 1)
	assert.Equal(t, 2*rounds, infos[0].Restarts)
	assert.Equal(t, Running, infos[0].Status)
	mark := 0
	rec.waitFor(t, mark, "a:Started", 2*rounds+1)
}

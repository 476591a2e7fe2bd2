package supervisor

import (
	"fmt"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// Status is a child's state as its supervisor knows it.
type Status int

const (
	// Running: started and not known to have exited.
	Running Status = iota
	// Restarting: exited or being (re)started; the supervisor will bring it
	// back (or is giving up).
	Restarting
	// Stopped: not running, and started again only with its group (a
	// OneForAll or RestForOne restart, or the retry of one that failed at an
	// earlier child); the spec is kept (TerminateChild, a Transient child
	// that exited normally, or a later child of a group whose restart
	// failed: OTP's undefined pid).
	Stopped
)

// String returns running, restarting or stopped.
func (s Status) String() string {
	switch s {
	case Running:
		return "running"
	case Restarting:
		return "restarting"
	case Stopped:
		return "stopped"
	}
	return fmt.Sprintf("status(%d)", int(s))
}

// ChildInfo describes one child, as WhichChildren returns it.
type ChildInfo struct {
	ID      string
	PID     *actor.PID // nil when not running
	Kind    Kind
	Restart RestartType
	Status  Status
	// Restarts counts the times this child was restarted by its supervisor
	// (after its own exit or as a sibling under OneForAll/RestForOne).
	Restarts int
}

// Counts is CountChildren's answer, as OTP's count_children.
type Counts struct {
	Specs       int // child specs, running or not
	Active      int // children with a live actor: not one that panicked, nor one whose failed restart waits to be tried again
	Supervisors int // specs of kind Supervisor
	Workers     int // specs of kind Worker
}

// Node is one entry of a Tree snapshot.
type Node struct {
	ID       string
	Kind     Kind
	PID      string // the actor's PID id (e.g. "root/clients/service:a"), "" when not running
	Status   Status
	Restarts int
	Restart  RestartType
	// Strategy is set for supervisors.
	Strategy Strategy
	// Children of a running supervisor, in start order.
	Children []Node
}

// String renders the tree, one node per line, indented by depth:
//
//	root (supervisor, one_for_one) running
//	  registry (worker, permanent) running restarts=0
func (n Node) String() string {
	var sb strings.Builder
	n.write(&sb, 0)
	return sb.String()
}

func (n Node) write(sb *strings.Builder, depth int) {
	sb.WriteString(strings.Repeat("  ", depth))
	if n.Kind == KindSupervisor {
		fmt.Fprintf(sb, "%s (supervisor, %s, %s) %s restarts=%d\n", n.ID, n.Strategy, n.Restart, n.Status, n.Restarts)
	} else {
		fmt.Fprintf(sb, "%s (worker, %s) %s restarts=%d\n", n.ID, n.Restart, n.Status, n.Restarts)
	}
	for _, c := range n.Children {
		c.write(sb, depth+1)
	}
}

// treeTimeout bounds each supervisor's answer during Tree when the caller's
// context has no deadline; a supervisor answers at once unless it is gone.
const treeTimeout = 5 * time.Second

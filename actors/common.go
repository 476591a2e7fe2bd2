package actors

import (
	"strings"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/tinkex-go/tinkex/internal/inspect"
)

// handleCommon answers the messages every client actor understands: the
// module's own tests and demo probe a mailbox and inject crashes with them
// (package internal/inspect); no public API sends them.
func handleCommon(ctx actor.Context, kind, id string) {
	switch m := ctx.Message().(type) {
	case *inspect.Probe:
		ctx.Respond(&inspect.ProbeReply{Actor: kind, ID: id})
	case *inspect.Crash:
		panic("tinkex: injected crash: " + m.Reason)
	}
}

// ChildID makes a tree id from a kind and a server id. PID ids use '/' as
// their separator, so '/' is written %2F (and '%' itself %25): two server
// ids never share a tree id, as "a/b" and "a_b" would if '/' became '_'.
func ChildID(kind, id string) string { return kind + ":" + childIDEscaper.Replace(id) }

var childIDEscaper = strings.NewReplacer("%", "%25", "/", "%2F")

package actors

import (
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

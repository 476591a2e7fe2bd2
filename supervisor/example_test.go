package supervisor_test

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/tinkex-go/tinkex/supervisor"
)

// greeter counts its messages; a restart starts it from zero.
type greeter struct{ n int }

type (
	hello struct{}
	crash struct{}
)

func (g *greeter) Receive(ctx actor.Context) {
	switch ctx.Message().(type) {
	case *actor.Restarting:
		fmt.Println("greeter restarting")
	case *actor.Started:
		fmt.Println("greeter started")
	case hello:
		g.n++
		ctx.Respond(g.n)
	case crash:
		panic("boom")
	}
}

func Example() {
	system := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return slog.New(slog.DiscardHandler)
	}))
	ctx := context.Background()

	sup, err := supervisor.Start(ctx, system, "root", supervisor.OneForOne, []supervisor.Spec{
		{ID: "greeter", Start: func() actor.Actor { return &greeter{} }},
	}, supervisor.WithIntensity(3, 5*time.Second))
	if err != nil {
		panic(err)
	}
	children, _ := sup.WhichChildren(ctx)
	pid := children[0].PID
	ask := func() {
		res, err := system.Root.RequestFuture(pid, hello{}, time.Second).Result()
		fmt.Println("answer:", res, err)
	}
	ask()
	ask()
	system.Root.Send(pid, crash{}) // the greeter panics and is restarted in place
	ask()                          // same PID, fresh state

	tree, _ := sup.Tree(ctx)
	fmt.Print(tree)
	_ = sup.Stop(ctx)
	fmt.Println("stopped:", sup.Err())
	// Output:
	// greeter started
	// answer: 1 <nil>
	// answer: 2 <nil>
	// greeter restarting
	// greeter started
	// answer: 1 <nil>
	// root (supervisor, one_for_one, permanent) running restarts=0
	//   greeter (worker, permanent) running restarts=1
	// stopped: <nil>
}

// An EventHook sees what the supervisor does, with OTP's report names; an
// application forwards the events to its logs or metrics.
func ExampleWithEventHook() {
	system := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return slog.New(slog.DiscardHandler)
	}))
	ctx := context.Background()
	var mu sync.Mutex
	var events []supervisor.Event
	hook := func(e supervisor.Event) {
		mu.Lock()
		defer mu.Unlock()
		events = append(events, e)
	}
	sup, err := supervisor.Start(ctx, system, "root", supervisor.OneForOne, []supervisor.Spec{
		{ID: "worker", Start: func() actor.Actor { return &quiet{} }},
	}, supervisor.WithEventHook(hook), supervisor.WithIntensity(3, 5*time.Second))
	if err != nil {
		panic(err)
	}
	children, _ := sup.WhichChildren(ctx)
	system.Root.Send(children[0].PID, crash{})
	// Answered by the restarted worker, so the supervisor has handled the crash.
	_, _ = system.Root.RequestFuture(children[0].PID, hello{}, time.Second).Result()
	_ = sup.Stop(ctx) // waits for the restart in progress, then stops

	mu.Lock()
	defer mu.Unlock()
	for _, e := range events {
		fmt.Printf("%-5s %v\n", e.Type.Level(), e)
	}
	// Output:
	// INFO  supervisor root: child_started child="worker" restarts=0
	// ERROR supervisor root: child_terminated child="worker" reason=panic: boom restarts=0
	// WARN  supervisor root: child_restarted child="worker" reason=panic: boom restarts=1
	// DEBUG supervisor root: child_stopped child="worker" reason=shutdown restarts=1
}

// quiet panics on crash and answers hello, silently.
type quiet struct{}

func (quiet) Receive(ctx actor.Context) {
	switch ctx.Message().(type) {
	case crash:
		panic("boom")
	case hello:
		ctx.Respond("hi")
	}
}

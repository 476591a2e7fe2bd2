package tinkex_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/tinkex-go/tinkex"
	"github.com/tinkex-go/tinkex/tinkertest"
)

// Walk every checkpoint of a training run (the iterator fetches page after
// page), publish one and download its archive.
func Example_checkpoints() {
	ctx := context.Background()
	_, svc, stop := connect(ctx)
	defer stop()

	tc, err := svc.CreateLoRATrainingClient(ctx, "meta-llama/Llama-3.2-1B")
	if err != nil {
		fmt.Println("create:", err)
		return
	}
	for _, name := range []string{"step-100", "step-200"} {
		if _, err := tc.SaveState(ctx, name).Result(ctx); err != nil {
			fmt.Println("save:", err)
			return
		}
	}
	rest := svc.Rest()
	var last string
	for cp, err := range rest.Checkpoints(ctx, tc.ModelID()) {
		if err != nil {
			fmt.Println("list:", err)
			return
		}
		fmt.Println(cp.CheckpointID, cp.CheckpointType, strings.HasPrefix(cp.TinkerPath, "tinker://"))
		last = cp.TinkerPath
	}
	if err := rest.PublishCheckpoint(ctx, last); err != nil {
		fmt.Println("publish:", err)
		return
	}
	var archive bytes.Buffer
	n, err := rest.DownloadCheckpoint(ctx, last, &archive, tinkex.WithProgress(func(done, total int64) {}))
	fmt.Println("downloaded", n > 0 && int64(archive.Len()) == n, err)
	// Output:
	// weights/step-100 training true
	// weights/step-200 training true
	// downloaded true <nil>
}

// A REST-only client, as the SDK's create_rest_client: WithoutSession
// creates no server session and sends no heartbeat, so listing runs from a
// script or a cron job leaves no trace in the account's sessions.
func ExampleWithoutSession() {
	ctx := context.Background()
	srv := tinkertest.NewServer()
	defer srv.Close()
	rt, err := tinkex.Start(ctx)
	if err != nil {
		fmt.Println("start:", err)
		return
	}
	defer func() { _ = rt.Stop(ctx) }()
	svc, err := rt.NewServiceClient(ctx, tinkex.WithAPIKey("tml-example-key"), tinkex.WithBaseURL(srv.URL()),
		tinkex.WithTelemetry(false), tinkex.WithoutSession())
	if err != nil {
		fmt.Println("connect:", err)
		return
	}
	runs, err := svc.Rest().ListTrainingRuns(ctx)
	fmt.Println("runs:", len(runs.TrainingRuns), err)
	fmt.Println("sessions on the server:", len(srv.Sessions()))
	_, err = svc.CreateLoRATrainingClient(ctx, "meta-llama/Llama-3.2-1B")
	fmt.Println(errors.Is(err, tinkex.ErrNoSession))
	// Output:
	// runs: 0 <nil>
	// sessions on the server: 0
	// true
}

package tinkex_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	"github.com/tinkex-go/tinkex"
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

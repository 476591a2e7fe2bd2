package tinkex_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"

	"github.com/tinkex-go/tinkex"
	"github.com/tinkex-go/tinkex/telemetry"
	"github.com/tinkex-go/tinkex/tinkertest"
)

// connect starts a runtime and a ServiceClient against a fake server, as a
// test of your own code would; against the real service, pass your key
// (or set TINKER_API_KEY) and leave out WithBaseURL.
func connect(ctx context.Context, opts ...tinkex.RuntimeOption) (*tinkex.Runtime, *tinkex.ServiceClient, func()) {
	srv := tinkertest.NewServer()
	rt, err := tinkex.Start(ctx, opts...)
	if err != nil {
		panic(err)
	}
	svc, err := rt.NewServiceClient(ctx, tinkex.WithAPIKey("tml-example-key"), tinkex.WithBaseURL(srv.URL()),
		tinkex.WithTelemetry(false), tinkex.WithName("example"))
	if err != nil {
		panic(err)
	}
	return rt, svc, func() {
		_ = rt.Stop(ctx)
		srv.Close()
	}
}

func trainingDatum(tokens ...int) tinkex.Datum {
	targets := make([]int64, len(tokens))
	weights := make([]float32, len(tokens))
	for i, t := range tokens {
		targets[i], weights[i] = int64(t+1), 1
	}
	d, err := tinkex.NewDatum(tinkex.ModelInputFromInts(tokens), map[string]any{"target_tokens": targets, "weights": weights})
	if err != nil {
		panic(err)
	}
	return d
}

// One training step: forward_backward, then optim_step, each awaited.
func Example_trainingStep() {
	ctx := context.Background()
	_, svc, stop := connect(ctx)
	defer stop()

	tc, err := svc.CreateLoRATrainingClient(ctx, "meta-llama/Llama-3.2-1B", tinkex.WithRank(16))
	if err != nil {
		fmt.Println("create:", err)
		return
	}
	data := []tinkex.Datum{trainingDatum(1, 2, 3), trainingDatum(4, 5)}
	fb, err := tc.ForwardBackward(ctx, data, tinkex.LossCrossEntropy).Result(ctx)
	if err != nil {
		fmt.Println("forward_backward:", err)
		return
	}
	if _, err := tc.OptimStep(ctx, tinkex.DefaultAdamParams()).Result(ctx); err != nil {
		fmt.Println("optim_step:", err)
		return
	}
	_, hasLoss := fb.Metrics["loss:sum"]
	fmt.Println("outputs:", len(fb.LossFnOutputs), "loss reported:", hasLoss)
	// Output: outputs: 2 loss reported: true
}

// Pipelined training: submit every step's operations before awaiting any
// of them; the client sends them in order and the server overlaps them.
func Example_pipelinedTraining() {
	ctx := context.Background()
	_, svc, stop := connect(ctx)
	defer stop()

	tc, err := svc.CreateLoRATrainingClient(ctx, "meta-llama/Llama-3.2-1B")
	if err != nil {
		fmt.Println("create:", err)
		return
	}
	var fbs []*tinkex.Future[*tinkex.ForwardBackwardOutput]
	var opts []*tinkex.Future[*tinkex.OptimStepResponse]
	for step := 0; step < 3; step++ {
		fbs = append(fbs, tc.ForwardBackward(ctx, []tinkex.Datum{trainingDatum(step, step+1)}, tinkex.LossCrossEntropy))
		opts = append(opts, tc.OptimStep(ctx, tinkex.DefaultAdamParams()))
	}
	for step := range fbs {
		if _, err := fbs[step].Result(ctx); err != nil {
			fmt.Println("step", step, err)
			return
		}
		if _, err := opts[step].Result(ctx); err != nil {
			fmt.Println("step", step, err)
			return
		}
	}
	fmt.Println("steps done: 3, next seq_id:", tc.NextSeqID())
	// Output: steps done: 3, next seq_id: 7
}

// Sampling 100 prompts concurrently: Sample is safe from any number of
// goroutines and never waits on an actor mailbox.
func Example_samplingConcurrently() {
	ctx := context.Background()
	_, svc, stop := connect(ctx)
	defer stop()

	sc, err := svc.CreateSamplingClient(ctx, tinkex.WithBaseModel("meta-llama/Llama-3.2-1B"))
	if err != nil {
		fmt.Println("create:", err)
		return
	}
	params := tinkex.DefaultSamplingParams()
	maxTokens := 8
	params.MaxTokens = &maxTokens
	var wg sync.WaitGroup
	var mu sync.Mutex
	tokens := 0
	for i := 0; i < 100; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := sc.Sample(ctx, tinkex.ModelInputFromInts([]int{i, i + 1}), 1, params)
			if err != nil {
				fmt.Println("sample:", err)
				return
			}
			mu.Lock()
			tokens += len(res.Sequences[0].Tokens)
			mu.Unlock()
		}()
	}
	wg.Wait()
	fmt.Println("samples: 100, tokens at most:", tokens <= 100*maxTokens)
	// Output: samples: 100, tokens at most: true
}

// Attaching the logger: every telemetry event becomes one slog line.
func Example_attachLogger() {
	ctx := context.Background()
	logger := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			switch a.Key { // drop what differs between runs: time, ids, PIDs, the fake's URL
			case slog.TimeKey, "child", "pid", "config", "session_id", "base_url":
				return slog.Attr{}
			}
			return a
		},
	}))
	rt, svc, stop := connect(ctx)
	defer stop()
	detach, err := telemetry.AttachLogger(rt.Telemetry(), logger, telemetry.LoggerOptions{
		Events: []string{telemetry.SupervisorChildStarted},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer detach()
	if _, err := svc.CreateSamplingClient(ctx, tinkex.WithBaseModel("meta-llama/Llama-3.2-1B")); err != nil {
		fmt.Println(err)
	}
	// Output: level=INFO msg=tinkex.supervisor.child_started restarts=0 child_kind=worker restart_type=transient strategy=rest_for_one supervisor=service:example
}

// Recovering from a lost seq_id: when a training submit fails for good
// (every retry layer gave up, or the runtime stopped), its seq_id is lost
// and every later operation of that TrainingClient fails at once with
// ErrSeqGap. Go on with a new TrainingClient created from the last saved
// state, and replay the steps since that save.
func Example_recoverFromSeqGap() {
	ctx := context.Background()
	_, svc, stop := connect(ctx)
	defer stop()

	tc, err := svc.CreateLoRATrainingClient(ctx, "meta-llama/Llama-3.2-1B")
	if err != nil {
		fmt.Println("create:", err)
		return
	}
	saved, err := tc.SaveState(ctx, "checkpoint-0").Result(ctx)
	if err != nil {
		fmt.Println("save:", err)
		return
	}
	step := func(tc *tinkex.TrainingClient) error {
		tc.ForwardBackward(ctx, []tinkex.Datum{trainingDatum(1, 2, 3)}, tinkex.LossCrossEntropy, nil)
		_, err := tc.OptimStep(ctx, tinkex.DefaultAdamParams()).Result(ctx)
		return err
	}
	if err := step(tc); errors.Is(err, tinkex.ErrSeqGap) {
		// The old client can do nothing more; restore weights and
		// optimizer state into a new one and redo the step.
		if tc, err = svc.CreateTrainingClientFromStateWithOptimizer(ctx, saved.Path); err != nil {
			fmt.Println("restore:", err)
			return
		}
		err = step(tc)
		fmt.Println("replayed:", err == nil)
		return
	} else if err != nil {
		fmt.Println("step:", err)
		return
	}
	fmt.Println("step ok")
	// Output: step ok
}

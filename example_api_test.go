package tinkex_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/tinkex-go/tinkex"
)

// A three-step training loop on typed data: CrossEntropyDatum shifts the
// targets and sets the shapes; the loss and logprobs are read with typed
// accessors; the state is saved and loaded back.
func Example_trainingLoop() {
	ctx := context.Background()
	_, svc, stop := connect(ctx)
	defer stop()

	tc, err := svc.CreateLoRATrainingClient(ctx, "meta-llama/Llama-3.2-1B")
	if err != nil {
		fmt.Println("create:", err)
		return
	}
	// Weight 0 on the prompt (first two tokens), 1 on the completion.
	d, err := tinkex.CrossEntropyDatum([]int{101, 102, 103, 104, 105}, []float32{0, 0, 1, 1, 1})
	if err != nil {
		fmt.Println("datum:", err)
		return
	}
	adam := tinkex.NewAdamParams(tinkex.WithLearningRate(2e-4))
	for step := 1; step <= 3; step++ {
		fb := tc.ForwardBackward(ctx, []tinkex.Datum{d}, tinkex.LossCrossEntropy)
		opt := tc.OptimStep(ctx, adam)
		if err := tinkex.WaitAll(ctx, fb, opt); err != nil {
			fmt.Println("step", step, err)
			return
		}
		out, _ := fb.Result(ctx)
		loss, ok := out.Loss()
		lp, _ := out.Logprobs(0)
		fmt.Printf("step %d: loss reported %v, finite %v, %d logprobs\n", step, ok, !math.IsInf(loss, 0), len(lp))
	}
	saved, err := tc.SaveState(ctx, "after-3-steps").Result(ctx)
	if err != nil {
		fmt.Println("save:", err)
		return
	}
	if _, err := tc.LoadState(ctx, saved.Path).Result(ctx); err != nil {
		fmt.Println("load:", err)
		return
	}
	fmt.Println("saved and loaded:", strings.HasSuffix(saved.Path, "/weights/after-3-steps"))
	// Output:
	// step 1: loss reported true, finite true, 4 logprobs
	// step 2: loss reported true, finite true, 4 logprobs
	// step 3: loss reported true, finite true, 4 logprobs
	// saved and loaded: true
}

// Sampling with params built from the defaults, and prompt logprobs.
func Example_samplingWithParams() {
	ctx := context.Background()
	_, svc, stop := connect(ctx)
	defer stop()

	sc, err := svc.CreateSamplingClient(ctx, tinkex.WithBaseModel("meta-llama/Llama-3.2-1B"))
	if err != nil {
		fmt.Println("create:", err)
		return
	}
	params := tinkex.NewSamplingParams(tinkex.WithMaxTokens(4), tinkex.WithSamplingSeed(7), tinkex.WithTemperature(0.7))
	prompt := tinkex.ModelInputFromInts([]int{1, 2, 3})
	res, err := sc.Sample(ctx, prompt, 2, params)
	if err != nil {
		fmt.Println("sample:", err)
		return
	}
	fmt.Println("sequences:", len(res.Sequences), "at most 4 tokens:", len(res.Sequences[0].Tokens) <= 4)
	lps, err := sc.ComputeLogprobs(ctx, prompt)
	if err != nil {
		fmt.Println("logprobs:", err)
		return
	}
	fmt.Println("prompt logprobs:", len(lps), "first has no context:", math.IsNaN(lps[0]))
	// Output:
	// sequences: 2 at most 4 tokens: true
	// prompt logprobs: 3 first has no context: true
}

// A loss computed in Go: ForwardBackwardCustom passes each datum's
// logprobs to the function and trains on the gradient it returns. Here
// L = -sum(logprobs), so dL/dlogprob = -1 everywhere: the same gradients
// as cross-entropy with weight 1.
func Example_customLoss() {
	ctx := context.Background()
	_, svc, stop := connect(ctx)
	defer stop()

	tc, err := svc.CreateLoRATrainingClient(ctx, "meta-llama/Llama-3.2-1B")
	if err != nil {
		fmt.Println("create:", err)
		return
	}
	d, err := tinkex.CrossEntropyDatum([]int{5, 6, 7}, nil)
	if err != nil {
		fmt.Println("datum:", err)
		return
	}
	negLogLikelihood := func(_ []tinkex.Datum, logprobs [][]float64) (tinkex.CustomLoss, error) {
		var loss float64
		grads := make([][]float64, len(logprobs))
		for i, lp := range logprobs {
			grads[i] = make([]float64, len(lp))
			for k, v := range lp {
				loss -= v
				grads[i][k] = -1
			}
		}
		return tinkex.CustomLoss{Loss: loss, Gradients: grads}, nil
	}
	out, err := tc.ForwardBackwardCustom(ctx, []tinkex.Datum{d}, negLogLikelihood)
	if err != nil {
		fmt.Println("custom:", err)
		return
	}
	loss, _ := out.Loss()
	// The server's linear loss, -sum(-grad x logprob), is the same here.
	fmt.Println("custom loss applied:", math.Abs(loss-out.Metrics[tinkex.MetricLinearLossSum]) < 1e-4)
	// Output: custom loss applied: true
}

// Errors carry a kind: test it with errors.Is.
func Example_errorHandling() {
	ctx := context.Background()
	_, svc, stop := connect(ctx)
	defer stop()

	// Bad input is refused before anything is sent.
	_, err := tinkex.CrossEntropyDatum([]int{1}, nil)
	fmt.Println("validation:", errors.Is(err, tinkex.ErrValidation), tinkex.IsUserError(err))

	// A 404 is ErrNotFound, which is also a user error.
	_, err = svc.Rest().GetSampler(ctx, "no-such-sampler")
	fmt.Println("not found:", errors.Is(err, tinkex.ErrNotFound), errors.Is(err, tinkex.ErrUser), tinkex.IsRetryable(err))

	// After Unload the client is closed.
	tc, err := svc.CreateLoRATrainingClient(ctx, "meta-llama/Llama-3.2-1B")
	if err != nil {
		fmt.Println("create:", err)
		return
	}
	if _, err := tc.Unload(ctx); err != nil {
		fmt.Println("unload:", err)
		return
	}
	_, err = tc.OptimStep(ctx, tinkex.NewAdamParams()).Result(ctx)
	fmt.Println("stopped:", errors.Is(err, tinkex.ErrClientStopped))

	// The caller's cancel is ErrCanceled and names the operation.
	gone, cancel := context.WithCancel(ctx)
	cancel()
	_, err = svc.CreateLoRATrainingClient(gone, "meta-llama/Llama-3.2-1B")
	var e *tinkex.Error
	if errors.As(err, &e) {
		fmt.Printf("canceled: %v, kind %s, op %s\n", errors.Is(err, tinkex.ErrCanceled), e.Kind, e.Op)
	}
	// Output:
	// validation: true true
	// not found: true true false
	// stopped: true
	// canceled: true, kind canceled, op create_model
}

// onlyEvents prints the records whose message starts with prefix, with
// the attributes that do not change between runs.
type onlyEvents struct {
	prefix string
	keep   map[string]bool
}

func (h onlyEvents) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelInfo }
func (h onlyEvents) WithAttrs([]slog.Attr) slog.Handler           { return h }
func (h onlyEvents) WithGroup(string) slog.Handler                { return h }
func (h onlyEvents) Handle(_ context.Context, r slog.Record) error {
	if !strings.HasPrefix(r.Message, h.prefix) {
		return nil
	}
	line := r.Level.String() + " " + r.Message
	r.Attrs(func(a slog.Attr) bool {
		if h.keep[a.Key] {
			line += " " + a.String()
		}
		return true
	})
	_, err := fmt.Fprintln(os.Stdout, line)
	return err
}

// Logging in one step: WithLogger also logs tinkex's events at their
// levels (TINKER_LOG=info does the same to stderr).
func Example_logging() {
	ctx := context.Background()
	logger := slog.New(onlyEvents{prefix: "tinkex.training.", keep: map[string]bool{"kind": true, "op": true}})
	_, svc, stop := connect(ctx, tinkex.WithLogger(logger))
	defer stop()

	tc, err := svc.CreateLoRATrainingClient(ctx, "meta-llama/Llama-3.2-1B")
	if err != nil {
		fmt.Println("create:", err)
		return
	}
	gone, cancel := context.WithCancel(ctx)
	cancel()
	_, err = tc.OptimStep(gone, tinkex.NewAdamParams()).Result(ctx)
	fmt.Println("canceled:", errors.Is(err, tinkex.ErrCanceled))
	// Output:
	// WARN tinkex.training.optim_step.exception kind=canceled op=optim_step
	// canceled: true
}

// Prometheus metrics: register tinkex's collector on your registry.
func Example_prometheus() {
	ctx := context.Background()
	reg := prometheus.NewRegistry()
	_, svc, stop := connect(ctx, tinkex.WithPrometheus(reg))
	defer stop()

	tc, err := svc.CreateLoRATrainingClient(ctx, "meta-llama/Llama-3.2-1B")
	if err != nil {
		fmt.Println("create:", err)
		return
	}
	d, _ := tinkex.CrossEntropyDatum([]int{1, 2, 3}, nil)
	if _, err := tc.ForwardBackward(ctx, []tinkex.Datum{d}, tinkex.LossCrossEntropy).Result(ctx); err != nil {
		fmt.Println(err)
		return
	}
	n, err := testutil.GatherAndCount(reg, "tinkex_training_operations_total")
	fmt.Println("training series:", n, err)
	// Output: training series: 1 <nil>
}

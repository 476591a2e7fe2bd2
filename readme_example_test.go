package tinkex_test

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/tinkex-go/tinkex"
	"github.com/tinkex-go/tinkex/tinkertest"
)

// trainAndSample is the README's "Use it from Go" snippet, verbatim between
// the markers; Example_readme runs it against a fake server, so the README
// compiles and works as written.
func trainAndSample(ctx context.Context, logger *slog.Logger, key, baseURL string, data []tinkex.Datum, prompt []int) error {
	// README snippet begin
	rt, err := tinkex.Start(ctx, tinkex.WithLogger(logger)) // one runtime per process
	if err != nil {
		return err
	}
	defer rt.Stop(ctx)

	// Or set TINKER_API_KEY and TINKER_BASE_URL and leave the options out.
	svc, err := rt.NewServiceClient(ctx, tinkex.WithAPIKey(key), tinkex.WithBaseURL(baseURL))
	if err != nil {
		return err
	}
	tc, err := svc.CreateLoRATrainingClient(ctx, "meta-llama/Llama-3.1-8B", tinkex.WithRank(32))
	if err != nil {
		return err
	}

	fb := tc.ForwardBackward(ctx, data, tinkex.LossCrossEntropy) // returns a *Future at once
	opt := tc.OptimStep(ctx, tinkex.NewAdamParams())             // pipelined behind it
	if err := tinkex.WaitAll(ctx, fb, opt); err != nil {
		return err // a *tinkex.Error: errors.Is(err, tinkex.ErrRateLimited), tinkex.IsRetryable(err), …
	}
	out, _ := fb.Result(ctx)
	loss, _ := out.Loss()

	sc, err := tc.SaveWeightsAndGetSamplingClient(ctx)
	if err != nil {
		return err
	}
	params := tinkex.NewSamplingParams(tinkex.WithMaxTokens(16), tinkex.WithTemperature(0.7))
	res, err := sc.Sample(ctx, tinkex.ModelInputFromInts(prompt), 4, params)
	if err != nil {
		return err
	}
	fmt.Printf("loss %.3f, %d samples\n", loss, len(res.Sequences))
	// README snippet end
	return nil
}

// The README's Go snippet, run against tinkertest.
func Example_readme() {
	ctx := context.Background()
	srv := tinkertest.NewServer()
	defer srv.Close()
	d, err := tinkex.CrossEntropyDatum([]int{1, 2, 3, 4}, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	quiet := slog.New(slog.DiscardHandler)
	if err := trainAndSample(ctx, quiet, "tml-example-key", srv.URL(), []tinkex.Datum{d}, []int{5, 6, 7}); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("done")
	// Output:
	// loss 4.895, 4 samples
	// done
}

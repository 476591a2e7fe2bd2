package bench

import (
	"context"
	"testing"

	"github.com/tinkex-go/tinkex"
	"github.com/tinkex-go/tinkex/types"
)

// trainingBatch is the suite's forward_backward batch: 4 datums of 32
// tokens with cross-entropy targets and weights (one chunk).
func trainingBatch(b testing.TB) []types.Datum {
	b.Helper()
	data := make([]types.Datum, 4)
	for i := range data {
		tokens := make([]int, 32)
		targets := make([]int64, 32)
		weights := make([]float32, 32)
		for j := range tokens {
			tokens[j] = 1000 + 37*i + j
			targets[j] = int64(tokens[j] + 1)
			weights[j] = 1
		}
		d, err := types.NewDatum(types.ModelInputFromInts(tokens),
			map[string]any{"target_tokens": targets, "weights": weights})
		if err != nil {
			b.Fatal(err)
		}
		data[i] = d
	}
	return data
}

func newTrainingClient(b testing.TB, svc *tinkex.ServiceClient) *tinkex.TrainingClient {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	tc, err := svc.CreateLoRATrainingClient(ctx, baseModel)
	if err != nil {
		b.Fatal(err)
	}
	return tc
}

// tinkexStep is one training step through the stack: ForwardBackward and
// OptimStep queued back to back (the actor submits the second once the
// first is accepted), then both results.
func tinkexStep(ctx context.Context, tc *tinkex.TrainingClient, data []types.Datum) error {
	fb := tc.ForwardBackward(ctx, data, types.LossCrossEntropy)
	opt := tc.OptimStep(ctx, types.DefaultAdamParams())
	if _, err := fb.Result(ctx); err != nil {
		return err
	}
	_, err := opt.Result(ctx)
	return err
}

// BenchmarkTrainingStep measures one forward_backward + optim_step round
// trip (both submits, both results) on one model, through the stack and
// through rawClient, against the fake with zero service time.
func BenchmarkTrainingStep(b *testing.B) {
	b.Run("stack=tinkex", func(b *testing.B) {
		srv := newServer(b)
		tc := newTrainingClient(b, newService(b, newRuntime(b), srv, keyA))
		data := trainingBatch(b)
		ctx := benchContext(b)
		b.ReportAllocs()
		cpu := startCPU()
		for b.Loop() {
			if err := tinkexStep(ctx, tc, data); err != nil {
				b.Fatal(err)
			}
		}
		cpu.report(b)
	})
	b.Run("stack=rawhttp", func(b *testing.B) {
		raw, sid, _ := newRaw(b, newServer(b), keyA)
		ctx := benchContext(b)
		modelID, err := raw.modelSeq(ctx, sid, baseModel, 0)
		if err != nil {
			b.Fatal(err)
		}
		data := trainingBatch(b)
		adam := types.DefaultAdamParams()
		seq := int64(1)
		b.ReportAllocs()
		cpu := startCPU()
		for b.Loop() {
			if _, _, err := raw.trainingStep(ctx, modelID, seq, data, adam); err != nil {
				b.Fatal(err)
			}
			seq += 2
		}
		cpu.report(b)
	})
}

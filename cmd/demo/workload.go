package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tinkex-go/tinkex"
)

// client is one ServiceClient of the demo with its two clients and their
// statistics.
type client struct {
	label    string // "A" or "B"
	svc      *tinkex.ServiceClient
	tc       *tinkex.TrainingClient
	sc       *tinkex.SamplingClient
	training *clientStats
	sampling *clientStats
}

// pacing spreads the workload so the demo is watchable and cheap.
type pacing struct {
	stepPause   time.Duration // between training steps
	sampleThink time.Duration // up to this much between samples of one worker
}

// workload runs the training loop and the samplers of every client until
// stop is closed (or their quotas are done). Requests already issued then
// finish; ctx cancels them only if draining takes too long.
type workload struct {
	d       *demo
	stop    chan struct{}
	stopped atomic.Bool
	wg      sync.WaitGroup
	done    chan struct{} // closed when every worker has returned
}

func (d *demo) startWorkload(ctx context.Context) *workload {
	w := &workload{d: d, stop: make(chan struct{}), done: make(chan struct{})}
	for _, c := range d.clients {
		w.wg.Add(1)
		go func() {
			defer w.wg.Done()
			w.train(ctx, c)
		}()
		var quota atomic.Int64
		quota.Store(int64(d.cfg.Samples))
		for range d.cfg.Concurrency {
			w.wg.Add(1)
			go func() {
				defer w.wg.Done()
				w.sample(ctx, c, &quota)
			}()
		}
	}
	go func() {
		w.wg.Wait()
		close(w.done)
	}()
	return w
}

// halt stops issuing new requests; wait for the workers with drain.
func (w *workload) halt() {
	if w.stopped.CompareAndSwap(false, true) {
		close(w.stop)
	}
}

// drain waits for every worker; it reports false if ctx ended first.
func (w *workload) drain(ctx context.Context) bool {
	select {
	case <-w.done:
		return true
	case <-ctx.Done():
		return false
	}
}

// pause waits d, and reports false if the workload was stopped meanwhile.
func (w *workload) pause(d time.Duration) bool {
	if d <= 0 {
		select {
		case <-w.stop:
			return false
		default:
			return true
		}
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-w.stop:
		return false
	case <-t.C:
		return true
	}
}

// train runs forward_backward + optim_step steps on c's TrainingClient.
// Errors are surfaced (as notes and in the summary) and the loop goes on
// with the next step: the demo shows what a caller sees, it does not hide
// failures by retrying them itself.
func (w *workload) train(ctx context.Context, c *client) {
	batch, err := trainingBatch()
	if err != nil {
		w.d.fail(fmt.Errorf("building the training batch: %w", err))
		return
	}
	for step := 1; w.d.cfg.Steps == 0 || step <= w.d.cfg.Steps; step++ {
		if !w.pause(0) {
			return
		}
		start := time.Now()
		c.training.begin()
		fb := c.tc.ForwardBackward(ctx, batch, tinkex.LossCrossEntropy)
		c.training.begin()
		opt := c.tc.OptimStep(ctx, tinkex.DefaultAdamParams())
		_, fbErr := fb.Result(ctx)
		c.training.end(time.Since(start), w.d.since(), fbErr)
		_, optErr := opt.Result(ctx)
		c.training.end(time.Since(start), w.d.since(), optErr)
		w.d.surface(c.label+"/training", "forward_backward", fbErr)
		w.d.surface(c.label+"/training", "optim_step", optErr)
		if fbErr == nil && optErr == nil {
			c.training.unit()
		}
		if !w.pause(w.d.pace.stepPause) {
			return
		}
	}
}

// sample is one sampling worker: it samples until stopped or until the
// client's quota (when there is one) is used up.
func (w *workload) sample(ctx context.Context, c *client, quota *atomic.Int64) {
	maxTokens := 8
	params := tinkex.DefaultSamplingParams()
	params.MaxTokens = &maxTokens
	prompt := tinkex.ModelInputFromInts([]int{3, 1, 4, 1, 5, 9, 2, 6})
	for {
		if w.d.cfg.Samples > 0 && quota.Add(-1) < 0 || !w.pause(0) {
			return
		}
		start := time.Now()
		c.sampling.begin()
		_, err := c.sc.Sample(ctx, prompt, 1, params)
		c.sampling.end(time.Since(start), w.d.since(), err)
		w.d.surface(c.label+"/sampling", "sample", err)
		if err == nil {
			c.sampling.unit()
		}
		// Think after, not before: the first wave is every worker at once.
		if !w.pause(rand.N(w.d.pace.sampleThink + 1)) {
			return
		}
	}
}

// trainingBatch is a small cross-entropy batch: next-token prediction on
// two short sequences.
func trainingBatch() ([]tinkex.Datum, error) {
	var batch []tinkex.Datum
	for _, tokens := range [][]int{{1, 2, 3, 4, 5}, {10, 20, 30}} {
		targets := make([]int64, len(tokens))
		weights := make([]float32, len(tokens))
		for i, t := range tokens {
			targets[i], weights[i] = int64(t+1), 1
		}
		d, err := tinkex.NewDatum(tinkex.ModelInputFromInts(tokens), map[string]any{"target_tokens": targets, "weights": weights})
		if err != nil {
			return nil, err
		}
		batch = append(batch, d)
	}
	return batch, nil
}

package tinkex

import (
	"context"
	"errors"

	"github.com/tinkex-go/tinkex/actors"
	"github.com/tinkex-go/tinkex/supervisor"
	"github.com/tinkex-go/tinkex/types"
)

// unloadedError is what calls on a TrainingClient fail with after its
// model was unloaded (or the client closed): ErrClientStopped.
func (t *TrainingClient) unloadedError(op string) error {
	if t.unloaded.Load() {
		return &Error{Kind: types.KindClientStopped, Op: op,
			Message: "the model was unloaded; this training client is closed", Err: errClientStopped}
	}
	return t.svc.stoppedError(op)
}

// closeAfterUnload closes t once the server has unloaded its model: later
// calls fail with ErrClientStopped and send nothing, operations not yet
// submitted fail the same way, and its actor leaves the tree.
func (t *TrainingClient) closeAfterUnload(ctx context.Context) {
	t.mu.Lock()
	t.unloaded.Store(true)
	t.stopped.Store(true)
	t.mu.Unlock()
	t.failQueued(t.unloadedError)
	s := t.svc
	id := actors.ChildID("training", t.modelID)
	s.mu.Lock()
	delete(s.trainings, t.modelID)
	for i, c := range s.children {
		if c.ID == id {
			s.children = append(s.children[:i], s.children[i+1:]...)
			break
		}
	}
	s.mu.Unlock()
	// The actor owns nothing the server still needs; a failure to remove
	// it (the service is closing meanwhile) leaves it to Close.
	sup := s.subtree()
	if err := sup.TerminateChild(ctx, id); err == nil || errors.Is(err, supervisor.ErrNotFound) {
		_ = sup.DeleteChild(ctx, id)
	}
}

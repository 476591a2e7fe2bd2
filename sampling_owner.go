package tinkex

import "github.com/asynkron/protoactor-go/actor"

// samplingOwner is the SamplingClient side of its Sampling actor (package
// actors), which anchors the client in the tree: the sampling hot path
// never passes through it, and it is restarted after a crash without
// disturbing samples in flight. The client stops with its ServiceClient
// (Close), which is what makes Sample fail with ErrClientStopped.
type samplingOwner struct{ sc *SamplingClient }

func (o samplingOwner) SamplerID() string       { return o.sc.samplerID }
func (o samplingOwner) Started(self *actor.PID) { o.sc.pid.Store(self) }

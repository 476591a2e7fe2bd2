// Package cluster is the multi-process suite of tinkex's cluster: it builds
// the worker binary (./worker) and cmd/tinkerfake, starts one fake server
// and three to five member processes on 127.0.0.1 forming a fleet with
// protoactor's automanaged provider (or etcd, when an etcd binary is on
// PATH), and checks the fleet-wide guarantees from the fake's counters and
// the members' own views: 429s of config A reach every member, the fleet
// never exceeds the shared dispatch budget, config B is never delayed, a
// SIGKILLed member loses no survivor's request and its leases come back,
// and a member cut off degrades to local limits and rejoins. Every process
// and port is cleaned up by the test.
package cluster

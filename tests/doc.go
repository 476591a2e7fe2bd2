// Package tests is tinkex's acceptance suite: end-to-end scenarios that run
// the public API against fake Tinker servers (package tinkertest) and assert
// from the servers' request logs, from telemetry events and from actor
// messages. See README.md for what each scenario proves.
package tests

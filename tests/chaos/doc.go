// Package chaos holds the chaos, soak, secrets and bad-input suites of
// tinkex: a mixed sampling and training load over three configs (two of
// which share an API key) against the fake server with faults injected
// into about a fifth of the requests and random client actors crashed,
// checking that every request ends in a result or a typed error of the
// kind the applied fault calls for, that nothing hangs or leaks, and that
// no API key reaches a log line, a metric, a telemetry batch, an error
// string or the printed form of a public value. See docs/reliability.md.
//
// The package has tests only. By default they run the short form (1,000
// requests); -chaos.full runs 10,000 and -soak 10m repeats the mix for
// ten minutes.
package chaos

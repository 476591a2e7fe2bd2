package main

import (
	"context"
	"os"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	// A -members run re-executes this binary as its member processes.
	if spec := os.Getenv(envFleetMember); spec != "" {
		os.Exit(fleetMemberMain(context.Background(), spec, os.Stdin, os.Stdout, os.Stderr))
	}
	goleak.VerifyTestMain(m)
}

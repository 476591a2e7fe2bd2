// Package tinkerpb holds the Go code generated from tinker_public.proto, the
// protobuf schema of the Tinker service (forward_backward request bodies,
// sample and forward_backward results). Use the conversions in package types
// rather than these messages directly.
//
// To regenerate tinker_public.pb.go after editing the schema, run from the
// repository root, with protoc (3.21+) and protoc-gen-go v1.36 on PATH
// (go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12):
//
//	go generate ./types/tinkerpb/
package tinkerpb

//go:generate protoc --go_out=. --go_opt=paths=source_relative tinker_public.proto

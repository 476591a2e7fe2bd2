// Package clusterpb holds the protobuf messages between a member's config
// agent and the config's grain (limits.proto). Regenerate from this
// directory with protoc (3.21+) and protoc-gen-go v1.36 on PATH:
//
//	protoc --go_out=. --go_opt=paths=source_relative limits.proto
package clusterpb

//go:generate protoc --go_out=. --go_opt=paths=source_relative limits.proto

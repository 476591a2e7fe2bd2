package tinkex

import (
	"time"

	"github.com/tinkex-go/tinkex/actors"
	"github.com/tinkex-go/tinkex/types"
)

// The REST side: options of RestClient calls and the types they return.

// RestOption adjusts one RestClient call; each method names the options it
// reads.
type RestOption = actors.RestOption

// WithPageSize sets the page size (limit) of a list.
func WithPageSize(n int) RestOption { return actors.WithPageSize(n) }

// WithOffset makes a list start at the nth item.
func WithOffset(n int) RestOption { return actors.WithOffset(n) }

// WithAccessScope chooses whose training runs and sessions are visible
// (default AccessScopeOwned).
func WithAccessScope(s AccessScope) RestOption { return actors.WithAccessScope(s) }

// WithProjectFilter lists only the training runs of one project.
func WithProjectFilter(projectID string) RestOption { return actors.WithProjectFilter(projectID) }

// WithWeightsAccessToken makes GetWeightsInfo authenticate with the
// checkpoint owner's key.
func WithWeightsAccessToken(token string) RestOption { return actors.WithWeightsAccessToken(token) }

// WithProgress reports a download's progress: bytes written and the
// archive's size (-1 when unknown).
func WithProgress(f func(done, total int64)) RestOption { return actors.WithProgress(f) }

// DefaultMaxArchiveBytes bounds a checkpoint download (64 GiB) unless
// WithMaxArchiveBytes says otherwise.
const DefaultMaxArchiveBytes = actors.DefaultMaxArchiveBytes

// WithMaxArchiveBytes bounds a download: an archive announced as larger
// fails before a byte is written, one streamed without a size fails once it
// passes n bytes (KindValidation). n <= 0 means DefaultMaxArchiveBytes.
func WithMaxArchiveBytes(n int64) RestOption { return actors.WithMaxArchiveBytes(n) }

// WithPollInterval sets how often ExportSessionTrace polls (default 5 s).
func WithPollInterval(d time.Duration) RestOption { return actors.WithPollInterval(d) }

// REST wire types.
type (
	AccessScope                  = types.AccessScope
	Cursor                       = types.Cursor
	TinkerPath                   = types.TinkerPath
	CheckpointType               = types.CheckpointType
	CheckpointArchiveURLResponse = types.CheckpointArchiveURLResponse
	GetSessionResponse           = types.GetSessionResponse
	ListSessionsResponse         = types.ListSessionsResponse
	AuditLogResponse             = types.AuditLogResponse
	AuditLogEntry                = types.AuditLogEntry
	Timestamp                    = types.Timestamp
)

// Access scopes of REST reads.
const (
	AccessScopeOwned      = types.AccessScopeOwned
	AccessScopeAccessible = types.AccessScopeAccessible
)

// Checkpoint types.
const (
	CheckpointTraining = types.CheckpointTraining
	CheckpointSampler  = types.CheckpointSampler
)

// Audit log event types.
const (
	AuditEventsAll         = types.AuditEventsAll
	AuditEventsCheckpoints = types.AuditEventsCheckpoints
)

// ParseTinkerPath parses "tinker://<run>/<weights|sampler_weights>/<name>";
// anything else is a validation error.
func ParseTinkerPath(path string) (TinkerPath, error) { return types.ParseTinkerPath(path) }

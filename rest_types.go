package tinkex

import "github.com/tinkex-go/tinkex/types"

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
	WhoAmI                       = types.WhoAmI
	BillingUsageResponse         = types.BillingUsageResponse
	BillingUsageEvent            = types.BillingUsageEvent
	BillingUsageSession          = types.BillingUsageSession
	BillingEventInfo             = types.BillingEventInfo
)

// Kinds of billed usage, BillingEventInfo.Type.
const (
	BillingTraining        = types.BillingTraining
	BillingSamplingPrefill = types.BillingSamplingPrefill
	BillingSamplingSample  = types.BillingSamplingSample
	BillingCheckpoint      = types.BillingCheckpoint
	BillingStorage         = types.BillingStorage
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

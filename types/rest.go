package types

import (
	"encoding/json"
	"strings"
	"time"
)

// Timestamp is a time on the wire. It decodes ISO 8601 / RFC 3339 with a
// "Z" or numeric offset, or without any offset (read as UTC, as pydantic
// writes naive datetimes), and encodes RFC 3339 with nanoseconds.
type Timestamp struct{ time.Time }

var timestampLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999",
}

// ParseTimestamp parses the forms Timestamp accepts; failure is a
// KindValidation error.
func ParseTimestamp(s string) (Timestamp, error) {
	for _, layout := range timestampLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return Timestamp{t}, nil
		}
	}
	return Timestamp{}, ValidationError("timestamp", "%q is not an ISO 8601 time", s)
}

// MarshalJSON writes RFC 3339 with nanoseconds.
func (t Timestamp) MarshalJSON() ([]byte, error) {
	return json.Marshal(t.Format(time.RFC3339Nano))
}

// UnmarshalJSON reads any form ParseTimestamp accepts.
func (t *Timestamp) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	p, err := ParseTimestamp(s)
	if err != nil {
		return err
	}
	*t = p
	return nil
}

// AccessScope selects whose objects a REST read sees.
type AccessScope string

// Access scopes.
const (
	AccessScopeOwned      AccessScope = "owned"      // the caller's own
	AccessScopeAccessible AccessScope = "accessible" // also those shared with the caller
)

// Event types of GET /api/v1/audit.
const (
	AuditEventsAll         = "all"
	AuditEventsCheckpoints = "checkpoints"
)

// CheckpointType says what a checkpoint holds.
type CheckpointType string

// Checkpoint types.
const (
	CheckpointTraining CheckpointType = "training" // tinker://<run>/weights/<name>
	CheckpointSampler  CheckpointType = "sampler"  // tinker://<run>/sampler_weights/<name>
)

// Checkpoint is a stored checkpoint.
type Checkpoint struct {
	CheckpointID   string         `json:"checkpoint_id"`
	CheckpointType CheckpointType `json:"checkpoint_type"`
	Time           Timestamp      `json:"time"`
	TinkerPath     string         `json:"tinker_path"`
	SizeBytes      *int64         `json:"size_bytes,omitempty"`
	Public         bool           `json:"public"`
	ExpiresAt      *Timestamp     `json:"expires_at,omitempty"`
}

// TrainingRun describes a training run (a training model).
type TrainingRun struct {
	TrainingRunID         string            `json:"training_run_id"`
	BaseModel             string            `json:"base_model"`
	ModelOwner            string            `json:"model_owner"`
	IsLoRA                bool              `json:"is_lora"`
	Corrupted             bool              `json:"corrupted"`
	LoRARank              *int              `json:"lora_rank,omitempty"`
	LastRequestTime       Timestamp         `json:"last_request_time"`
	LastCheckpoint        *Checkpoint       `json:"last_checkpoint,omitempty"`
	LastSamplerCheckpoint *Checkpoint       `json:"last_sampler_checkpoint,omitempty"`
	UserMetadata          map[string]string `json:"user_metadata,omitempty"`
}

// Cursor is the paging state of a list response.
type Cursor struct {
	Offset     int `json:"offset"`
	Limit      int `json:"limit"`
	TotalCount int `json:"total_count"`
}

// CheckpointsListResponse is a page of checkpoints.
type CheckpointsListResponse struct {
	Checkpoints []Checkpoint `json:"checkpoints"`
	Cursor      *Cursor      `json:"cursor,omitempty"`
}

// TrainingRunsResponse is a page of training runs; the cursor is required.
type TrainingRunsResponse struct {
	TrainingRuns []TrainingRun `json:"training_runs"`
	Cursor       Cursor        `json:"cursor"`
}

// TinkerPath is a parsed checkpoint path
// "tinker://<run>/<weights|sampler_weights>/<name>".
type TinkerPath struct {
	TrainingRunID  string
	CheckpointID   string // "weights/<name>" or "sampler_weights/<name>"; contains a slash
	CheckpointType CheckpointType
}

// ParseTinkerPath parses a checkpoint path. Anything else (wrong scheme, kind
// other than weights/sampler_weights, empty parts, more than three segments
// as the SDK's ParsedCheckpointTinkerPath, a run id or name of "." or "..")
// is a KindValidation error.
func ParseTinkerPath(path string) (TinkerPath, error) {
	const op = "tinker_path"
	rest, ok := strings.CutPrefix(path, "tinker://")
	if !ok {
		return TinkerPath{}, ValidationError(op, "%q does not start with tinker://", path)
	}
	run, ckpt, ok := strings.Cut(rest, "/")
	kind, name, ok2 := strings.Cut(ckpt, "/")
	if !ok || !ok2 || run == "" || name == "" || strings.Contains(name, "/") {
		return TinkerPath{}, ValidationError(op, "%q is not tinker://<run>/<weights|sampler_weights>/<name>", path)
	}
	if IsDotSegment(run) || IsDotSegment(name) {
		return TinkerPath{}, ValidationError(op, "%q: a run id or checkpoint name of \".\" or \"..\" would name another URL path", path)
	}
	var typ CheckpointType
	switch kind {
	case "weights":
		typ = CheckpointTraining
	case "sampler_weights":
		typ = CheckpointSampler
	default:
		return TinkerPath{}, ValidationError(op, "%q: checkpoint kind %q is not weights or sampler_weights", path, kind)
	}
	return TinkerPath{TrainingRunID: run, CheckpointID: ckpt, CheckpointType: typ}, nil
}

// IsDotSegment reports whether s is "." or "..": an id that, put into a
// URL path as a segment, would be removed or climb to the parent once the
// path is normalized (RFC 3986 §5.2.4), so the request would reach another
// resource. Percent-escaping leaves dots alone; such ids are refused.
func IsDotSegment(s string) bool { return s == "." || s == ".." }

// String returns the tinker:// form.
func (p TinkerPath) String() string { return "tinker://" + p.TrainingRunID + "/" + p.CheckpointID }

// GetSessionResponse is the reply to GET /api/v1/sessions/{id}.
type GetSessionResponse struct {
	TrainingRunIDs []string `json:"training_run_ids"`
	SamplerIDs     []string `json:"sampler_ids"`
}

// ListSessionsResponse is the reply to GET /api/v1/sessions.
type ListSessionsResponse struct {
	Sessions []string `json:"sessions"`
}

// AssignSessionProjectRequest is the body of PUT /api/v1/sessions/{id}/project.
type AssignSessionProjectRequest struct {
	ProjectID string `json:"project_id"`
}

// SetCheckpointTTLRequest is the body of PUT
// /api/v1/training_runs/{run}/checkpoints/{ckpt}/ttl. A nil TTLSeconds is sent
// as null and clears the expiry.
type SetCheckpointTTLRequest struct {
	TTLSeconds *int64 `json:"ttl_seconds"`
}

// CheckpointArchiveURLResponse is where to download a checkpoint archive
// (from a 302's Location/Expires headers, or a 200 JSON body).
type CheckpointArchiveURLResponse struct {
	URL     string    `json:"url"`
	Expires Timestamp `json:"expires"`
}

// Trace export states of SessionTraceExportResponse.
const (
	TraceExportPending = "pending"
	TraceExportReady   = "ready"
	TraceExportFailed  = "failed"
)

// SessionTraceExportResponse is the reply to GET
// /api/v1/sessions/{id}/trace_export; poll until Status is ready or failed.
type SessionTraceExportResponse struct {
	Status string `json:"status"`
	URL    string `json:"url,omitempty"`
	Error  string `json:"error,omitempty"`
}

// AuditLogEntry is one entry of AuditLogResponse.
type AuditLogEntry struct {
	Timestamp  Timestamp `json:"timestamp"`
	Event      string    `json:"event"`
	ModelID    string    `json:"model_id,omitempty"`
	TinkerPath string    `json:"tinker_path,omitempty"`
	Purpose    string    `json:"purpose,omitempty"`
}

// AuditLogResponse is the reply to GET /api/v1/audit.
type AuditLogResponse struct {
	Entries []AuditLogEntry `json:"entries"`
}

// WhoAmI is who the held credential says the caller is (RestClient.WhoAmI):
// the JWT's sub claim as UserURN and its email claim, nil when absent or
// empty, as the SDK's whoami maps them.
type WhoAmI struct {
	UserURN string  `json:"user_urn"`
	Email   *string `json:"email"`
}

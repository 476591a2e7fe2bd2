package tinkex

import (
	"context"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/tinkex-go/tinkex/httpclient"
	"github.com/tinkex-go/tinkex/types"
)

// RestClient manages what a server keeps between runs: training runs,
// checkpoints (list, inspect, publish, expire, delete, download) and
// sessions. Get it with ServiceClient.Rest; it shares the ServiceClient's
// key, HTTP layer and lifetime: once the ServiceClient is closed every call
// fails with ErrClientStopped, and Close ends calls in flight with it.
//
// Lists come two ways: a page at a time (List*), and as iterators over
// every page (TrainingRuns, Checkpoints, UserCheckpoints, Sessions) that
// yield each item and, on failure, one error and stop:
//
//	for cp, err := range rest.Checkpoints(ctx, runID) {
//		if err != nil { return err }
//		fmt.Println(cp.TinkerPath)
//	}
//
// Checkpoints are named by their tinker:// path
// ("tinker://<run>/weights/<name>" or "tinker://<run>/sampler_weights/<name>");
// a malformed path is a KindValidation error and nothing is sent. Every
// method is safe for concurrent use; the RestClient holds no state of its
// own.
type RestClient struct{ s *ServiceClient }

// Rest returns the client's RestClient.
func (s *ServiceClient) Rest() *RestClient { return &RestClient{s: s} }

// RestOption adjusts one RestClient call. Each method names the options it
// reads; it ignores the others.
type RestOption func(*restOptions)

type restOptions struct {
	limit, offset int
	scope         AccessScope
	project       string
	token         string
	progress      func(done, total int64)
	maxBytes      int64
	pollInterval  time.Duration
}

// WithPageSize sets how many items a list asks for per page (the limit
// query parameter). Default: 20 for training runs and sessions, 100 for the
// user's checkpoints; a run's checkpoints are asked for unpaged.
func WithPageSize(n int) RestOption { return func(o *restOptions) { o.limit = n } }

// WithOffset makes a list start at the nth item (default 0).
func WithOffset(n int) RestOption { return func(o *restOptions) { o.offset = n } }

// WithAccessScope chooses whose training runs and sessions are visible:
// AccessScopeOwned (the default) or AccessScopeAccessible (also those
// shared with the caller).
func WithAccessScope(s AccessScope) RestOption { return func(o *restOptions) { o.scope = s } }

// WithProjectFilter lists only the training runs of one project.
func WithProjectFilter(projectID string) RestOption {
	return func(o *restOptions) { o.project = projectID }
}

// WithWeightsAccessToken makes GetWeightsInfo authenticate with token (the
// API key of the checkpoint's owner) instead of the client's key, as the
// SDK's weights_access_token does. The token is sent to the configured
// server only and is scrubbed from errors like the key.
func WithWeightsAccessToken(token string) RestOption {
	return func(o *restOptions) { o.token = token }
}

// WithProgress makes a download call f after every write with the bytes
// written so far and the archive's size (-1 when the server did not say).
// f runs on the downloading goroutine; keep it short.
func WithProgress(f func(done, total int64)) RestOption {
	return func(o *restOptions) { o.progress = f }
}

// DefaultMaxArchiveBytes bounds a checkpoint download unless
// WithMaxArchiveBytes says otherwise: 64 GiB, far above any LoRA archive.
const DefaultMaxArchiveBytes int64 = 64 << 30

// WithMaxArchiveBytes bounds a download: an archive the host announces as
// larger fails before a byte is written, and one streamed without a size
// (chunked) fails as soon as it passes n bytes, so a hostile or broken
// host cannot fill the caller's disk. n <= 0 means DefaultMaxArchiveBytes.
func WithMaxArchiveBytes(n int64) RestOption {
	return func(o *restOptions) { o.maxBytes = n }
}

// WithPollInterval sets how often ExportSessionTrace asks whether the
// export is ready (default 5 s, as the SDK).
func WithPollInterval(d time.Duration) RestOption { return func(o *restOptions) { o.pollInterval = d } }

func restOpts(opts []RestOption) restOptions {
	var o restOptions
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// query returns limit/offset (when paged) and access_scope.
func (o restOptions) query(defLimit int, scope bool) (url.Values, error) {
	q := url.Values{}
	if o.limit < 0 || o.offset < 0 {
		return nil, types.ValidationError("rest", "page size and offset must not be negative (got %d and %d)", o.limit, o.offset)
	}
	if defLimit > 0 {
		q.Set("limit", strconv.Itoa(cmpOr(o.limit, defLimit)))
		q.Set("offset", strconv.Itoa(o.offset))
	}
	if scope {
		s := cmpOr(o.scope, AccessScopeOwned)
		if s != AccessScopeOwned && s != AccessScopeAccessible {
			return nil, types.ValidationError("rest", "access scope %q is not %q or %q", s, AccessScopeOwned, AccessScopeAccessible)
		}
		q.Set("access_scope", string(s))
	}
	return q, nil
}

func cmpOr[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// do sends one REST request. It is the one path every RestClient call to
// the API takes, on the REST row of the retry layers table (CallRead):
// refused with ErrClientStopped once the client is closed,
// ended with it when Close comes while the request is in flight.
func (r *RestClient) do(ctx context.Context, req *httpclient.Request) (*httpclient.Response, error) {
	if req.Call == httpclient.CallNone {
		req.Call = httpclient.CallRead
	}
	var resp *httpclient.Response
	err := r.s.call(ctx, req.Op, func(ctx context.Context) error {
		var err error
		resp, err = r.s.http.Do(ctx, req)
		return err
	})
	return resp, err
}

func restCall[T any](ctx context.Context, r *RestClient, op, method, path string, q url.Values, body any) (*T, error) {
	var out T
	if _, err := r.do(ctx, &httpclient.Request{Op: op, Method: method, Path: path, Query: q, Body: body,
		Into: httpclient.JSONInto(&out)}); err != nil {
		return nil, err
	}
	return &out, nil
}

func runPath(id string) string { return "/api/v1/training_runs/" + url.PathEscape(id) }

// checkpointPath is the URL path of a checkpoint: its id contains a slash,
// sent as two segments as the SDK does.
func checkpointPath(p TinkerPath) string {
	kind, name, _ := strings.Cut(p.CheckpointID, "/")
	return runPath(p.TrainingRunID) + "/checkpoints/" + kind + "/" + url.PathEscape(name)
}

// needID checks an id that becomes one segment of a URL path: not empty,
// and not "." or "..", which a normalizing proxy or server would resolve
// to another path (…/training_runs/.. is /api/v1/).
func needID(op, what, id string) error {
	if id == "" {
		return types.ValidationError(op, "%s is empty", what)
	}
	if types.IsDotSegment(id) {
		return types.ValidationError(op, "%s %q would name another URL path", what, id)
	}
	return nil
}

// Training runs.

// ListTrainingRuns returns one page of training runs (reads WithPageSize,
// WithOffset, WithAccessScope, WithProjectFilter).
func (r *RestClient) ListTrainingRuns(ctx context.Context, opts ...RestOption) (*TrainingRunsResponse, error) {
	o := restOpts(opts)
	q, err := o.query(20, true)
	if err != nil {
		return nil, err
	}
	if o.project != "" {
		q.Set("project_id", o.project)
	}
	return restCall[TrainingRunsResponse](ctx, r, "list_training_runs", http.MethodGet, "/api/v1/training_runs", q, nil)
}

// TrainingRuns yields every training run, page after page (same options as
// ListTrainingRuns; WithOffset sets where it starts).
func (r *RestClient) TrainingRuns(ctx context.Context, opts ...RestOption) iter.Seq2[TrainingRun, error] {
	return pages(func(offset int) ([]TrainingRun, *Cursor, error) {
		page, err := r.ListTrainingRuns(ctx, append(opts[:len(opts):len(opts)], WithOffset(offset))...)
		if err != nil {
			return nil, nil, err
		}
		return page.TrainingRuns, &page.Cursor, nil
	}, restOpts(opts).offset)
}

// GetTrainingRun returns one training run (reads WithAccessScope).
func (r *RestClient) GetTrainingRun(ctx context.Context, id string, opts ...RestOption) (*TrainingRun, error) {
	const op = "get_training_run"
	if err := needID(op, "training run id", id); err != nil {
		return nil, err
	}
	q, err := restOpts(opts).query(0, true)
	if err != nil {
		return nil, err
	}
	return restCall[TrainingRun](ctx, r, op, http.MethodGet, runPath(id), q, nil)
}

// GetTrainingRunByTinkerPath returns the training run a checkpoint belongs
// to (reads WithAccessScope).
func (r *RestClient) GetTrainingRunByTinkerPath(ctx context.Context, tinkerPath string, opts ...RestOption) (*TrainingRun, error) {
	p, err := types.ParseTinkerPath(tinkerPath)
	if err != nil {
		return nil, err
	}
	return r.GetTrainingRun(ctx, p.TrainingRunID, opts...)
}

// Checkpoints.

// ListCheckpoints returns the checkpoints of a training run. Without
// WithPageSize and WithOffset it asks for the whole list, as the SDK does
// (a server may still answer one page, with a cursor); with them, one page.
func (r *RestClient) ListCheckpoints(ctx context.Context, runID string, opts ...RestOption) (*CheckpointsListResponse, error) {
	const op = "list_checkpoints"
	if err := needID(op, "training run id", runID); err != nil {
		return nil, err
	}
	o := restOpts(opts)
	var q url.Values
	if o.limit != 0 || o.offset != 0 {
		var err error
		if q, err = o.query(100, false); err != nil {
			return nil, err
		}
	}
	return restCall[CheckpointsListResponse](ctx, r, op, http.MethodGet, runPath(runID)+"/checkpoints", q, nil)
}

// Checkpoints yields every checkpoint of a training run, following the
// cursor when the server pages the list.
func (r *RestClient) Checkpoints(ctx context.Context, runID string, opts ...RestOption) iter.Seq2[Checkpoint, error] {
	o := restOpts(opts)
	limit := o.limit
	return pages(func(offset int) ([]Checkpoint, *Cursor, error) {
		page, err := r.ListCheckpoints(ctx, runID, append(opts[:len(opts):len(opts)], WithOffset(offset), WithPageSize(limit))...)
		if err != nil {
			return nil, nil, err
		}
		if page.Cursor != nil && limit == 0 {
			limit = page.Cursor.Limit // go on at the server's page size
		}
		if page.Cursor == nil {
			return page.Checkpoints, &Cursor{Offset: offset, TotalCount: offset + len(page.Checkpoints)}, nil
		}
		return page.Checkpoints, page.Cursor, nil
	}, o.offset)
}

// ListUserCheckpoints returns one page of the caller's checkpoints across
// all training runs (reads WithPageSize, default 100, and WithOffset).
func (r *RestClient) ListUserCheckpoints(ctx context.Context, opts ...RestOption) (*CheckpointsListResponse, error) {
	q, err := restOpts(opts).query(100, false)
	if err != nil {
		return nil, err
	}
	return restCall[CheckpointsListResponse](ctx, r, "list_user_checkpoints", http.MethodGet, "/api/v1/checkpoints", q, nil)
}

// UserCheckpoints yields every checkpoint of the caller, page after page.
func (r *RestClient) UserCheckpoints(ctx context.Context, opts ...RestOption) iter.Seq2[Checkpoint, error] {
	return pages(func(offset int) ([]Checkpoint, *Cursor, error) {
		page, err := r.ListUserCheckpoints(ctx, append(opts[:len(opts):len(opts)], WithOffset(offset))...)
		if err != nil {
			return nil, nil, err
		}
		return page.Checkpoints, page.Cursor, nil
	}, restOpts(opts).offset)
}

// GetCheckpoint returns the checkpoint at a tinker:// path, looked up in
// its training run's list. A checkpoint the run does not have is a
// KindNotFound error (errors.Is(err, ErrNotFound); a user error) naming
// the path.
func (r *RestClient) GetCheckpoint(ctx context.Context, tinkerPath string) (*Checkpoint, error) {
	p, err := types.ParseTinkerPath(tinkerPath)
	if err != nil {
		return nil, err
	}
	for cp, err := range r.Checkpoints(ctx, p.TrainingRunID) {
		if err != nil {
			return nil, err
		}
		if cp.TinkerPath == p.String() {
			return &cp, nil
		}
	}
	return nil, &Error{Kind: types.KindNotFound, Op: "get_checkpoint",
		Message: "checkpoint " + p.String() + " not found in training run " + p.TrainingRunID}
}

// checkpointCall sends a write to one checkpoint and ignores the answer.
func (r *RestClient) checkpointCall(ctx context.Context, op, method, tinkerPath, suffix string, body any) error {
	p, err := types.ParseTinkerPath(tinkerPath)
	if err != nil {
		return err
	}
	_, err = r.do(ctx, &httpclient.Request{Op: op, Method: method, Path: checkpointPath(p) + suffix, Body: body})
	return err
}

// DeleteCheckpoint deletes a checkpoint for good.
func (r *RestClient) DeleteCheckpoint(ctx context.Context, tinkerPath string) error {
	return r.checkpointCall(ctx, "delete_checkpoint", http.MethodDelete, tinkerPath, "", nil)
}

// PublishCheckpoint makes a checkpoint readable by every key.
func (r *RestClient) PublishCheckpoint(ctx context.Context, tinkerPath string) error {
	return r.checkpointCall(ctx, "publish_checkpoint", http.MethodPost, tinkerPath, "/publish", nil)
}

// UnpublishCheckpoint makes a published checkpoint private again.
func (r *RestClient) UnpublishCheckpoint(ctx context.Context, tinkerPath string) error {
	return r.checkpointCall(ctx, "unpublish_checkpoint", http.MethodDelete, tinkerPath, "/publish", nil)
}

// SetCheckpointTTL makes a checkpoint expire ttl from now (whole seconds,
// at least one).
func (r *RestClient) SetCheckpointTTL(ctx context.Context, tinkerPath string, ttl time.Duration) error {
	const op = "set_checkpoint_ttl"
	secs := int64(ttl / time.Second)
	if secs < 1 {
		return types.ValidationError(op, "ttl %v is shorter than one second (use ClearCheckpointTTL to keep the checkpoint)", ttl)
	}
	return r.checkpointCall(ctx, op, http.MethodPut, tinkerPath, "/ttl", types.SetCheckpointTTLRequest{TTLSeconds: &secs})
}

// ClearCheckpointTTL removes a checkpoint's expiry (ttl_seconds null).
func (r *RestClient) ClearCheckpointTTL(ctx context.Context, tinkerPath string) error {
	return r.checkpointCall(ctx, "set_checkpoint_ttl", http.MethodPut, tinkerPath, "/ttl", types.SetCheckpointTTLRequest{})
}

// archiveURLRetries and archiveURLDelay: a 503 from the archive endpoint
// means the archive is being prepared; the SDK waits 30 s, up to 6 tries.
const (
	archiveURLRetries = 5
	archiveURLDelay   = 30 * time.Second
	archiveURLExpiry  = 15 * time.Minute
)

var retry503 httpclient.RetryPolicy = func(o httpclient.Outcome) bool {
	if v, ok := o.ShouldRetryHeader(); ok {
		return v
	}
	return o.StatusCode == http.StatusServiceUnavailable
}

// GetCheckpointArchiveURL returns a signed URL to download a checkpoint's
// archive, and until when it is valid. The server answers a 200 JSON body
// or a redirect, which is not followed: its Location is the URL (resolved
// against the request's when relative) and its Expires header the expiry
// (15 minutes from now when absent). A 503 (the
// archive is being prepared) is retried up to 5 times, 30 s apart or after
// the server's Retry-After.
func (r *RestClient) GetCheckpointArchiveURL(ctx context.Context, tinkerPath string) (*CheckpointArchiveURLResponse, error) {
	const op = "get_checkpoint_archive_url"
	p, err := types.ParseTinkerPath(tinkerPath)
	if err != nil {
		return nil, err
	}
	path := checkpointPath(p) + "/archive"
	var out CheckpointArchiveURLResponse
	resp, err := r.do(ctx, &httpclient.Request{Op: op, Method: http.MethodGet, Path: path,
		Into: httpclient.JSONInto(&out), Policy: httpclient.Policy{MaxRetries: httpclient.Retries(archiveURLRetries),
			Retry: retry503, Backoff: httpclient.RetryAfterOr(func(int, httpclient.Outcome, time.Time) time.Duration { return archiveURLDelay })}})
	if err != nil && resp != nil && resp.StatusCode >= 300 && resp.StatusCode < 400 {
		loc := resp.Header.Get("Location")
		if loc == "" {
			return nil, &Error{Kind: types.KindValidation, Op: op, Path: path,
				StatusCode: resp.StatusCode, Message: "redirect without a Location"}
		}
		if u, perr := url.Parse(loc); perr == nil && !u.IsAbs() {
			// A relative Location (RFC 9110 §10.2.2) is relative to the
			// archive request's URL.
			if base, berr := url.Parse(r.s.cfg.baseURL + path); berr == nil {
				loc = base.ResolveReference(u).String()
			}
		}
		out = CheckpointArchiveURLResponse{URL: loc}
		if t, perr := http.ParseTime(resp.Header.Get("Expires")); perr == nil {
			out.Expires = Timestamp{Time: t}
		} else {
			out.Expires = Timestamp{Time: r.s.rt.clock.Now().Add(archiveURLExpiry)}
		}
		return &out, nil
	}
	if err != nil {
		return nil, err
	}
	if out.URL == "" {
		return nil, &Error{Kind: types.KindValidation, Op: op, Path: path,
			Message: "server answered without a url"}
	}
	return &out, nil
}

// Sessions.

// ListSessions returns one page of session ids (reads WithPageSize,
// default 20, WithOffset, WithAccessScope).
func (r *RestClient) ListSessions(ctx context.Context, opts ...RestOption) (*ListSessionsResponse, error) {
	q, err := restOpts(opts).query(20, true)
	if err != nil {
		return nil, err
	}
	return restCall[ListSessionsResponse](ctx, r, "list_sessions", http.MethodGet, "/api/v1/sessions", q, nil)
}

// Sessions yields every session id. The list has no cursor, so it ends at
// the first empty page.
func (r *RestClient) Sessions(ctx context.Context, opts ...RestOption) iter.Seq2[string, error] {
	return pages(func(offset int) ([]string, *Cursor, error) {
		page, err := r.ListSessions(ctx, append(opts[:len(opts):len(opts)], WithOffset(offset))...)
		if err != nil {
			return nil, nil, err
		}
		return page.Sessions, nil, nil
	}, restOpts(opts).offset)
}

// GetSession returns the training runs and samplers of a session (reads
// WithAccessScope).
func (r *RestClient) GetSession(ctx context.Context, id string, opts ...RestOption) (*GetSessionResponse, error) {
	const op = "get_session"
	if err := needID(op, "session id", id); err != nil {
		return nil, err
	}
	q, err := restOpts(opts).query(0, true)
	if err != nil {
		return nil, err
	}
	return restCall[GetSessionResponse](ctx, r, op, http.MethodGet, "/api/v1/sessions/"+url.PathEscape(id), q, nil)
}

// AssignSessionProject moves a session (and its training runs) to a
// project.
func (r *RestClient) AssignSessionProject(ctx context.Context, sessionID, projectID string) error {
	const op = "assign_session_project"
	if err := needID(op, "session id", sessionID); err != nil {
		return err
	}
	if err := needID(op, "project id", projectID); err != nil {
		return err
	}
	_, err := r.do(ctx, &httpclient.Request{Op: op, Method: http.MethodPut,
		Path: "/api/v1/sessions/" + url.PathEscape(sessionID) + "/project", Body: types.AssignSessionProjectRequest{ProjectID: projectID}})
	return err
}

// ExportSessionTrace asks the server to export a session's trace and
// returns the URL of the export once it is ready, polling every 5 s
// (WithPollInterval) until then or until ctx ends. An export the server
// reports as failed is a KindRequestFailed error with its message.
func (r *RestClient) ExportSessionTrace(ctx context.Context, sessionID string, opts ...RestOption) (string, error) {
	const op = "export_session_trace"
	if err := needID(op, "session id", sessionID); err != nil {
		return "", err
	}
	every := cmpOr(restOpts(opts).pollInterval, 5*time.Second)
	path := "/api/v1/sessions/" + url.PathEscape(sessionID) + "/trace_export"
	for {
		st, err := restCall[types.SessionTraceExportResponse](ctx, r, op, http.MethodGet, path, nil, nil)
		if err != nil {
			return "", err
		}
		switch st.Status {
		case types.TraceExportReady:
			if st.URL == "" {
				return "", &Error{Kind: types.KindValidation, Op: op, Path: path, Message: "export is ready but has no url"}
			}
			return st.URL, nil
		case types.TraceExportFailed:
			return "", &Error{Kind: types.KindRequestFailed, Op: op, Path: path,
				Message: "trace export failed: " + r.serverText(st.Error)}
		case types.TraceExportPending:
		default:
			return "", &Error{Kind: types.KindValidation, Op: op, Path: path, Message: "unknown export status " + strconv.Quote(r.serverText(st.Status))}
		}
		if err := r.s.rt.sleep(ctx, every); err != nil {
			return "", types.CanceledError(op, context.Cause(ctx))
		}
	}
}

// Other reads.

// GetWeightsInfo describes the checkpoint at a tinker:// path: its base
// model and LoRA settings (reads WithWeightsAccessToken).
func (r *RestClient) GetWeightsInfo(ctx context.Context, tinkerPath string, opts ...RestOption) (*WeightsInfoResponse, error) {
	const op = "weights_info"
	if _, err := types.ParseTinkerPath(tinkerPath); err != nil {
		return nil, err
	}
	token := restOpts(opts).token
	var hdr http.Header
	var secrets []string
	if token != "" {
		if err := types.ValidateAPIKey(token); err != nil {
			return nil, &Error{Kind: types.KindValidation, Op: op, Message: "weights access token: " + err.(*Error).Message}
		}
		hdr, secrets = http.Header{"X-Api-Key": {token}}, []string{token}
	}
	var out WeightsInfoResponse
	_, err := r.do(ctx, &httpclient.Request{Op: op, Path: "/api/v1/weights_info", Header: hdr, Secrets: secrets,
		Body: types.WeightsInfoRequest{TinkerPath: tinkerPath}, Into: httpclient.JSONInto(&out)})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// GetSampler describes a sampling session.
func (r *RestClient) GetSampler(ctx context.Context, samplerID string) (*GetSamplerResponse, error) {
	const op = "get_sampler"
	if err := needID(op, "sampler id", samplerID); err != nil {
		return nil, err
	}
	return restCall[GetSamplerResponse](ctx, r, op, http.MethodGet, "/api/v1/samplers/"+url.PathEscape(samplerID), nil, nil)
}

// WhoAmI returns who the held credential says the caller is, as the
// SDK's whoami: no HTTP call, the claims of the JWT this client sends
// (the one its key was exchanged for under JWT auth, or a key that is
// itself a JWT) decoded without verifying them: sub as UserURN, email as
// Email (nil when empty). With a plain API key there is nothing to decode:
// a KindValidation error says so. Claim text is scrubbed like any server
// text.
func (r *RestClient) WhoAmI(ctx context.Context) (*WhoAmI, error) {
	const op = "whoami"
	if r.s.stopped.Load() {
		return nil, r.s.stoppedError(op)
	}
	if err := ctx.Err(); err != nil {
		return nil, types.CanceledError(op, context.Cause(ctx))
	}
	var claims struct {
		Sub   string `json:"sub"`
		Email string `json:"email"`
	}
	if !r.s.http.CredentialClaims(&claims) {
		return nil, types.ValidationError(op, "whoami needs JWT auth: this client sends a plain API key, which carries no identity to decode")
	}
	w := &WhoAmI{UserURN: r.s.http.Scrub(claims.Sub)}
	if claims.Email != "" {
		email := r.s.http.Scrub(claims.Email)
		w.Email = &email
	}
	return w, nil
}

// GetAuditLog returns the caller's audit log entries of one event type
// (AuditEventsAll, the default when empty, or AuditEventsCheckpoints),
// of one UTC day when day is not zero.
func (r *RestClient) GetAuditLog(ctx context.Context, eventType string, day time.Time) (*AuditLogResponse, error) {
	const op = "get_audit_log"
	eventType = cmpOr(eventType, AuditEventsAll)
	if eventType != AuditEventsAll && eventType != AuditEventsCheckpoints {
		return nil, types.ValidationError(op, "event type %q is not %q or %q", eventType, AuditEventsAll, AuditEventsCheckpoints)
	}
	q := url.Values{"event_type": {eventType}}
	if !day.IsZero() {
		q.Set("day", day.UTC().Format(time.DateOnly))
	}
	return restCall[AuditLogResponse](ctx, r, op, http.MethodGet, "/api/v1/audit", q, nil)
}

// GetBillingUsage returns the caller's usage in hourly buckets from
// startingOn (inclusive) to endingBefore (exclusive), with estimated
// costs, as the SDK's get_billing_usage: GET
// /api/v1/billing/usage/events?starting_on&ending_before, both RFC 3339 in
// UTC. Both times are required and startingOn must come first (a
// KindValidation error otherwise, nothing sent); a reply without its data
// list, bucket times or event types is a KindValidation error too.
func (r *RestClient) GetBillingUsage(ctx context.Context, startingOn, endingBefore time.Time) (*BillingUsageResponse, error) {
	const op = "get_billing_usage"
	switch {
	case startingOn.IsZero() || endingBefore.IsZero():
		return nil, types.ValidationError(op, "both startingOn and endingBefore are required")
	case !startingOn.Before(endingBefore):
		return nil, types.ValidationError(op, "startingOn (%s) must be before endingBefore (%s)",
			startingOn.UTC().Format(time.RFC3339Nano), endingBefore.UTC().Format(time.RFC3339Nano))
	}
	q := url.Values{"starting_on": {startingOn.UTC().Format(time.RFC3339Nano)},
		"ending_before": {endingBefore.UTC().Format(time.RFC3339Nano)}}
	out, err := restCall[BillingUsageResponse](ctx, r, op, http.MethodGet, "/api/v1/billing/usage/events", q, nil)
	if err != nil {
		return nil, err
	}
	if err := out.Validate(); err != nil {
		return nil, err
	}
	return out, nil
}

// serverText is text from a REST body, which did not pass through the
// HTTP layer's error path, put in an error: scrubbed of the client's
// credentials (key, JWT, anything shaped like one), then cut to 512 bytes.
func (r *RestClient) serverText(s string) string {
	s = r.s.http.Scrub(s)
	if len(s) > 512 {
		s = strings.ToValidUTF8(s[:512], "") + "…"
	}
	return s
}

// pages walks an offset-paged list from start: fetch returns one page and
// its cursor (nil when the list has none; then the walk ends at an empty
// page). It yields every item, or one error and stops.
//
// A server that ignores the offset and sends the same non-empty page again
// would make the walk endless; a page equal to the one before it ends the
// walk with a KindValidation error instead. (A caller bounds any other
// endless list with its ctx, which every fetch takes.)
func pages[T any](fetch func(offset int) ([]T, *Cursor, error), start int) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		offset := start
		var prev []T
		for {
			items, cur, err := fetch(offset)
			if err == nil && len(items) > 0 && reflect.DeepEqual(items, prev) {
				err = &Error{Kind: types.KindValidation, Op: "list",
					Message: fmt.Sprintf("the server sent the page at offset %d again for offset %d (it ignores the offset); the list cannot be walked", offset-len(prev), offset)}
			}
			if err != nil {
				var zero T
				yield(zero, err)
				return
			}
			for _, it := range items {
				if !yield(it, nil) {
					return
				}
			}
			offset += len(items)
			if len(items) == 0 || cur != nil && offset >= cur.TotalCount {
				return
			}
			prev = items
		}
	}
}

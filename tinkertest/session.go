package tinkertest

import (
	"encoding/json"
	"net/http"
	"time"
)

// Session is a session created with create_session.
type Session struct {
	ID             string
	KeyFingerprint string
	Tags           []string
	UserMetadata   map[string]any
	ProjectID      string
	SDKVersion     string
	Created        time.Time
	Heartbeats     int
	LastHeartbeat  time.Time
}

// TelemetryBatch is one accepted POST /api/v1/telemetry body.
type TelemetryBatch struct {
	KeyFingerprint string
	SessionID      string
	Events         []map[string]any
	Body           map[string]any
}

func newUUID() string {
	b := randomBytes(16)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	const hex = "0123456789abcdef"
	out := make([]byte, 0, 36)
	for i, x := range b {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			out = append(out, '-')
		}
		out = append(out, hex[x>>4], hex[x&15])
	}
	return string(out)
}

func (c *call) healthz() reply { return okJSON(map[string]string{"status": "ok"}) }

func (c *call) capabilities() reply {
	models := make([]map[string]any, len(c.s.cfg.models))
	for i, m := range c.s.cfg.models {
		models[i] = map[string]any{"model_name": m.Name, "max_context_length": m.MaxContextLength}
	}
	return okJSON(map[string]any{"supported_models": models})
}

// clientConfigDefaults is the client/config answer before WithClientConfig;
// it includes an extra field clients must ignore.
func (s *Server) clientConfigBody() map[string]any {
	m := map[string]any{
		"pjwt_auth_enabled":                        s.cfg.jwtTTL > 0,
		"credential_default_source":                "api_key",
		"sample_dispatch_bytes_semaphore_size":     10 << 20,
		"inflight_response_bytes_semaphore_size":   50 << 20,
		"parallel_fwdbwd_chunks":                   true,
		"proto_compress_fwdbwd":                    false,
		"fwdbwd_max_chunk_len":                     1024,
		"fwdbwd_max_chunk_bytes_count":             5_000_000,
		"fwdbwd_dispatch_bytes_semaphore_size":     50_000_000,
		"billing_exception_max_pause_duration_sec": 3600,
		"sample_no_retries":                        false,
		"sample_enable_stuck_detection":            true,
		"sample_max_concurrent_requests":           2000,
		"use_pyqwest_transport":                    true,
		"create_model_via_load_weights":            false,
		"tinkertest_unknown_field":                 "clients must ignore unknown fields",
	}
	for k, v := range s.cfg.clientConfig {
		m[k] = v
	}
	return m
}

// sdkVersionBody reads a {"sdk_version"} body.
func (c *call) sdkVersionBody() (reply, bool) {
	o, rep, ok := c.parse()
	if !ok {
		return rep, false
	}
	o.str("sdk_version", true)
	if err := o.finish(); err != nil {
		return detailReply(http.StatusBadRequest, "%v", err), false
	}
	return reply{}, true
}

func (c *call) clientConfig() reply {
	if rep, ok := c.sdkVersionBody(); !ok {
		return rep
	}
	return okJSON(c.s.clientConfigBody())
}

func (c *call) dynamicConfig() reply {
	if rep, ok := c.sdkVersionBody(); !ok {
		return rep
	}
	if c.s.cfg.noDynamicConfig {
		return detailReply(http.StatusNotFound, "Not Found")
	}
	return okJSON(map[string]int{"refresh_interval_sec": c.s.cfg.refreshInterval})
}

func (c *call) createSession() reply {
	o, rep, ok := c.parse()
	if !ok {
		return rep
	}
	tags := o.strings("tags", true)
	meta := o.anyObject("user_metadata", true)
	ver := o.str("sdk_version", true)
	project := o.str("project_id", false)
	o.literal("type", "create_session")
	if err := o.finish(); err != nil {
		return detailReply(http.StatusBadRequest, "%v", err)
	}
	s := c.s
	s.mu.Lock()
	defer s.mu.Unlock()
	ss := &session{Session: Session{ID: newUUID(), KeyFingerprint: c.owner, Tags: tags, UserMetadata: meta,
		ProjectID: project, SDKVersion: ver, Created: s.now()}}
	s.st.sessions[ss.ID] = ss
	s.st.sessionOrder = append(s.st.sessionOrder, ss)
	c.note(func(e *Entry) { e.SessionID = ss.ID })
	out := map[string]string{"session_id": ss.ID, "type": "create_session"}
	for k, v := range s.cfg.sessionMessages {
		out[k] = v
	}
	return okJSON(out)
}

// sessionFor returns the caller's session, or nil.
func (s *Server) sessionFor(owner, id string) *session {
	ss := s.st.sessions[id]
	if ss == nil || ss.KeyFingerprint != owner {
		return nil
	}
	return ss
}

func (c *call) heartbeat() reply {
	o, rep, ok := c.parse()
	if !ok {
		return rep
	}
	id := o.str("session_id", true)
	o.literal("type", "session_heartbeat")
	if err := o.finish(); err != nil {
		return detailReply(http.StatusBadRequest, "%v", err)
	}
	c.note(func(e *Entry) { e.SessionID = id })
	s := c.s
	s.mu.Lock()
	defer s.mu.Unlock()
	ss := s.sessionFor(c.owner, id)
	if ss == nil {
		return detailReply(http.StatusNotFound, "session %s not found", id)
	}
	ss.Heartbeats++
	ss.LastHeartbeat = s.now()
	return okJSON(map[string]string{"type": "session_heartbeat"})
}

var telemetryEvents = map[string]bool{"SESSION_START": true, "SESSION_END": true, "UNHANDLED_EXCEPTION": true, "GENERIC_EVENT": true}
var severities = map[string]bool{"DEBUG": true, "INFO": true, "WARNING": true, "ERROR": true, "CRITICAL": true}

// maxTelemetryEvents is the batch size the SDK never exceeds.
const maxTelemetryEvents = 100

func (c *call) telemetry() reply {
	o, rep, ok := c.parse()
	if !ok {
		return rep
	}
	events := o.array("events", true)
	o.str("platform", true)
	o.str("sdk_version", true)
	sid := o.str("session_id", true)
	o.str("process_uuid", false)
	if err := o.finish(); err != nil {
		return detailReply(http.StatusBadRequest, "%v", err)
	}
	if len(events) > maxTelemetryEvents {
		return detailReply(http.StatusBadRequest, "events: at most %d events per batch, got %d", maxTelemetryEvents, len(events))
	}
	evs := make([]map[string]any, 0, len(events))
	for i, raw := range events {
		ev, err := checkEvent(raw, i)
		if err != nil {
			return detailReply(http.StatusBadRequest, "%v", err)
		}
		evs = append(evs, ev)
	}
	var body map[string]any
	_ = json.Unmarshal(c.body, &body)
	s := c.s
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.telemetry = append(s.st.telemetry, TelemetryBatch{KeyFingerprint: c.owner, SessionID: sid, Events: evs, Body: body})
	if n := len(s.st.telemetry) - s.cfg.telemetryLimit; n > 0 {
		s.st.telemetry = append([]TelemetryBatch(nil), s.st.telemetry[n:]...)
		s.st.telDropped += n
	}
	c.note(func(e *Entry) { e.SessionID = sid })
	return okJSON(map[string]string{"status": "accepted"})
}

func checkEvent(raw json.RawMessage, i int) (map[string]any, error) {
	o, err := parseObject("events["+itoa(i)+"]", raw)
	if err != nil {
		return nil, err
	}
	kind := o.str("event", true)
	o.str("event_id", true)
	o.integer("event_session_index", true)
	sev := o.str("severity", true)
	ts := o.str("timestamp", true)
	switch kind {
	case "SESSION_END":
		o.str("duration", false)
	case "UNHANDLED_EXCEPTION":
		o.str("error_type", true)
		o.str("error_message", false)
		o.str("traceback", false)
	case "GENERIC_EVENT":
		o.str("event_name", true)
		o.anyObject("event_data", false)
	}
	if err := o.finish(); err != nil {
		return nil, err
	}
	if !telemetryEvents[kind] {
		return nil, errorf("events[%d].event: unknown event type %q", i, kind)
	}
	if !severities[sev] {
		return nil, errorf("events[%d].severity: unknown severity %q", i, sev)
	}
	if _, err := parseTimestamp(ts); err != nil {
		return nil, errorf("events[%d].timestamp: %q is not ISO 8601", i, ts)
	}
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	return m, nil
}

func parseTimestamp(s string) (time.Time, error) {
	var err error
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02T15:04:05.999999999-07:00"} {
		var t time.Time
		if t, err = time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, err
}

// Sessions returns the sessions created so far, in creation order.
func (s *Server) Sessions() []Session {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Session, len(s.st.sessionOrder))
	for i, ss := range s.st.sessionOrder {
		out[i] = ss.Session
	}
	return out
}

// Heartbeats is how many heartbeats session id has received (0 for an
// unknown session).
func (s *Server) Heartbeats(sessionID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ss := s.st.sessions[sessionID]; ss != nil {
		return ss.Heartbeats
	}
	return 0
}

// TelemetryBatches returns the accepted telemetry batches in arrival order
// (the newest 10,000).
func (s *Server) TelemetryBatches() []TelemetryBatch {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]TelemetryBatch(nil), s.st.telemetry...)
}

package tinkertest

import (
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/tinkex-go/tinkex/types"
)

// state is the fake service's memory, guarded by Server.mu.
type state struct {
	closed       bool
	sessions     map[string]*session
	sessionOrder []*session
	models       map[string]*model
	modelOrder   []*model
	samplers     map[string]*sampler
	checkpoints  map[string]*checkpoint // by tinker path
	ckptOrder    []*checkpoint
	telemetry    []TelemetryBatch
	telDropped   int
	paused       bool
	pausedOps    []*op
	timers       map[*time.Timer]struct{}
	duplicates   int
}

func (st *state) init() {
	st.sessions = map[string]*session{}
	st.models = map[string]*model{}
	st.samplers = map[string]*sampler{}
	st.checkpoints = map[string]*checkpoint{}
	st.timers = map[*time.Timer]struct{}{}
}

type session struct {
	Session
}

type model struct {
	id, owner, sessionID string
	baseModel            string
	lora                 loraConfig
	userMetadata         map[string]any
	created, lastRequest time.Time
	viaLoad              bool
	nextSeq              int64
	busy                 bool
	pending              map[int64]*op
	pendingSaves         map[string]bool
	bodies               map[int64][sha256.Size]byte // digest of the body each seq_id was first accepted with
	step                 int
	accumulated          float64
	unloaded             bool
	lastCkpt, lastSCkpt  *checkpoint
}

type loraConfig struct {
	Rank                              int64
	Seed                              *int64
	TrainUnembed, TrainMLP, TrainAttn bool
}

type sampler struct {
	id, owner, sessionID, baseModel, modelPath string
	seqIDs                                     []int64
	requests                                   int
}

// samplerSeqLimit bounds the sampling seq ids remembered per sampler.
const samplerSeqLimit = 100_000

type checkpoint struct {
	runID, id, ctype, path, owner string
	baseModel                     string
	lora                          loraConfig
	time                          time.Time
	size                          int64
	public                        bool
	expiresAt                     *time.Time
}

// op is a unit of work behind a future. Training ops run one at a time per
// model in seq_id order; others run as soon as they are submitted.
type op struct {
	fut      *future
	model    *model
	seq      int64
	endpoint string
	run      func() (any, error) // under Server.mu
}

// userError fails a future with category user; other errors use their own.
type opError struct {
	msg      string
	category types.Category
}

func (e *opError) Error() string { return e.msg }

func userErr(format string, args ...any) error {
	return &opError{msg: fmt.Sprintf(format, args...), category: types.CategoryUser}
}

func errCategory(err error) types.Category {
	var oe *opError
	if errors.As(err, &oe) {
		return oe.category
	}
	return types.CategoryUser
}

// startOp runs o after its service time (or parks it while paused). Under mu.
func (s *Server) startOp(o *op) {
	if s.st.closed {
		return
	}
	if s.st.paused {
		s.st.pausedOps = append(s.st.pausedOps, o)
		return
	}
	d := s.cfg.serviceTime[o.endpoint]
	if d <= 0 {
		s.finishOp(o)
		return
	}
	s.timers.Add(1)
	var t *time.Timer
	t = time.AfterFunc(d, func() {
		defer s.timers.Done()
		s.mu.Lock()
		defer s.mu.Unlock()
		delete(s.st.timers, t)
		if s.st.closed {
			return
		}
		s.finishOp(o)
		if o.model != nil {
			s.pump(o.model)
		}
	})
	s.st.timers[t] = struct{}{}
}

func (s *Server) stopTimers() {
	for t := range s.st.timers {
		if t.Stop() {
			s.timers.Done()
		}
	}
	clear(s.st.timers)
}

func (s *Server) finishOp(o *op) {
	if !o.fut.finished {
		v, err := o.run()
		s.complete(o.fut, v, err)
	}
	if m := o.model; m != nil {
		m.busy = false
		m.nextSeq = o.seq + 1
	}
}

// enqueue adds a training op to its model's queue and runs what is in
// order. Under mu.
func (s *Server) enqueue(m *model, o *op) {
	m.pending[o.seq] = o
	s.pump(m)
}

func (s *Server) pump(m *model) {
	for !m.busy && !s.st.closed {
		o := m.pending[m.nextSeq]
		if o == nil {
			return
		}
		delete(m.pending, m.nextSeq)
		m.busy = true
		s.startOp(o)
	}
}

// isDuplicate reports whether seq was already submitted to m.
func (m *model) isDuplicate(seq int64) bool {
	return seq < m.nextSeq || m.pending[seq] != nil || (m.busy && seq == m.nextSeq)
}

// digest identifies a request body for the seq_id reuse check: JSON bodies
// canonically (key order and spacing do not count), others byte for byte
// (after any Content-Encoding was undone).
func (c *call) digest() [sha256.Size]byte {
	var v any
	if json.Unmarshal(c.body, &v) == nil {
		if b, err := json.Marshal(v); err == nil {
			return sha256.Sum256(b)
		}
	}
	return sha256.Sum256(c.body)
}

func trainRequestID(modelID string, seq int64) string { return fmt.Sprintf("%s:%d", modelID, seq) }

// PauseProcessing parks all work: submits are accepted and answered with a
// request id, but no future completes (polls answer try_again) until
// ResumeProcessing. Training order is kept.
func (s *Server) PauseProcessing() {
	s.mu.Lock()
	s.st.paused = true
	s.mu.Unlock()
}

// ResumeProcessing runs the parked work.
func (s *Server) ResumeProcessing() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.paused = false
	ops := s.st.pausedOps
	s.st.pausedOps = nil
	for _, o := range ops {
		s.startOp(o)
		if o.model != nil {
			s.pump(o.model)
		}
	}
}

// SetServiceTime changes the service time of endpoint for work submitted
// from now on (see WithServiceTime).
func (s *Server) SetServiceTime(endpoint string, d time.Duration) {
	s.mu.Lock()
	s.cfg.serviceTime[endpoint] = d
	s.mu.Unlock()
}

// SetLongPollHold changes the long-poll hold (see WithLongPollHold).
func (s *Server) SetLongPollHold(d time.Duration) {
	s.mu.Lock()
	s.cfg.hold = d
	s.mu.Unlock()
}

// Duplicates is how many submits were answered with an existing future
// because their (model_id, seq_id), (sampler, seq_id) or creation seq id
// had been seen.
func (s *Server) Duplicates() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.duplicates
}

// PendingOps is how many training requests are held waiting for a lower
// seq_id of their model.
func (s *Server) PendingOps(modelID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m := s.st.models[modelID]; m != nil {
		return len(m.pending)
	}
	return 0
}

func (s *Server) modelFor(owner, id string) *model {
	m := s.st.models[id]
	if m == nil || m.owner != owner || m.unloaded {
		return nil
	}
	return m
}

func (s *Server) baseModel(name string) (BaseModel, bool) {
	for _, m := range s.cfg.models {
		if m.Name == name {
			return m, true
		}
	}
	return BaseModel{}, false
}

// ModelInfo describes a training model for tests.
type ModelInfo struct {
	ID, SessionID, BaseModel, KeyFingerprint string
	LoraRank                                 int64
	// NextSeqID is the seq_id the model waits for next (1 after creation).
	NextSeqID int64
	// Held is how many requests wait for a lower seq_id.
	Held int
	// Steps is how many optim_steps have run.
	Steps    int
	Unloaded bool
}

// Model returns what the server knows about model id.
func (s *Server) Model(id string) (ModelInfo, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.st.models[id]
	if m == nil {
		return ModelInfo{}, false
	}
	return ModelInfo{ID: m.id, SessionID: m.sessionID, BaseModel: m.baseModel, KeyFingerprint: m.owner, LoraRank: m.lora.Rank,
		NextSeqID: m.nextSeq, Held: len(m.pending), Steps: m.step, Unloaded: m.unloaded}, true
}

package tinkertest

import (
	"net/http"

	"github.com/tinkex-go/tinkex/types"
)

// finalRejection reports whether a status refuses a training submit for good:
// the server read the request and rejected it, and the client will not send
// the same seq_id again. Such a seq_id is spent, as it is for the real
// service (a Python client moves on to the next seq_id after a rejected
// request, and its later requests do not hang). Statuses a client resends
// with the same seq_id (402, 408, 409, 429, 5xx), or that say the request
// was never attributed to the model (401, 403, 404), do not spend it.
func finalRejection(status int) bool {
	switch status {
	case http.StatusUnauthorized, http.StatusPaymentRequired, http.StatusForbidden, http.StatusNotFound,
		http.StatusRequestTimeout, http.StatusConflict, http.StatusTooManyRequests:
		return false
	}
	return status >= 400 && status < 500
}

// trainingSubmit reports whether an endpoint takes a model's seq_id.
func trainingSubmit(endpoint string) bool {
	switch endpoint {
	case EndpointForwardBackward, EndpointForward, EndpointOptimStep, EndpointSaveWeights,
		EndpointSaveWeightsForSampler, EndpointLoadWeights:
		return true
	}
	return false
}

// spendRejectedSeq marks the seq_id of a training submit rejected by an
// injected fault as done, so the model's later seq_ids do not wait for it.
// Resubmitting that seq_id answers the same (failed) future.
func (s *Server) spendRejectedSeq(c *call, status int) {
	if !finalRejection(status) || !trainingSubmit(c.endpoint) {
		return
	}
	s.log.mu.Lock()
	modelID, seq, ok := c.entry.ModelID, c.entry.SeqID, c.entry.HasSeqID
	s.log.mu.Unlock()
	if !ok || modelID == "" || seq < 1 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.modelFor(c.owner, modelID)
	if m == nil || m.isDuplicate(seq) {
		return
	}
	s.spendSeq(c, m, seq, status)
}

// spendSeq marks seq of m as done with a failed future, for a submit the
// server read and refused (an injected final rejection, or its own refusal
// such as a 409 for a checkpoint name taken): later seq_ids do not wait for
// it, and a resubmission answers the failed future. Under mu.
func (s *Server) spendSeq(c *call, m *model, seq int64, status int) {
	f, _ := s.newFuture(trainRequestID(m.id, seq), c.owner, "Rejected")
	f.modelID, f.seq = m.id, seq
	m.bodies[seq] = c.digest()
	s.enqueue(m, &op{fut: f, model: m, seq: seq, endpoint: c.endpoint, run: func() (any, error) {
		return nil, &opError{msg: "request rejected with HTTP " + http.StatusText(status), category: types.CategoryUser}
	}})
}

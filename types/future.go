package types

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// UntypedAPIFuture is what every future-returning endpoint answers:
// {"request_id", "model_id"?}. Poll it with retrieve_future.
type UntypedAPIFuture struct {
	RequestID string `json:"request_id"`
	ModelID   string `json:"model_id,omitempty"`
}

// RetrieveFutureRequest is the body of POST /api/v1/retrieve_future. The
// first poll sets AllowMetadataOnly.
type RetrieveFutureRequest struct {
	RequestID         string `json:"request_id"`
	AllowMetadataOnly bool   `json:"allow_metadata_only"`
}

// QueueState is the server's view of why a request is still waiting.
type QueueState string

// Queue states. Any string the server sends that is not one of the first
// three decodes as QueueStateUnknown.
const (
	QueueStateActive          QueueState = "active"
	QueueStatePausedCapacity  QueueState = "paused_capacity"
	QueueStatePausedRateLimit QueueState = "paused_rate_limit"
	QueueStateUnknown         QueueState = "unknown"
)

// ParseQueueState maps a wire value to a QueueState.
func ParseQueueState(s string) QueueState {
	switch q := QueueState(s); q {
	case QueueStateActive, QueueStatePausedCapacity, QueueStatePausedRateLimit:
		return q
	}
	return QueueStateUnknown
}

// UnmarshalJSON maps unknown values to QueueStateUnknown.
func (q *QueueState) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	*q = ParseQueueState(s)
	return nil
}

// DefaultQueueStateReason is the message the SDK shows for a paused state
// when the server gives no reason; training selects the training wording for
// paused_rate_limit. It returns "" for other states.
func DefaultQueueStateReason(q QueueState, training bool) string {
	switch q {
	case QueueStatePausedRateLimit:
		if training {
			return "concurrent training clients rate limit hit"
		}
		return "concurrent sampler weights limit hit"
	case QueueStatePausedCapacity:
		return "Tinker backend is running short on capacity, please wait"
	}
	return ""
}

// TryAgainResponse says the result is not ready: poll again at once. It is
// also the shape of the optional body of a 408 poll response.
type TryAgainResponse struct {
	Type             string     `json:"type"`
	RequestID        string     `json:"request_id"`
	QueueState       QueueState `json:"queue_state"`
	QueueStateReason string     `json:"queue_state_reason,omitempty"`
}

// CompleteMetadataResponse says the result is ready and how big it is; the
// client reserves that many bytes and polls again without metadata-only.
type CompleteMetadataResponse struct {
	Status              string `json:"status"`
	ResponsePayloadSize int64  `json:"response_payload_size"`
}

// FutureErrorResponse says the request failed for good.
type FutureErrorResponse struct {
	Error    string   `json:"error"`
	Category Category `json:"category"`
}

// UnmarshalJSON maps a missing or unknown category to CategoryUnknown.
func (r *FutureErrorResponse) UnmarshalJSON(b []byte) error {
	var w struct {
		Error    json.RawMessage `json:"error"`
		Category json.RawMessage `json:"category"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	var msg, cat string
	if json.Unmarshal(w.Error, &msg) != nil {
		msg = strings.TrimSpace(string(w.Error))
	}
	_ = json.Unmarshal(w.Category, &cat)
	*r = FutureErrorResponse{Error: msg, Category: ParseCategory(cat)}
	return nil
}

// Err returns the KindRequestFailed *Error for this failure, for op and the
// future's request id. It is never retryable.
func (r FutureErrorResponse) Err(op, requestID string) *Error {
	return &Error{Kind: KindRequestFailed, Op: op, Category: r.Category, RequestID: requestID, Message: r.Error}
}

// FutureBodyKind says what a 2xx JSON retrieve_future body holds.
type FutureBodyKind uint8

// The kinds of retrieve_future bodies.
const (
	FutureResult           FutureBodyKind = iota // the operation's result, in Result
	FutureTryAgain                               // not ready; in TryAgain
	FutureCompleteMetadata                       // ready, size announced; in Metadata
	FutureFailed                                 // failed; in Error
)

// String names the kind.
func (k FutureBodyKind) String() string {
	switch k {
	case FutureResult:
		return "result"
	case FutureTryAgain:
		return "try_again"
	case FutureCompleteMetadata:
		return "complete_metadata"
	case FutureFailed:
		return "error"
	}
	return fmt.Sprintf("FutureBodyKind(%d)", uint8(k))
}

// FutureBody is a classified retrieve_future JSON body. Exactly the field
// matching Kind is set.
type FutureBody struct {
	Kind     FutureBodyKind
	TryAgain *TryAgainResponse
	Metadata *CompleteMetadataResponse
	Error    *FutureErrorResponse
	Result   json.RawMessage
}

// ParseFutureBody classifies a 2xx JSON retrieve_future body, in the SDK's
// order: "type":"try_again", then "status":"complete_metadata", then any
// object with an "error" key, else the raw result. A body that is not a JSON
// object, or a try_again/metadata body with badly typed fields, is a
// KindValidation error. It never panics.
func ParseFutureBody(b []byte) (FutureBody, error) {
	const op = "retrieve_future"
	var head map[string]json.RawMessage
	if err := json.Unmarshal(b, &head); err != nil || head == nil {
		return FutureBody{}, &Error{Kind: KindValidation, Op: op, Message: "response body is not a JSON object", Err: err}
	}
	if t, ok := head["type"]; ok && jsonStringIs(t, "try_again") {
		var r TryAgainResponse
		if err := json.Unmarshal(b, &r); err != nil {
			return FutureBody{}, &Error{Kind: KindValidation, Op: op, Message: "malformed try_again body", Err: err}
		}
		return FutureBody{Kind: FutureTryAgain, TryAgain: &r}, nil
	}
	if s, ok := head["status"]; ok && jsonStringIs(s, "complete_metadata") {
		var r CompleteMetadataResponse
		if err := json.Unmarshal(b, &r); err != nil {
			return FutureBody{}, &Error{Kind: KindValidation, Op: op, Message: "malformed complete_metadata body", Err: err}
		}
		if r.ResponsePayloadSize < 0 {
			return FutureBody{}, ValidationError(op, "complete_metadata has negative response_payload_size %d", r.ResponsePayloadSize)
		}
		return FutureBody{Kind: FutureCompleteMetadata, Metadata: &r}, nil
	}
	if _, ok := head["error"]; ok {
		var r FutureErrorResponse
		if err := json.Unmarshal(b, &r); err != nil {
			return FutureBody{}, &Error{Kind: KindValidation, Op: op, Message: "malformed error body", Err: err}
		}
		return FutureBody{Kind: FutureFailed, Error: &r}, nil
	}
	return FutureBody{Kind: FutureResult, Result: json.RawMessage(bytes.Clone(b))}, nil
}

func jsonStringIs(raw json.RawMessage, want string) bool {
	var s string
	return json.Unmarshal(raw, &s) == nil && s == want
}

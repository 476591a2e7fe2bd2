package types

import "fmt"

// Kinds of usage, BillingEventInfo.Type (the SDK's
// types/billing_usage_response.py).
const (
	BillingTraining        = "training"         // training tokens of forward/backward passes
	BillingSamplingPrefill = "sampling_prefill" // prompt tokens processed while sampling
	BillingSamplingSample  = "sampling_sample"  // tokens generated while sampling
	BillingCheckpoint      = "checkpoint"       // checkpoint operations
	BillingStorage         = "storage"          // checkpoint storage, in gigabyte-hours
)

// BillingEventInfo is what kind of usage a BillingUsageEvent is, and how
// much: the SDK's tagged union on Type as one struct. TokenCount is set for
// the token kinds, Cached for sampling_prefill (served from the prefill
// cache, billed at the cached rate), Count for checkpoint, GigabyteHours
// for storage. A Type this version does not know is kept as it is, with
// whatever of these fields it carries.
type BillingEventInfo struct {
	Type          string  `json:"type"`
	TokenCount    int64   `json:"token_count,omitempty"`
	Cached        bool    `json:"cached,omitempty"`
	Count         int64   `json:"count,omitempty"`
	GigabyteHours float64 `json:"gigabyte_hours,omitempty"`
}

// BillingUsageEvent is one hourly bucket of usage: who and what it is
// attributed to, its estimated cost, and EventInfo. The attribution fields
// are "" when the server does not know them (storage has no session). The
// cost and rates are nil when the server could not price the bucket; they
// are gross estimates before credits and commits, not an amount due.
type BillingUsageEvent struct {
	BucketStart Timestamp `json:"bucket_start"` // inclusive start of the UTC hour
	BucketEnd   Timestamp `json:"bucket_end"`   // exclusive end
	BaseModel   string    `json:"base_model,omitempty"`
	UserID      string    `json:"user_id,omitempty"`
	UserName    string    `json:"user_name,omitempty"`
	SessionID   string    `json:"session_id,omitempty"` // a key of BillingUsageResponse.Sessions
	ProjectID   string    `json:"project_id,omitempty"`

	EstimatedCostUSD                 *float64 `json:"estimated_cost_usd,omitempty"`
	EffectiveRateUSDPerMillionTokens *float64 `json:"effective_rate_usd_per_million_tokens,omitempty"`
	EffectiveRateUSDPerGigabyteMonth *float64 `json:"effective_rate_usd_per_gigabyte_month,omitempty"`

	EventInfo BillingEventInfo `json:"event_info"`
}

// BillingUsageSession is what the billing report says of one session: its
// user_metadata as given to create_session (nil when it had none).
type BillingUsageSession struct {
	UserMetadata map[string]string `json:"user_metadata,omitempty"`
}

// BillingUsageResponse is the reply to GET /api/v1/billing/usage/events:
// hourly usage events, ordered by bucket and then by descending quantity,
// the sessions they name, and CostDataThrough, the boundary before which
// cost estimates come from invoices and after which from the published
// rates (nil when no completed day is invoice-priced).
type BillingUsageResponse struct {
	Data            []BillingUsageEvent            `json:"data"`
	Sessions        map[string]BillingUsageSession `json:"sessions,omitempty"`
	CostDataThrough *Timestamp                     `json:"cost_data_through,omitempty"`
}

// Validate checks what the SDK's model requires of a reply: a data list,
// and in each event both bucket times and an event_info with a type.
// Failure is a KindValidation error naming the event.
func (r *BillingUsageResponse) Validate() error {
	const op = "get_billing_usage"
	if r.Data == nil {
		return ValidationError(op, "the reply has no data list")
	}
	for i, ev := range r.Data {
		what := fmt.Sprintf("data[%d]", i)
		switch {
		case ev.BucketStart.IsZero() || ev.BucketEnd.IsZero():
			return ValidationError(op, "%s has no bucket_start or bucket_end", what)
		case ev.EventInfo.Type == "":
			return ValidationError(op, "%s has no event_info type", what)
		}
	}
	return nil
}

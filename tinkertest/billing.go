package tinkertest

import (
	"net/http"
	"sort"
	"time"
)

// billingUsage is GET /api/v1/billing/usage/events?starting_on&ending_before
// (the SDK's get_billing_usage, types/billing_usage_response.py): hourly
// buckets of the caller's usage in [starting_on, ending_before). This fake
// bills what it keeps a record of, checkpoints (event_info type
// "checkpoint", one event per hour, session and base model), with no cost
// estimate. Both bounds are required RFC 3339 times, the first before the
// second.
func (c *call) billingUsage() reply {
	q := c.r.URL.Query()
	bound := func(name string) (time.Time, *reply) {
		v := q.Get(name)
		if v == "" {
			r := detailReply(http.StatusBadRequest, "%s: field required", name)
			return time.Time{}, &r
		}
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			r := detailReply(http.StatusBadRequest, "%s: must be an RFC 3339 time, got %q", name, v)
			return time.Time{}, &r
		}
		return t, nil
	}
	from, rep := bound("starting_on")
	if rep != nil {
		return *rep
	}
	to, rep := bound("ending_before")
	if rep != nil {
		return *rep
	}
	if !from.Before(to) {
		return detailReply(http.StatusBadRequest, "starting_on must be before ending_before")
	}
	type key struct {
		bucket             time.Time
		session, baseModel string
	}
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	counts := map[key]int{}
	for _, ck := range c.s.st.ckptOrder {
		if ck.owner != c.owner || ck.time.Before(from) || !ck.time.Before(to) {
			continue
		}
		k := key{bucket: ck.time.UTC().Truncate(time.Hour), baseModel: ck.baseModel}
		if m := c.s.st.models[ck.runID]; m != nil {
			k.session = m.sessionID
		}
		counts[k]++
	}
	keys := make([]key, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		if !a.bucket.Equal(b.bucket) {
			return a.bucket.Before(b.bucket)
		}
		if counts[a] != counts[b] {
			return counts[a] > counts[b]
		}
		return a.session+a.baseModel < b.session+b.baseModel
	})
	data := make([]map[string]any, 0, len(keys))
	sessions := map[string]any{}
	for _, k := range keys {
		ev := map[string]any{
			"bucket_start": k.bucket.Format(timeFormat), "bucket_end": k.bucket.Add(time.Hour).Format(timeFormat),
			"base_model": k.baseModel, "estimated_cost_usd": nil,
			"effective_rate_usd_per_million_tokens": nil, "effective_rate_usd_per_gigabyte_month": nil,
			"event_info": map[string]any{"type": "checkpoint", "count": counts[k]},
		}
		if k.session != "" {
			ev["session_id"] = k.session
			var md any
			if ss := c.s.st.sessions[k.session]; ss != nil && len(ss.UserMetadata) > 0 {
				md = ss.UserMetadata
			}
			sessions[k.session] = map[string]any{"user_metadata": md}
		}
		data = append(data, ev)
	}
	return okJSON(map[string]any{"data": data, "sessions": sessions, "cost_data_through": nil})
}

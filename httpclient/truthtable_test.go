package httpclient

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tinkex-go/tinkex/tinkertest"
	"github.com/tinkex-go/tinkex/types"
)

// TestTruthTable runs every row of spec/BEHAVIOR.md's retry truth table
// for the HTTP-layer column (DefaultRetryPolicy) and the sampling-submit
// column (NoAutoRetryPolicy) against the fake server's fault scripts, and
// checks the exact call count in the server's request log and the error
// kind. (The future-polling column is tested in package actors, whose
// poller implements it.)
func TestTruthTable(t *testing.T) {
	type row struct {
		name  string
		fault tinkertest.Fault
		calls int
		kind  error // nil: success
	}
	one := func(f tinkertest.Fault) tinkertest.Fault { f.Times = 1; return f }
	columns := []struct {
		name   string
		policy Policy
		rows   []row
	}{
		{"http", Policy{}, []row{
			{"x-should-retry true on 400", one(tinkertest.Fault{Status: 400, ShouldRetry: "true"}), 2, nil},
			{"x-should-retry false on 503", one(tinkertest.Fault{Status: 503, ShouldRetry: "false"}), 1, types.ErrServer},
			{"429", one(tinkertest.Fault{Status: 429, RetryAfterMs: "1"}), 2, nil},
			{"408", one(tinkertest.Fault{Status: 408}), 2, nil},
			{"409", one(tinkertest.Fault{Status: 409}), 2, nil},
			{"500", one(tinkertest.Fault{Status: 500}), 2, nil},
			{"502", one(tinkertest.Fault{Status: 502}), 2, nil},
			{"503", one(tinkertest.Fault{Status: 503}), 2, nil},
			{"transport reset", one(tinkertest.Fault{Reset: true}), 2, nil},
			{"402 billing pause", one(tinkertest.Fault{Status: 402}), 2, nil},
			{"400", one(tinkertest.Fault{Status: 400}), 1, types.ErrUser},
			{"404", one(tinkertest.Fault{Status: 404}), 1, types.ErrUser},
			{"422", one(tinkertest.Fault{Status: 422}), 1, types.ErrUser},
			{"category user on 500", one(tinkertest.Fault{Status: 500, Body: `{"detail":"bad","category":"user"}`}), 1, types.ErrUser},
			{"5xx every time", tinkertest.Fault{Status: 503}, 11, types.ErrServer},
		}},
		{"sampling", Policy{Retry: NoAutoRetryPolicy, Pool: PoolSampling}, []row{
			{"x-should-retry true on 500", one(tinkertest.Fault{Status: 500, ShouldRetry: "true"}), 2, nil},
			{"429", one(tinkertest.Fault{Status: 429, RetryAfter: "2"}), 1, types.ErrRateLimited},
			{"408", one(tinkertest.Fault{Status: 408}), 1, types.ErrTimeout},
			{"409", one(tinkertest.Fault{Status: 409}), 1, types.ErrConflict},
			{"500", one(tinkertest.Fault{Status: 500}), 1, types.ErrServer},
			{"503", one(tinkertest.Fault{Status: 503}), 1, types.ErrServer},
			{"transport reset", one(tinkertest.Fault{Reset: true}), 1, types.ErrConnection},
			{"402 billing pause", one(tinkertest.Fault{Status: 402}), 2, nil},
			{"400", one(tinkertest.Fault{Status: 400}), 1, types.ErrUser},
			{"category user", one(tinkertest.Fault{Status: 500, Body: `{"detail":"bad","category":"user"}`}), 1, types.ErrUser},
		}},
	}
	for _, col := range columns {
		for _, r := range col.rows {
			t.Run(col.name+"/"+r.name, func(t *testing.T) {
				srv := tinkertest.NewServer()
				t.Cleanup(srv.Close)
				d := &delays{}
				c, err := New(srv.URL(), testKey, withSleep(d.sleep), WithBillingPause(time.Millisecond, time.Hour))
				require.NoError(t, err)
				t.Cleanup(c.CloseIdleConnections)
				f := r.fault
				f.Endpoint = tinkertest.EndpointClientConfig
				srv.Inject(f)
				var out types.ClientConfigResponse
				_, err = c.Do(context.Background(), &Request{Path: "/api/v1/client/config",
					Body: types.ClientConfigRequest{SDKVersion: types.ProtocolVersion}, Policy: col.policy, Into: JSONInto(&out)})
				if r.kind == nil {
					require.NoError(t, err)
				} else {
					require.ErrorIs(t, err, r.kind)
					var e *types.Error
					require.ErrorAs(t, err, &e)
					assert.Equal(t, r.calls, e.Attempts)
				}
				reqs := srv.Requests(tinkertest.Match{Endpoint: tinkertest.EndpointClientConfig})
				assert.Len(t, reqs, r.calls)
				for _, q := range reqs {
					assert.Equal(t, reqs[0].Header.Get("X-Idempotency-Key"), q.Header.Get("X-Idempotency-Key"))
				}
			})
		}
	}
}

package httpclient

import (
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tinkex-go/tinkex/tinkertest"
	"github.com/tinkex-go/tinkex/types"
)

var bare400 = tinkertest.Fault{Endpoint: tinkertest.EndpointClientConfig, Status: 400, EmptyBody: true}

// sendOn sends client/config on pool p with no second layer.
func (e *layersEnv) sendOn(p Pool) (*Response, error) {
	var out types.ClientConfigResponse
	return e.c.Do(context.Background(), &Request{Path: "/api/v1/client/config",
		Body: types.ClientConfigRequest{SDKVersion: types.ProtocolVersion}, Policy: Policy{Pool: p}, Into: JSONInto(&out)})
}

// requireRejected checks that err is a bare 400 the budget turned into a
// connection error.
func requireRejected(t *testing.T, resp *Response, err error) {
	t.Helper()
	require.ErrorIs(t, err, ErrProxyRejected)
	assert.ErrorIs(t, err, types.ErrConnection)
	assert.True(t, types.IsRetryable(err))
	assert.False(t, types.IsUserError(err))
	assert.Nil(t, resp, "a connection error has no response")
}

// requireBadRequest checks that err is an ordinary 400.
func requireBadRequest(t *testing.T, resp *Response, err error) {
	t.Helper()
	require.ErrorIs(t, err, types.ErrUser)
	assert.NotErrorIs(t, err, ErrProxyRejected)
	assert.False(t, types.IsRetryable(err))
	require.NotNil(t, resp)
	assert.Equal(t, 400, resp.StatusCode)
}

// Reference §4.7: each bare 400 costs one unit of the pool's budget of 16
// and is a connection error; the 17th is an ordinary 400. Each 2xx gives a
// unit back, and no more than 16 are ever kept.
func TestProxyRejectionBudget(t *testing.T) {
	e := newLayersEnv(t)
	e.srv.Inject(bare400)
	for range ProxyRejectionBudget {
		resp, err := e.sendOn(PoolSession)
		requireRejected(t, resp, err)
	}
	resp, err := e.sendOn(PoolSession)
	requireBadRequest(t, resp, err)

	e.srv.ClearFaults()
	_, err = e.sendOn(PoolSession)
	require.NoError(t, err)
	e.srv.Inject(bare400)
	resp, err = e.sendOn(PoolSession)
	requireRejected(t, resp, err)
	resp, err = e.sendOn(PoolSession)
	requireBadRequest(t, resp, err)

	// More successes than the budget holds refill it to 16, not beyond.
	e.srv.ClearFaults()
	for range ProxyRejectionBudget + 4 {
		_, err = e.sendOn(PoolSession)
		require.NoError(t, err)
	}
	e.srv.Inject(bare400)
	for range ProxyRejectionBudget {
		resp, err = e.sendOn(PoolSession)
		requireRejected(t, resp, err)
	}
	resp, err = e.sendOn(PoolSession)
	requireBadRequest(t, resp, err)

	// Each pool has its own budget, as each SDK connection pool does.
	resp, err = e.sendOn(PoolTraining)
	requireRejected(t, resp, err)
	assert.Len(t, e.log(), 3*ProxyRejectionBudget+10, "one request per call: the HTTP layer retries no bare 400")
}

// The request after a bare 400 takes a fresh connection (the SDK replaces
// its httpx client); after any other failure the connection is kept.
func TestProxyRejectionTakesAFreshConnection(t *testing.T) {
	e := newLayersEnv(t)
	send := func(f *tinkertest.Fault) {
		t.Helper()
		if f != nil {
			g := *f
			g.Times = 1
			e.srv.Inject(g)
		}
		_, err := e.sendOn(PoolSession)
		if f == nil {
			require.NoError(t, err)
		}
	}
	send(nil)
	send(&tinkertest.Fault{Endpoint: tinkertest.EndpointClientConfig, Status: 400})
	send(nil)
	send(&bare400)
	send(nil)
	send(nil)
	reqs := e.log()
	require.Len(t, reqs, 6)
	assert.Equal(t, reqs[0].RemoteAddr, reqs[1].RemoteAddr, "one kept-alive connection")
	assert.Equal(t, reqs[1].RemoteAddr, reqs[2].RemoteAddr, "a 400 with a body keeps it")
	assert.Equal(t, reqs[2].RemoteAddr, reqs[3].RemoteAddr, "the bare 400 came over it")
	assert.NotEqual(t, reqs[3].RemoteAddr, reqs[4].RemoteAddr, "the next request dialled a new one")
	assert.Equal(t, reqs[4].RemoteAddr, reqs[5].RemoteAddr, "which is kept alive in turn")
}

// The second layer resends a rejection (a connection error) under a new
// key, as the SDK's execute_with_retries does; with the budget spent a bare
// 400 is the user's, sent once. x-should-retry: false keeps a bare 400 a 400.
func TestProxyRejectionAndTheSecondLayer(t *testing.T) {
	e := newLayersEnv(t)
	f := bare400
	f.Times = 1
	e.srv.Inject(f)
	require.NoError(t, e.send(CallTrainingSubmit))
	reqs := e.log()
	require.Len(t, reqs, 2)
	assert.NotEqual(t, reqs[0].Header.Get("X-Idempotency-Key"), reqs[1].Header.Get("X-Idempotency-Key"))
	assert.Equal(t, "0", reqs[1].Header.Get("x-stainless-retry-count"))
	assert.NotEqual(t, reqs[0].RemoteAddr, reqs[1].RemoteAddr)
	calls := e.named("tinkex.call.retry")
	require.Len(t, calls, 1)
	assert.Equal(t, types.KindConnection.String(), calls[0].Metadata["kind"])

	e.srv.Inject(bare400)
	for range ProxyRejectionBudget { // the success gave the spent unit back
		_, err := e.sendOn(PoolTraining)
		require.ErrorIs(t, err, ErrProxyRejected)
	}
	before := len(e.log())
	err := e.send(CallTrainingSubmit)
	require.ErrorIs(t, err, types.ErrUser)
	assert.Len(t, e.log(), before+1, "an ordinary 400 is never resent")

	e2 := newLayersEnv(t)
	f = bare400
	f.ShouldRetry, f.Times = "false", 1
	e2.srv.Inject(f)
	err = e2.send(CallTrainingSubmit)
	require.ErrorIs(t, err, types.ErrUser)
	assert.NotErrorIs(t, err, ErrProxyRejected)
	assert.Len(t, e2.log(), 1)
}

// Concurrent rejections spend exactly the budget.
func TestProxyBudgetConcurrent(t *testing.T) {
	var b proxyBudget
	var wg sync.WaitGroup
	var mu sync.Mutex
	taken := 0
	for range 4 * ProxyRejectionBudget {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if b.take(PoolSampling) {
				mu.Lock()
				taken++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	assert.Equal(t, ProxyRejectionBudget, taken)
	assert.False(t, b.take(PoolSampling))
	assert.True(t, b.take(PoolFutures), "another pool's budget is untouched")
	b.give(PoolSampling)
	assert.True(t, b.take(PoolSampling))
}

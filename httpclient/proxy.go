package httpclient

import (
	"errors"
	"net/http"
	"sync/atomic"
)

// ProxyRejectionBudget is how many empty-bodied 400s — a proxy's rejection
// (Cloudflare's), not the service's verdict on the request (reference §4.7)
// — one pool of a Client turns into connection errors. Each 2xx on that
// pool gives one unit back, up to this many. With the budget spent, a bare
// 400 is an ordinary 400 again: a KindUser error that no layer resends.
const ProxyRejectionBudget = 16

// ErrProxyRejected is the cause of the error a bare 400 becomes while its
// pool's budget lasts (see ProxyRejectionBudget): errors.Is(err,
// ErrProxyRejected) and errors.Is(err, types.ErrConnection) are both true
// for it, and the Response that Do returns with it is nil.
var ErrProxyRejected = errors.New("the proxy rejected the request (HTTP 400 with an empty body); the next request takes a fresh connection")

// proxyBudget is the bare-400 budget of each pool of one Client, as the
// SDK keeps one per connection pool. It counts the units spent, a byte per
// pool kind in one word (an idle Client's size matters: issue 15), so the
// zero value is a full budget; a 2xx on a pool whose budget is full costs
// one atomic load.
type proxyBudget struct {
	spent atomic.Uint64 // byte p: the units pool p has spent
}

// Compile-time checks of that layout: a byte per pool kind fits in the
// word, and the budget in a byte.
const (
	_ = uint64(1) << (8*numPools - 1)
	_ = uint8(ProxyRejectionBudget)
)

// take spends one unit of pool p's budget; false when none is left.
func (b *proxyBudget) take(p Pool) bool {
	shift := 8 * uint(validPool(p))
	for {
		w := b.spent.Load()
		if n := w >> shift & 0xff; n >= ProxyRejectionBudget {
			return false
		}
		if b.spent.CompareAndSwap(w, w+1<<shift) {
			return true
		}
	}
}

// give returns one unit to pool p's budget, if any was spent.
func (b *proxyBudget) give(p Pool) {
	shift := 8 * uint(validPool(p))
	for {
		w := b.spent.Load()
		if w>>shift&0xff == 0 {
			return
		}
		if b.spent.CompareAndSwap(w, w-1<<shift) {
			return
		}
	}
}

// proxyRejection reports whether out is a bare 400 the HTTP layer gave up
// on that the call's pool turns into a connection error: a 400 with an
// empty body, without x-should-retry: false (the server's word stands),
// while the pool's budget lasts. It spends the unit and closes the pool's
// idle connections, the 400's among them, so the next request dials a
// fresh one (the SDK replaces its httpx client); connections in use are not
// touched.
func (cl *call) proxyRejection(out Outcome) bool {
	if cl.noProxy || !bareBadRequest(out) {
		return false
	}
	if v, ok := out.ShouldRetryHeader(); ok && !v {
		return false
	}
	if !cl.c.proxy.take(cl.poolKind) {
		return false
	}
	cl.pool.CloseIdleConnections()
	return true
}

// bareBadRequest reports a 400 with an empty body: a proxy's rejection
// (reference §4.7), not the server's verdict on the request.
func bareBadRequest(o Outcome) bool {
	return o.Err == nil && o.StatusCode == http.StatusBadRequest && len(o.Body) == 0
}

package httpclient

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// connServer is a loopback server that reports each connection's state
// changes.
type connServer struct {
	srv    *httptest.Server
	mu     sync.Mutex
	opened int
	closed chan struct{} // one send per closed connection
}

func newConnServer(t *testing.T) *connServer {
	t.Helper()
	cs := &connServer{closed: make(chan struct{}, 16)}
	cs.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", ContentTypeJSON)
		_, _ = w.Write([]byte(`{"ok":true}`))
	}))
	cs.srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		switch s {
		case http.StateNew:
			cs.mu.Lock()
			cs.opened++
			cs.mu.Unlock()
		case http.StateClosed, http.StateHijacked:
			cs.closed <- struct{}{}
		}
	}
	cs.srv.Start()
	t.Cleanup(cs.srv.Close)
	return cs
}

func (cs *connServer) connections() int {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	return cs.opened
}

// Closing client A (CloseIdleConnections, as ServiceClient.Close does)
// must not touch client B of the same Transports and base URL: B keeps its
// idle keep-alive connection and reuses it. Once B, the last holder,
// closes too, the idle connection is closed.
func TestClosingOneClientKeepsAnothersConnections(t *testing.T) {
	cs := newConnServer(t)
	tr := NewTransports(nil)
	a, err := New(cs.srv.URL, testKey, WithTransports(tr))
	require.NoError(t, err)
	b, err := New(cs.srv.URL, testKey+"-b", WithTransports(tr))
	require.NoError(t, err)
	assert.Same(t, a.pool(PoolSampling), b.pool(PoolSampling), "one base URL, one set of pools")

	_, err = post(b, Policy{Pool: PoolSampling})
	require.NoError(t, err)
	require.Equal(t, 1, cs.connections())

	a.CloseIdleConnections()
	a.CloseIdleConnections() // twice is harmless: B's lease still counts
	_, err = post(b, Policy{Pool: PoolSampling})
	require.NoError(t, err)
	assert.Equal(t, 1, cs.connections(), "B reused its idle connection: closing A did not close it")
	select {
	case <-cs.closed:
		t.Fatal("closing A closed a connection")
	default:
	}

	b.CloseIdleConnections()
	select {
	case <-cs.closed:
	case <-time.After(10 * time.Second):
		t.Fatal("the last holder's close did not close the idle connection")
	}

	// A new client after both were closed gets fresh pools that work.
	c, err := New(cs.srv.URL, testKey, WithTransports(tr))
	require.NoError(t, err)
	t.Cleanup(c.CloseIdleConnections)
	assert.NotSame(t, a.pool(PoolSampling), c.pool(PoolSampling))
	_, err = c.Do(context.Background(), &Request{Path: "/api/v1/x"})
	require.NoError(t, err)
}

// Clients of different base URLs never share pools, and releasing one
// leaves the other's pools open.
func TestPoolsPerBaseURL(t *testing.T) {
	one, two := newConnServer(t), newConnServer(t)
	tr := NewTransports(nil)
	a, err := New(one.srv.URL, testKey, WithTransports(tr))
	require.NoError(t, err)
	b, err := New(two.srv.URL, testKey, WithTransports(tr))
	require.NoError(t, err)
	t.Cleanup(b.CloseIdleConnections)
	assert.NotSame(t, a.pool(PoolFutures), b.pool(PoolFutures))
	_, err = post(a, Policy{})
	require.NoError(t, err)
	_, err = post(b, Policy{})
	require.NoError(t, err)
	a.CloseIdleConnections()
	select {
	case <-one.closed:
	case <-time.After(10 * time.Second):
		t.Fatal("A's idle connection stayed open")
	}
	_, err = post(b, Policy{})
	require.NoError(t, err)
	assert.Equal(t, 1, two.connections(), "B's connection survived A's close")
	assert.Same(t, tr.Client(two.srv.URL, PoolFutures), b.pool(PoolFutures))
	assert.Same(t, tr.Client(two.srv.URL, PoolTraining), tr.Client(two.srv.URL, Pool(99)), "unknown pool kinds use the training pool")
}

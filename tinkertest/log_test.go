package tinkertest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tinkex-go/tinkex/types"
)

func TestRequestLogQueries(t *testing.T) {
	srv := newServer(t)
	a, b := client(t, srv, keyA), client(t, srv, keyB)
	sid := a.session()
	model := a.model(sid, 0)
	a.ok(EndpointOptimStep, optimBody(model, 2, 1e-4))
	a.ok(EndpointOptimStep, optimBody(model, 1, 1e-4))
	b.get(EndpointCapabilities)
	a.get("nope")

	all := srv.Requests(Match{})
	require.Len(t, all, 7)
	for i, e := range all {
		assert.EqualValues(t, i+1, e.Index, "arrival order")
	}
	assert.Equal(t, "", all[6].Endpoint, "unknown route")
	assert.Equal(t, 404, all[6].Status)

	assert.Equal(t, 2, srv.CountEndpoint(EndpointOptimStep))
	assert.Equal(t, 6, srv.Count(Match{Key: keyA}))
	assert.Equal(t, 1, srv.Count(Match{KeyFP: types.KeyFingerprint(keyB)}))
	e := srv.Requests(Match{ModelID: model, SeqID: SeqID(1), Endpoint: EndpointOptimStep})
	require.Len(t, e, 1)
	assert.Equal(t, model+":1", e[0].RequestID)
	assert.Equal(t, 200, e[0].Status)
	assert.Equal(t, "optim_step", e[0].Body.(map[string]any)["type"])
	assert.Equal(t, types.KeyFingerprint(keyA), e[0].Header.Get("X-API-Key"))

	polls := srv.Requests(Match{Endpoint: EndpointRetrieveFuture})
	require.Len(t, polls, 1)
	assert.Equal(t, "CreateModel", polls[0].RequestType)
	assert.Equal(t, model+":0", polls[0].RequestID)
	assert.Equal(t, model, polls[0].ModelID)
	assert.Equal(t, 1, srv.Count(Match{Endpoint: EndpointRetrieveFuture, ModelID: model, SeqID: SeqID(0)}))

	// The returned entries are copies.
	all[0].Header.Set("X-API-Key", "changed")
	assert.NotEqual(t, "changed", srv.Requests(Match{})[0].Header.Get("X-API-Key"))
}

// The log keeps no credential a request carried: the X-API-Key, a
// Cloudflare Access secret and an Authorization header are logged as their
// fingerprints.
func TestRequestLogHidesCredentialHeaders(t *testing.T) {
	srv := newServer(t)
	const cfSecret, bearer = "cf-access-secret-0123456789", "Bearer hf_token0123456789"
	client(t, srv, keyA).do(http.MethodGet, EndpointCapabilities, nil,
		map[string]string{"CF-Access-Client-Id": "id.access", "CF-Access-Client-Secret": cfSecret, "Authorization": bearer})
	all := srv.Requests(Match{})
	require.Len(t, all, 1)
	h := all[0].Header
	assert.Equal(t, types.KeyFingerprint(keyA), h.Get("X-API-Key"))
	assert.Equal(t, types.KeyFingerprint(cfSecret), h.Get("CF-Access-Client-Secret"))
	assert.Equal(t, types.KeyFingerprint(bearer), h.Get("Authorization"))
	assert.Equal(t, "id.access", h.Get("CF-Access-Client-Id"), "the client id is no secret")
	logged := fmt.Sprint(all[0])
	for _, secret := range []string{keyA, cfSecret, "hf_token0123456789"} {
		assert.NotContains(t, logged, secret)
	}
}

// RemoteAddr names the connection a request came over: a client's
// sequential requests share one, another client's have their own.
func TestRequestLogRemoteAddr(t *testing.T) {
	srv := newServer(t)
	a, b := client(t, srv, keyA), client(t, srv, keyA)
	a.get(EndpointHealthz)
	a.get(EndpointHealthz)
	b.get(EndpointHealthz)
	all := srv.Requests(Match{})
	require.Len(t, all, 3)
	assert.NotEmpty(t, all[0].RemoteAddr)
	assert.Equal(t, all[0].RemoteAddr, all[1].RemoteAddr, "a kept-alive connection")
	assert.NotEqual(t, all[0].RemoteAddr, all[2].RemoteAddr, "another client's connection")
}

func TestRequestLogLimit(t *testing.T) {
	srv := newServer(t, WithLogLimit(3))
	c := client(t, srv, keyA)
	for range 5 {
		c.get(EndpointHealthz)
	}
	all := srv.Requests(Match{})
	require.Len(t, all, 3)
	assert.EqualValues(t, 3, all[0].Index, "oldest dropped")
	assert.Equal(t, 2, srv.DroppedRequests())
}

// TestManyConcurrentClients runs hundreds of clients at once (under -race in
// CI): sessions, samplers, samples and out-of-order training per key.
func TestManyConcurrentClients(t *testing.T) {
	srv := newServer(t, WithLogLimit(1000))
	const clients = 200
	tr := &http.Transport{MaxIdleConnsPerHost: clients}
	t.Cleanup(tr.CloseIdleConnections)
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- func() error {
				c := &tc{srv: srv, key: fmt.Sprintf("tml-load-%d", i%20), http: &http.Client{Transport: tr}}
				sid, err := postID(c, EndpointCreateSession, sessionBody, "session_id")
				if err != nil {
					return err
				}
				smp, err := postID(c, EndpointCreateSamplingSession, map[string]any{"session_id": sid, "sampling_session_seq_id": 0,
					"base_model": "Qwen/Qwen3-8B", "type": "create_sampling_session"}, "sampling_session_id")
				if err != nil {
					return err
				}
				cm, err := postID(c, EndpointCreateModel, createModelBody(sid, 0), "request_id")
				if err != nil {
					return err
				}
				model := sid + ":train:0"
				for seq := 3; seq >= 1; seq-- {
					if _, err := postID(c, EndpointOptimStep, optimBody(model, seq, 1e-4), "request_id"); err != nil {
						return err
					}
				}
				ids := []string{cm, model + ":1", model + ":2", model + ":3"}
				for seq := range 3 {
					id, err := postID(c, EndpointAsample, sampleBody(smp, seq, []int{i, seq}, 3), "request_id")
					if err != nil {
						return err
					}
					ids = append(ids, id)
				}
				for _, id := range ids {
					r, err := c.try(http.MethodPost, EndpointRetrieveFuture, []byte(`{"request_id":"`+id+`","allow_metadata_only":false}`), nil)
					if err != nil {
						return err
					}
					if r.status != http.StatusOK || strings.Contains(string(r.body), "try_again") || strings.Contains(string(r.body), `"error"`) {
						return fmt.Errorf("poll %s: %d %s", id, r.status, r.body)
					}
				}
				return nil
			}()
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	assert.Len(t, srv.Sessions(), clients)
	assert.Equal(t, 1000, len(srv.Requests(Match{})))
	assert.Equal(t, clients*16-1000, srv.DroppedRequests())
}

func postID(c *tc, endpoint string, body any, field string) (string, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return "", err
	}
	r, err := c.try(http.MethodPost, endpoint, b, nil)
	if err != nil {
		return "", err
	}
	var m map[string]any
	if r.status != http.StatusOK || json.Unmarshal(r.body, &m) != nil {
		return "", fmt.Errorf("%s: %d %s", endpoint, r.status, r.body)
	}
	s, _ := m[field].(string)
	return s, nil
}

func TestTLSAndHTTP2(t *testing.T) {
	srv := newServer(t, WithTLS())
	hc := srv.Client()
	req, _ := http.NewRequest(http.MethodGet, srv.URL()+"/api/v1/get_server_capabilities", nil)
	req.Header.Set("X-API-Key", keyA)
	res, err := hc.Do(req)
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, 2, res.ProtoMajor)
}

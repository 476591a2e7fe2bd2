package httpclient

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
)

// BenchmarkDo compares one JSON POST through Client.Do with the same POST
// through a bare net/http client with the same connection limits, against
// one loopback server, at concurrency 1 and 128:
//
//	go test -run '^$' -bench BenchmarkDo -count 6 ./httpclient/ | benchstat -
func BenchmarkDo(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"request_id":"r-1"}`))
	}))
	defer srv.Close()
	body := map[string]any{"sampling_session_id": "s:sample:0", "seq_id": 1, "num_samples": 1,
		"prompt": map[string]any{"chunks": []any{map[string]any{"type": "encoded_text", "tokens": []int{1, 2, 3, 4}}}}}

	for _, conc := range []int{1, 128} {
		b.Run("stack=tinkex/conc="+strconv.Itoa(conc), func(b *testing.B) {
			tr := NewTransports(map[Pool]int{PoolSampling: 512})
			c, err := New(srv.URL, "tml-bench-key", WithTransports(tr))
			if err != nil {
				b.Fatal(err)
			}
			defer tr.CloseIdleConnections()
			run(b, conc, func() error {
				var out struct {
					RequestID string `json:"request_id"`
				}
				_, err := c.Do(context.Background(), &Request{Path: "/api/v1/asample", Body: body,
					Policy: Policy{Pool: PoolSampling, Retry: NoAutoRetryPolicy}, Into: JSONInto(&out)})
				return err
			})
		})
		b.Run("stack=rawhttp/conc="+strconv.Itoa(conc), func(b *testing.B) {
			hc := &http.Client{Transport: &http.Transport{MaxIdleConns: 512, MaxIdleConnsPerHost: 512, MaxConnsPerHost: 512}}
			defer hc.CloseIdleConnections()
			run(b, conc, func() error {
				buf, err := json.Marshal(body)
				if err != nil {
					return err
				}
				req, err := http.NewRequest(http.MethodPost, srv.URL+"/api/v1/asample", bytes.NewReader(buf))
				if err != nil {
					return err
				}
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("X-API-Key", "tml-bench-key")
				resp, err := hc.Do(req)
				if err != nil {
					return err
				}
				defer resp.Body.Close()
				data, err := io.ReadAll(resp.Body)
				if err != nil {
					return err
				}
				var out struct {
					RequestID string `json:"request_id"`
				}
				return json.Unmarshal(data, &out)
			})
		})
	}
}

// run calls f b.N times from conc goroutines.
func run(b *testing.B, conc int, f func() error) {
	b.ReportAllocs()
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	for g := 0; g < conc; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(b.N) {
				if err := f(); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

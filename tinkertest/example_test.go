package tinkertest_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"

	"github.com/tinkex-go/tinkex/tinkertest"
)

// A test starts the fake, scripts a fault for one key, and checks what the
// server saw.
func Example() {
	srv := tinkertest.NewServer()
	defer srv.Close()

	srv.Inject(tinkertest.Fault{Key: "tml-a", Endpoint: tinkertest.EndpointClientConfig, Status: 429, RetryAfter: "1", Times: 1})

	post := func(key string) int {
		req, _ := http.NewRequest(http.MethodPost, srv.URL()+"/api/v1/client/config", bytes.NewReader([]byte(`{"sdk_version":"0.25.0"}`)))
		req.Header.Set("X-API-Key", key)
		req.Header.Set("Content-Type", "application/json")
		res, err := srv.Client().Do(req)
		if err != nil {
			return 0
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res.StatusCode
	}
	fmt.Println(post("tml-a"), post("tml-b"), post("tml-a"))
	fmt.Println(srv.Count(tinkertest.Match{Key: "tml-a"}), srv.Count(tinkertest.Match{Status: 429}))
	// Output:
	// 429 200 200
	// 2 1
}

// The fake model is deterministic and exported, so tests can predict
// samples.
func ExampleExpectedSample() {
	res := tinkertest.ExpectedSample(tinkertest.SampleRequest{Prompt: []int64{1, 2, 3}, NumSamples: 1, MaxTokens: 4, Temperature: 1, TopK: -1, TopP: 1})
	fmt.Println(len(res.Sequences[0].Tokens), res.Sequences[0].StopReason)
	// Output: 4 length
}

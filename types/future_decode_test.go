package types

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// assertDecodeIsUnmarshal checks that DecodeUntypedAPIFuture gives what
// json.Unmarshal gives, the error included.
func assertDecodeIsUnmarshal(t *testing.T, body string) {
	t.Helper()
	var want UntypedAPIFuture
	wantErr := json.Unmarshal([]byte(body), &want)
	got, err := DecodeUntypedAPIFuture([]byte(body))
	if wantErr != nil {
		require.Error(t, err, "%q", body)
		assert.Equal(t, wantErr.Error(), err.Error(), "%q", body)
		return
	}
	require.NoError(t, err, "%q", body)
	assert.Equal(t, want, got, "%q", body)
}

func TestDecodeUntypedAPIFutureIsJSONUnmarshal(t *testing.T) {
	for _, body := range []string{
		`{"request_id":"abc"}`,
		`{"request_id": "abc", "model_id": "s:train:0"}`,
		" \n{ \"request_id\" :\t\"abc\" } \r\n",
		`{}`,
		`{"other":"x","request_id":"a"}`,
		`{"request_id":"a","request_id":"b"}`,
		`{"Request_ID":"a"}`,
		`{"MODEL_ID":"m","request_id":"a"}`,
		`{"request_id":"a\"b"}`,
		`{"request_id":"a\u0041"}`,
		"{\"request_id\":\"a\xffb\"}",
		"{\"request_id\":\"a\x01b\"}",
		`{"request_id":"é🙂"}`,
		`{"request_id":null}`,
		`{"request_id":12}`,
		`{"request_id":"a","n":1}`,
		`{"request_id":"a",}`,
		`{"request_id":"a"} x`,
		`{"request_id":"a"`,
		`{"request_id"`,
		`[]`,
		`null`,
		``,
		`{"request_id":"a","nested":{"x":"y"}}`,
	} {
		assertDecodeIsUnmarshal(t, body)
	}
}

func FuzzDecodeUntypedAPIFuture(f *testing.F) {
	f.Add([]byte(`{"request_id":"abc"}`))
	f.Add([]byte(`{"request_id": "a", "model_id": "m"}`))
	f.Add([]byte(`{"Request_Id":"a\u0041","x":[1]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var want UntypedAPIFuture
		wantErr := json.Unmarshal(body, &want)
		got, err := DecodeUntypedAPIFuture(body)
		if (err != nil) != (wantErr != nil) || got != want && wantErr == nil {
			t.Fatalf("%q: got %+v, %v; json.Unmarshal %+v, %v", body, got, err, want, wantErr)
		}
	})
}

func BenchmarkDecodeUntypedAPIFuture(b *testing.B) {
	body := []byte(`{"request_id":"0f6a1c0e-9d7b-4a59-8d8e-000000000000:sample:0:12345"}`)
	b.Run("dec=json.Unmarshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var f UntypedAPIFuture
			if err := json.Unmarshal(body, &f); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("dec=DecodeUntypedAPIFuture", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := DecodeUntypedAPIFuture(body); err != nil {
				b.Fatal(err)
			}
		}
	})
}

package httpclient

import (
	"bytes"
	"io"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A body that declares 200 MiB but sends 9 bytes costs what arrived, not
// what was declared: three such reads allocate far less than one declared
// length (before the fix they allocated 600 MiB).
func TestReadCappedDoesNotTrustContentLength(t *testing.T) {
	const declared = 200 << 20
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for range 3 {
		b, err := readCapped(strings.NewReader(`{"ok":1}`+"\n"), declared, DefaultMaxResponseBytes)
		require.NoError(t, err)
		require.Len(t, b, 9)
	}
	runtime.ReadMemStats(&after)
	allocated := after.TotalAlloc - before.TotalAlloc
	assert.Less(t, allocated, uint64(4<<20), "allocated %d bytes for 27 received", allocated)
}

// A server that declares 200 MiB and sends 1 MiB makes tinkex hold a few
// times what it sent, at most.
func TestReadCappedAmplificationIsBounded(t *testing.T) {
	sent := bytes.Repeat([]byte{'x'}, 1<<20)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	b, err := readCapped(bytes.NewReader(sent), 200<<20, DefaultMaxResponseBytes)
	runtime.ReadMemStats(&after)
	require.NoError(t, err)
	require.Len(t, b, len(sent))
	allocated := after.TotalAlloc - before.TotalAlloc
	assert.Less(t, allocated, uint64(5*len(sent)), "allocated %d bytes for %d received", allocated, len(sent))
}

func TestReadCappedGrowsAsBytesArrive(t *testing.T) {
	body := bytes.Repeat([]byte("0123456789abcdef"), 300_000) // 4.8 MB, far past the first buffer
	for name, size := range map[string]int64{"declared": int64(len(body)), "unknown": -1, "under-declared": 10} {
		got, err := readCapped(iotest.HalfReader(bytes.NewReader(body)), size, DefaultMaxResponseBytes)
		require.NoError(t, err, name)
		assert.Equal(t, body, got, name)
	}
	_, err := readCapped(bytes.NewReader(body), -1, int64(len(body)-1))
	assert.ErrorIs(t, err, errBodyTooLarge, "a body past the cap fails while it streams")
	_, err = readCapped(bytes.NewReader(nil), int64(len(body)), int64(len(body)-1))
	assert.ErrorIs(t, err, errBodyTooLarge, "a declared length past the cap fails at once")
	got, err := readCapped(bytes.NewReader(nil), 0, 10)
	require.NoError(t, err)
	assert.Empty(t, got)
	_, err = readCapped(iotest.ErrReader(io.ErrUnexpectedEOF), 100, 1000)
	assert.ErrorIs(t, err, io.ErrUnexpectedEOF)
}

// BenchmarkReadCapped reads honest bodies (Content-Length declared and
// sent) of the sizes results come in.
func BenchmarkReadCapped(b *testing.B) {
	for _, n := range []int{512, 64 << 10, 1 << 20, 16 << 20} {
		body := bytes.Repeat([]byte{'x'}, n)
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			b.SetBytes(int64(n))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := readCapped(bytes.NewReader(body), int64(n), DefaultMaxResponseBytes); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

package httpclient

import (
	"bytes"
	"io"
	"runtime"
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

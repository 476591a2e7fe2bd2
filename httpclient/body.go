package httpclient

import (
	"io"
	"slices"
)

// firstReadBytes is the most readCapped allocates before any byte arrived.
const firstReadBytes = 64 << 10

// readCapped reads a response body of at most limit bytes. size is the
// declared Content-Length (-1 when unknown): a larger declaration fails at
// once with errBodyTooLarge, and otherwise it only bounds how far the
// buffer grows in one step. The buffer starts at min(size+1, 64 KiB) and
// doubles only when it is full, so memory follows the bytes that really
// arrived (at most about twice that), never a length the server merely
// declared. The +1 lets a body longer than declared be noticed.
func readCapped(r io.Reader, size, limit int64) ([]byte, error) {
	if size > limit {
		return nil, errBodyTooLarge
	}
	n := int64(512)
	if size >= 0 {
		n = min(size+1, firstReadBytes)
	}
	buf := make([]byte, 0, n)
	for {
		if len(buf) == cap(buf) {
			grow := int64(cap(buf))
			if size >= 0 && int64(len(buf)) <= size {
				grow = min(grow, size+1-int64(len(buf)))
			}
			grow = max(min(grow, limit+1-int64(len(buf))), 1)
			buf = slices.Grow(buf, int(grow))
		}
		m, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+m]
		if int64(len(buf)) > limit {
			return nil, errBodyTooLarge
		}
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

package httpclient

import "io"

// firstReadBytes is the most readCapped allocates before any byte arrived.
const firstReadBytes = 64 << 10

// readCapped reads a response body of at most limit bytes. size is the
// declared Content-Length (-1 when unknown): a larger declaration fails at
// once with errBodyTooLarge, and otherwise it is trusted only as far as the
// bytes that really arrived back it. The buffer starts at
// min(size+1, 64 KiB+1); when full it doubles, or jumps to the declared size
// once a quarter of it has arrived. So a server can make tinkex hold at most
// about four times what it sent, never a length it merely declared, and an
// honest body costs about 1.5 times its size in allocations. The +1 lets a
// body longer than declared be noticed.
func readCapped(r io.Reader, size, limit int64) ([]byte, error) {
	if size > limit {
		return nil, errBodyTooLarge
	}
	n := int64(512)
	if size >= 0 {
		n = min(size+1, firstReadBytes+1)
	}
	buf := make([]byte, 0, n)
	for {
		if len(buf) == cap(buf) {
			buf = grow(buf, size, limit)
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

// grow returns full buf (len == cap) with room for more: twice the
// capacity, or the declared size+1 once buf holds a quarter of it, never
// more than limit+1.
func grow(buf []byte, size, limit int64) []byte {
	have := int64(len(buf))
	next := 2 * have
	if size >= have && 4*have >= size {
		next = size + 1
	}
	next = max(min(next, limit+1), have+1)
	out := make([]byte, have, next)
	copy(out, buf)
	return out
}

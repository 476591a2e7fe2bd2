package types

import (
	"github.com/klauspost/compress/zstd"
)

// ContentEncodingZstd is the Content-Encoding of a zstd-compressed
// forward_backward body (sent when the client config enables
// proto_compress_fwdbwd).
const ContentEncodingZstd = "zstd"

// MaxDecompressedBodySize bounds DecompressForwardBackwardBody's output.
const MaxDecompressedBodySize = 1 << 30

// CompressForwardBackwardBody compresses an encoded forward_backward body
// with standard zstd at the default level.
func CompressForwardBackwardBody(body []byte) ([]byte, error) {
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1))
	if err != nil {
		return nil, err
	}
	defer enc.Close()
	return enc.EncodeAll(body, make([]byte, 0, len(body)/2+64)), nil
}

// DecompressForwardBackwardBody reverses CompressForwardBackwardBody (for
// servers and test fakes). Corrupt input, or output above
// MaxDecompressedBodySize, is a KindValidation error.
func DecompressForwardBackwardBody(body []byte) ([]byte, error) {
	dec, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(MaxDecompressedBodySize))
	if err != nil {
		return nil, err
	}
	defer dec.Close()
	out, err := dec.DecodeAll(body, nil)
	if err != nil {
		return nil, &Error{Kind: KindValidation, Op: "forward_backward", Message: "bad zstd body", Err: err}
	}
	return out, nil
}

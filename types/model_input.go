package types

import (
	"encoding/json"
	"fmt"
	"math"
)

// ChunkType is the `type` discriminator of a model input chunk on the wire.
type ChunkType string

// The chunk kinds a ModelInput can hold.
const (
	ChunkEncodedText       ChunkType = "encoded_text"
	ChunkImage             ChunkType = "image"
	ChunkImageAssetPointer ChunkType = "image_asset_pointer"
	ChunkDmel              ChunkType = "dmel"
)

// Chunk is one piece of a ModelInput. The set of implementations is closed:
// EncodedTextChunk, ImageChunk, ImageAssetPointerChunk and DmelChunk (as values
// or pointers). Length reports how many model positions the chunk occupies
// and fails with a KindValidation error when that cannot be known (an image
// without ExpectedTokens, an unreadable dmel header).
type Chunk interface {
	Type() ChunkType
	Length() (int, error)
	sealedChunk()
}

// EncodedTextChunk is a run of token ids. JSON: {"type":"encoded_text","tokens":[...]}.
type EncodedTextChunk struct {
	Tokens []int `json:"tokens"`
}

// ImageChunk is an inline image. Data is sent base64-encoded in JSON and raw
// in protobuf. ExpectedTokens is the number of positions the image occupies;
// it is needed wherever a length is computed.
type ImageChunk struct {
	Data           []byte `json:"data"`
	Format         string `json:"format"` // "png" or "jpeg"
	ExpectedTokens *int   `json:"expected_tokens,omitempty"`
}

// ImageAssetPointerChunk refers to an image stored by the service. It cannot
// be encoded as protobuf, so it cannot be used in forward_backward.
type ImageAssetPointerChunk struct {
	Location       string `json:"location"`
	Format         string `json:"format"`
	ExpectedTokens *int   `json:"expected_tokens,omitempty"`
}

// DmelChunk carries a serialized TensorContainer (dmel features). Its length is
// the first dimension in the container header.
type DmelChunk struct {
	Dmel []byte `json:"dmel"`
}

// Type implements Chunk.
func (EncodedTextChunk) Type() ChunkType { return ChunkEncodedText }

// Type implements Chunk.
func (ImageChunk) Type() ChunkType { return ChunkImage }

// Type implements Chunk.
func (ImageAssetPointerChunk) Type() ChunkType { return ChunkImageAssetPointer }

// Type implements Chunk.
func (DmelChunk) Type() ChunkType { return ChunkDmel }

func (EncodedTextChunk) sealedChunk()       {}
func (ImageChunk) sealedChunk()             {}
func (ImageAssetPointerChunk) sealedChunk() {}
func (DmelChunk) sealedChunk()              {}

// Length is the number of tokens.
func (c EncodedTextChunk) Length() (int, error) { return len(c.Tokens), nil }

// Length is ExpectedTokens; it fails when ExpectedTokens is unset or negative.
func (c ImageChunk) Length() (int, error) { return expectedTokens("image", c.ExpectedTokens) }

// Length is ExpectedTokens; it fails when ExpectedTokens is unset or negative.
func (c ImageAssetPointerChunk) Length() (int, error) {
	return expectedTokens("image_asset_pointer", c.ExpectedTokens)
}

// Length is the first dimension read from the TensorContainer header: an
// optional 0xFE marker byte, a dtype byte (0–7), a varint ndim, then varint
// dims. A malformed header is a KindValidation error.
func (c DmelChunk) Length() (int, error) {
	b := c.Dmel
	if len(b) > 0 && b[0] == 0xFE {
		b = b[1:]
	}
	if len(b) == 0 || b[0] > 7 {
		return 0, ValidationError("model_input", "dmel chunk: bad TensorContainer header (dtype byte)")
	}
	b = b[1:]
	ndim, n := uvarint(b)
	if n <= 0 || ndim == 0 {
		return 0, ValidationError("model_input", "dmel chunk: bad TensorContainer header (ndim)")
	}
	dim0, m := uvarint(b[n:])
	if m <= 0 || dim0 > 1<<31 {
		return 0, ValidationError("model_input", "dmel chunk: bad TensorContainer header (dims)")
	}
	return int(dim0), nil
}

func uvarint(b []byte) (uint64, int) {
	var x uint64
	var s uint
	for i, c := range b {
		if i == 10 {
			return 0, -1
		}
		if c < 0x80 {
			return x | uint64(c)<<s, i + 1
		}
		x |= uint64(c&0x7f) << s
		s += 7
	}
	return 0, 0
}

func expectedTokens(kind string, n *int) (int, error) {
	if n == nil {
		return 0, ValidationError("model_input", "%s chunk has no expected_tokens; its length is needed", kind)
	}
	if *n < 0 {
		return 0, ValidationError("model_input", "%s chunk has negative expected_tokens %d", kind, *n)
	}
	return *n, nil
}

// MarshalJSON emits the chunk with its "type" discriminator.
func (c EncodedTextChunk) MarshalJSON() ([]byte, error) {
	tokens := c.Tokens
	if tokens == nil {
		tokens = []int{}
	}
	return json.Marshal(struct {
		Type   ChunkType `json:"type"`
		Tokens []int     `json:"tokens"`
	}{ChunkEncodedText, tokens})
}

// MarshalJSON emits the chunk with its "type" discriminator.
func (c ImageChunk) MarshalJSON() ([]byte, error) {
	type wire ImageChunk
	return json.Marshal(struct {
		Type ChunkType `json:"type"`
		wire
	}{ChunkImage, wire(c)})
}

// MarshalJSON emits the chunk with its "type" discriminator.
func (c ImageAssetPointerChunk) MarshalJSON() ([]byte, error) {
	type wire ImageAssetPointerChunk
	return json.Marshal(struct {
		Type ChunkType `json:"type"`
		wire
	}{ChunkImageAssetPointer, wire(c)})
}

// MarshalJSON emits the chunk with its "type" discriminator.
func (c DmelChunk) MarshalJSON() ([]byte, error) {
	type wire DmelChunk
	return json.Marshal(struct {
		Type ChunkType `json:"type"`
		wire
	}{ChunkDmel, wire(c)})
}

// ModelInput is the model's input sequence: an ordered list of chunks.
// JSON: {"chunks":[chunk,...]}, each chunk tagged by "type".
type ModelInput struct {
	Chunks []Chunk
}

// ModelInputFromInts returns a ModelInput holding one text chunk with tokens.
func ModelInputFromInts(tokens []int) ModelInput {
	return ModelInput{Chunks: []Chunk{EncodedTextChunk{Tokens: append([]int(nil), tokens...)}}}
}

// AppendInts returns a copy of m with tokens appended, extending a trailing
// text chunk or adding a new one.
func (m ModelInput) AppendInts(tokens ...int) ModelInput {
	chunks := append([]Chunk(nil), m.Chunks...)
	if n := len(chunks); n > 0 {
		if last, ok := derefChunk(chunks[n-1]).(EncodedTextChunk); ok {
			chunks[n-1] = EncodedTextChunk{Tokens: append(append([]int(nil), last.Tokens...), tokens...)}
			return ModelInput{Chunks: chunks}
		}
	}
	return ModelInput{Chunks: append(chunks, EncodedTextChunk{Tokens: append([]int(nil), tokens...)})}
}

// Append returns a copy of m with chunk appended.
func (m ModelInput) Append(chunk Chunk) ModelInput {
	return ModelInput{Chunks: append(append([]Chunk(nil), m.Chunks...), chunk)}
}

// ToInts returns all tokens in order. It fails with a KindValidation error if
// any chunk is not text.
func (m ModelInput) ToInts() ([]int, error) {
	var out []int
	for i, c := range m.Chunks {
		t, ok := derefChunk(c).(EncodedTextChunk)
		if !ok {
			return nil, ValidationError("model_input", "chunk %d is %s, not encoded_text; only text converts to ints", i, chunkTypeName(c))
		}
		out = append(out, t.Tokens...)
	}
	return out, nil
}

// Length is the sum of the chunk lengths. It fails when a chunk's length is
// unknown (see Chunk.Length) or a chunk is nil.
func (m ModelInput) Length() (int, error) {
	total := 0
	for i, c := range m.Chunks {
		c = derefChunk(c)
		if c == nil {
			return 0, ValidationError("model_input", "chunk %d is nil", i)
		}
		n, err := c.Length()
		if err != nil {
			return 0, err
		}
		total += n
	}
	return total, nil
}

// MarshalJSON emits {"chunks":[...]}; a nil Chunks is sent as [].
func (m ModelInput) MarshalJSON() ([]byte, error) {
	chunks := m.Chunks
	if chunks == nil {
		chunks = []Chunk{}
	}
	for i, c := range chunks {
		if derefChunk(c) == nil {
			return nil, ValidationError("model_input", "chunk %d is nil", i)
		}
	}
	return json.Marshal(struct {
		Chunks []Chunk `json:"chunks"`
	}{chunks})
}

// UnmarshalJSON decodes {"chunks":[...]}, choosing each chunk's Go type by its
// "type" field. An unknown or missing type is a KindValidation error.
func (m *ModelInput) UnmarshalJSON(b []byte) error {
	var w struct {
		Chunks []json.RawMessage `json:"chunks"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	chunks := make([]Chunk, 0, len(w.Chunks))
	for i, raw := range w.Chunks {
		c, err := decodeChunk(raw)
		if err != nil {
			return fmt.Errorf("chunk %d: %w", i, err)
		}
		chunks = append(chunks, c)
	}
	m.Chunks = chunks
	return nil
}

func decodeChunk(raw json.RawMessage) (Chunk, error) {
	var head struct {
		Type ChunkType `json:"type"`
	}
	if err := json.Unmarshal(raw, &head); err != nil {
		return nil, err
	}
	switch head.Type {
	case ChunkEncodedText:
		var c struct {
			Tokens []int `json:"tokens"`
		}
		err := json.Unmarshal(raw, &c)
		if c.Tokens == nil {
			c.Tokens = []int{}
		}
		return EncodedTextChunk{Tokens: c.Tokens}, err
	case ChunkImage:
		type wire ImageChunk
		var c wire
		err := json.Unmarshal(raw, &c)
		return ImageChunk(c), err
	case ChunkImageAssetPointer:
		type wire ImageAssetPointerChunk
		var c wire
		err := json.Unmarshal(raw, &c)
		return ImageAssetPointerChunk(c), err
	case ChunkDmel:
		type wire DmelChunk
		var c wire
		err := json.Unmarshal(raw, &c)
		return DmelChunk(c), err
	case "":
		return nil, ValidationError("model_input", "chunk has no \"type\"")
	default:
		return nil, ValidationError("model_input", "unknown chunk type %q", head.Type)
	}
}

// derefChunk turns a pointer chunk into its value so type switches need only
// the value cases. A nil pointer stays a nil Chunk.
func derefChunk(c Chunk) Chunk {
	switch p := c.(type) {
	case *EncodedTextChunk:
		if p == nil {
			return nil
		}
		return *p
	case *ImageChunk:
		if p == nil {
			return nil
		}
		return *p
	case *ImageAssetPointerChunk:
		if p == nil {
			return nil
		}
		return *p
	case *DmelChunk:
		if p == nil {
			return nil
		}
		return *p
	}
	return c
}

func chunkTypeName(c Chunk) string {
	c = derefChunk(c)
	if c == nil {
		return "nil"
	}
	return string(c.Type())
}

// Validate returns a KindValidation error if m has no chunks, a nil chunk, a
// token id outside [0, 2^31), an image with no data or format, an image
// pointer with no location, an empty dmel chunk, or a negative
// expected_tokens. It does not require image lengths; Length does.
func (m ModelInput) Validate() error {
	const op = "model_input"
	if len(m.Chunks) == 0 {
		return ValidationError(op, "model input is empty (no chunks)")
	}
	for i, c := range m.Chunks {
		switch c := derefChunk(c).(type) {
		case nil:
			return ValidationError(op, "chunk %d is nil", i)
		case EncodedTextChunk:
			if len(c.Tokens) == 0 {
				return ValidationError(op, "text chunk %d has no tokens", i)
			}
			for j, t := range c.Tokens {
				if t < 0 || t > math.MaxInt32 {
					return ValidationError(op, "chunk %d token %d = %d is not a valid token id", i, j, t)
				}
			}
		case ImageChunk:
			if len(c.Data) == 0 || c.Format == "" {
				return ValidationError(op, "image chunk %d needs data and a format", i)
			}
			if c.ExpectedTokens != nil && *c.ExpectedTokens < 0 {
				return ValidationError(op, "image chunk %d has negative expected_tokens", i)
			}
		case ImageAssetPointerChunk:
			if c.Location == "" || c.Format == "" {
				return ValidationError(op, "image_asset_pointer chunk %d needs a location and a format", i)
			}
			if c.ExpectedTokens != nil && *c.ExpectedTokens < 0 {
				return ValidationError(op, "image_asset_pointer chunk %d has negative expected_tokens", i)
			}
		case DmelChunk:
			if len(c.Dmel) == 0 {
				return ValidationError(op, "dmel chunk %d is empty", i)
			}
		}
	}
	return nil
}

package httpclient

import (
	"encoding/json"
	"mime"
	"strings"
)

// Media types tinkex speaks.
const (
	ContentTypeJSON     = "application/json"
	ContentTypeProtobuf = "application/x-protobuf"
)

// Decoder turns a 2xx response body into a result. It gets the response's
// Content-Type so it can choose between JSON and protobuf.
type Decoder interface {
	Decode(contentType string, body []byte) error
}

// DecoderFunc adapts a function to Decoder.
type DecoderFunc func(contentType string, body []byte) error

// Decode calls f.
func (f DecoderFunc) Decode(contentType string, body []byte) error { return f(contentType, body) }

// JSONInto returns a Decoder that unmarshals a JSON body into v.
func JSONInto(v any) Decoder {
	return DecoderFunc(func(_ string, body []byte) error { return json.Unmarshal(body, v) })
}

// IsProtobuf reports whether a Content-Type names protobuf.
func IsProtobuf(contentType string) bool {
	return mediaType(contentType) == ContentTypeProtobuf
}

// IsJSON reports whether a Content-Type names JSON (or is empty, which
// servers of older protocol versions send for JSON).
func IsJSON(contentType string) bool {
	mt := mediaType(contentType)
	return mt == "" || mt == ContentTypeJSON || strings.HasSuffix(mt, "+json")
}

func mediaType(contentType string) string {
	switch contentType {
	case "", ContentTypeJSON, ContentTypeProtobuf: // the common cases, without parsing
		return contentType
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return strings.ToLower(strings.TrimSpace(strings.SplitN(contentType, ";", 2)[0]))
	}
	return mt
}

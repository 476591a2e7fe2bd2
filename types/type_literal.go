package types

import (
	"bytes"
	"encoding/json"
)

// marshalWithType marshals v (a struct without its own MarshalJSON) and
// appends the `"type":typ` literal as the last field, where pydantic puts it.
func marshalWithType(v any, typ string) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	b = bytes.TrimSpace(b)
	if len(b) < 2 || b[0] != '{' || b[len(b)-1] != '}' {
		return nil, ValidationError("marshal", "type %q: body is not a JSON object", typ)
	}
	b = b[:len(b)-1]
	if len(b) > 1 {
		b = append(b, ',')
	}
	b = append(b, `"type":"`...)
	b = append(b, typ...)
	return append(b, `"}`...), nil
}

package types

import (
	"encoding/json"
	"strings"
	"unicode/utf8"
)

// DecodeUntypedAPIFuture decodes a submit's answer ({"request_id": …,
// "model_id"?: …}) exactly as json.Unmarshal into an UntypedAPIFuture
// would, result and error alike. The usual answer, an object of plain
// strings, is read in one pass without reflection; anything else (escapes,
// other value types, keys that match a field only case-insensitively, bytes
// json.Unmarshal would replace or refuse) goes through json.Unmarshal.
func DecodeUntypedAPIFuture(b []byte) (UntypedAPIFuture, error) {
	if f, ok := scanFuture(b); ok {
		return f, nil
	}
	var f UntypedAPIFuture
	err := json.Unmarshal(b, &f)
	return f, err
}

// scanFuture reads b when it is an object whose values are all strings
// with no escapes, control characters or invalid UTF-8, and whose keys are
// plain too; ok is false for anything else.
func scanFuture(b []byte) (f UntypedAPIFuture, ok bool) {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return f, false
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return f, skipSpace(b, i+1) == len(b)
	}
	for {
		key, next, ok := plainString(b, i)
		if !ok {
			return f, false
		}
		i = skipSpace(b, next)
		if i >= len(b) || b[i] != ':' {
			return f, false
		}
		val, next, ok := plainString(b, skipSpace(b, i+1))
		if !ok {
			return f, false
		}
		switch key {
		case "request_id":
			f.RequestID = val
		case "model_id":
			f.ModelID = val
		default:
			if strings.EqualFold(key, "request_id") || strings.EqualFold(key, "model_id") {
				return f, false // json.Unmarshal's case-insensitive match
			}
		}
		i = skipSpace(b, next)
		if i >= len(b) {
			return f, false
		}
		switch b[i] {
		case ',':
			i = skipSpace(b, i+1)
		case '}':
			return f, skipSpace(b, i+1) == len(b)
		default:
			return f, false
		}
	}
}

// plainString reads a JSON string at b[i] that json.Unmarshal would take
// byte for byte: no backslash, no control character, valid UTF-8. It
// returns the string and the index after its closing quote.
func plainString(b []byte, i int) (string, int, bool) {
	if i >= len(b) || b[i] != '"' {
		return "", i, false
	}
	for j := i + 1; j < len(b); j++ {
		switch c := b[j]; {
		case c == '"':
			s := b[i+1 : j]
			if !utf8.Valid(s) {
				return "", j, false
			}
			return string(s), j + 1, true
		case c == '\\', c < 0x20:
			return "", j, false
		}
	}
	return "", len(b), false
}

// skipSpace skips JSON white space from b[i].
func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

package tinkertest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strings"
)

// object is a strict view of one JSON object in a request body. Each accessor
// marks its field as known; finish reports the first problem: a missing
// required field, a value of the wrong JSON type, or a field the 0.25 SDK's
// request model does not have (its request models are StrictBase, so the
// fake rejects unknown fields rather than silently dropping them).
type object struct {
	path   string
	fields map[string]json.RawMessage
	seen   map[string]bool
	err    error
}

func parseObject(path string, raw []byte) (*object, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var fields map[string]json.RawMessage
	if err := dec.Decode(&fields); err != nil {
		return nil, fmt.Errorf("%s: body is not a JSON object: %v", orBody(path), err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%s: trailing data after the JSON object", orBody(path))
	}
	if fields == nil {
		return nil, fmt.Errorf("%s: expected a JSON object, got null", orBody(path))
	}
	return &object{path: path, fields: fields, seen: map[string]bool{}}, nil
}

func orBody(p string) string {
	if p == "" {
		return "body"
	}
	return p
}

func (o *object) name(f string) string {
	if o.path == "" {
		return f
	}
	return o.path + "." + f
}

func (o *object) fail(format string, args ...any) {
	if o.err == nil {
		o.err = fmt.Errorf(format, args...)
	}
}

// raw returns the field's value, or nil when absent. A JSON null counts as
// absent, because the SDK omits null fields instead of sending them.
func (o *object) raw(f string, required bool) json.RawMessage {
	o.seen[f] = true
	v, ok := o.fields[f]
	if !ok || string(bytes.TrimSpace(v)) == "null" {
		if ok {
			o.fail("%s: null is not allowed (the SDK omits unset fields)", o.name(f))
		} else if required {
			o.fail("%s: field required", o.name(f))
		}
		return nil
	}
	return v
}

func (o *object) has(f string) bool {
	_, ok := o.fields[f]
	return ok
}

func (o *object) str(f string, required bool) string {
	v := o.raw(f, required)
	if v == nil {
		return ""
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		o.fail("%s: must be a string", o.name(f))
	}
	return s
}

func (o *object) literal(f, want string) {
	if got := o.str(f, true); o.err == nil && got != want {
		o.fail("%s: must be %q, got %q", o.name(f), want, got)
	}
}

func (o *object) integer(f string, required bool) (int64, bool) {
	v := o.raw(f, required)
	if v == nil {
		return 0, false
	}
	n, err := jsonInt(v)
	if err != nil {
		o.fail("%s: %v", o.name(f), err)
		return 0, false
	}
	return n, true
}

func jsonInt(v json.RawMessage) (int64, error) {
	s := strings.TrimSpace(string(v))
	if s == "" || s[0] != '-' && (s[0] < '0' || s[0] > '9') {
		return 0, fmt.Errorf("must be an integer, got %s", s)
	}
	var n json.Number
	if err := json.Unmarshal([]byte(s), &n); err != nil {
		return 0, fmt.Errorf("must be an integer")
	}
	i, err := n.Int64()
	if err != nil {
		return 0, fmt.Errorf("must be an integer, got %s", s)
	}
	return i, nil
}

func (o *object) number(f string, required bool) (float64, bool) {
	v := o.raw(f, required)
	if v == nil {
		return 0, false
	}
	var x float64
	if err := json.Unmarshal(v, &x); err != nil || math.IsNaN(x) {
		o.fail("%s: must be a number", o.name(f))
		return 0, false
	}
	return x, true
}

func (o *object) boolean(f string, required bool) bool {
	v := o.raw(f, required)
	if v == nil {
		return false
	}
	var b bool
	if err := json.Unmarshal(v, &b); err != nil {
		o.fail("%s: must be a boolean", o.name(f))
	}
	return b
}

func (o *object) object(f string, required bool) *object {
	v := o.raw(f, required)
	if v == nil {
		return nil
	}
	sub, err := parseObject(o.name(f), v)
	if err != nil {
		o.fail("%s: must be an object", o.name(f))
		return nil
	}
	return sub
}

// anyObject returns a free-form object field (user_metadata, event_data).
func (o *object) anyObject(f string, required bool) map[string]any {
	v := o.raw(f, required)
	if v == nil {
		return nil
	}
	var m map[string]any
	if err := json.Unmarshal(v, &m); err != nil || m == nil {
		o.fail("%s: must be an object", o.name(f))
	}
	return m
}

func (o *object) array(f string, required bool) []json.RawMessage {
	v := o.raw(f, required)
	if v == nil {
		return nil
	}
	var a []json.RawMessage
	if err := json.Unmarshal(v, &a); err != nil {
		o.fail("%s: must be an array", o.name(f))
	}
	return a
}

func (o *object) strings(f string, required bool) []string {
	v := o.raw(f, required)
	if v == nil {
		return nil
	}
	var a []string
	if err := json.Unmarshal(v, &a); err != nil {
		o.fail("%s: must be an array of strings", o.name(f))
	}
	return a
}

// child folds a nested object's error into o.
func (o *object) child(c *object) {
	if c != nil {
		if err := c.finish(); err != nil {
			o.fail("%v", err)
		}
	}
}

// finish returns the first error, including unknown fields.
func (o *object) finish() error {
	if o.err != nil {
		return o.err
	}
	var unknown []string
	for k := range o.fields {
		if !o.seen[k] {
			unknown = append(unknown, o.name(k))
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return fmt.Errorf("%s: extra fields not permitted", strings.Join(unknown, ", "))
	}
	return nil
}

// generic decodes a body for the request log.
func generic(raw []byte) any {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil
	}
	return v
}

func itoa(i int) string { return fmt.Sprint(i) }

func errorf(format string, args ...any) error { return fmt.Errorf(format, args...) }

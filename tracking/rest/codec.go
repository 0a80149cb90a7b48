package rest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"reflect"
	"sort"
	"strings"
)

// Fields holds the top-level fields of a request as they were sent, so that
// a server can tell a missing field from one sent with its zero value, as
// MLflow's _assert_required does.
type Fields map[string]json.RawMessage

// Present reports whether the field was sent with a value: not absent, not
// null and not "" (MLflow's notion of a required field being there).
func (f Fields) Present(name string) bool {
	raw, ok := f[name]
	if !ok {
		return false
	}
	s := string(bytes.TrimSpace(raw))
	return s != "null" && s != `""`
}

// FieldError is a request field whose value does not fit its type.
type FieldError struct {
	Field string // "" when the body as a whole is not a JSON object
	Value string // the value as sent, shortened
	Err   error
}

func (e *FieldError) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("malformed request body: %v", e.Err)
	}
	return fmt.Sprintf("Invalid value %s for parameter '%s' supplied: %v", e.Value, e.Field, e.Err)
}

func (e *FieldError) Unwrap() error { return e.Err }

// Decode parses a JSON request body into msg, a pointer to a message
// struct, field by field so that an error names the field. An empty body
// is an empty message. Like MLflow's server it accepts a body that is a
// JSON string holding the object (old clients double-encode), and
// Python's bare NaN, Infinity and -Infinity tokens.
func Decode(body []byte, msg any) (Fields, error) {
	var fields Fields
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 || string(trimmed) == "null" {
		return Fields{}, nil
	}
	if trimmed[0] == '"' {
		var inner string
		if err := json.Unmarshal(trimmed, &inner); err == nil {
			trimmed = []byte(inner)
		}
	}
	if err := json.Unmarshal(trimmed, &fields); err != nil {
		var syn *json.SyntaxError
		if !errors.As(err, &syn) {
			return nil, &FieldError{Err: errors.New("want a JSON object")}
		}
		fixed, ok := quoteNonFinite(trimmed)
		if !ok || json.Unmarshal(fixed, &fields) != nil {
			return nil, &FieldError{Err: err}
		}
	}
	if fields == nil {
		fields = Fields{}
	}
	return fields, decodeFields(fields, msg)
}

// decodeFields decodes each known field of msg from fields.
func decodeFields(fields Fields, msg any) error {
	v := reflect.ValueOf(msg).Elem()
	t := v.Type()
	for i := range t.NumField() {
		name := jsonName(t.Field(i))
		raw, ok := fields[name]
		if name == "" || !ok {
			continue
		}
		if err := json.Unmarshal(raw, v.Field(i).Addr().Interface()); err != nil {
			var te *json.UnmarshalTypeError
			if errors.As(err, &te) {
				err = fmt.Errorf("want %s, got a JSON %s", describe(v.Field(i).Type()), te.Value)
			}
			return &FieldError{Field: name, Value: shorten(string(raw)), Err: err}
		}
	}
	return nil
}

func describe(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Slice:
		return "a list"
	case reflect.Struct:
		return "an object"
	case reflect.Bool:
		return "true or false"
	case reflect.String:
		return "a string"
	case reflect.Pointer:
		return describe(t.Elem())
	}
	return "a number"
}

func shorten(s string) string {
	if len(s) > 100 {
		return s[:100] + "..."
	}
	return s
}

// jsonName returns the JSON name of a struct field, "" for none.
func jsonName(f reflect.StructField) string {
	tag := f.Tag.Get("json")
	name, _, _ := strings.Cut(tag, ",")
	if name == "-" || !f.IsExported() {
		return ""
	}
	if name == "" {
		return f.Name
	}
	return name
}

// quoteNonFinite rewrites the bare tokens NaN, Infinity and -Infinity
// outside strings into JSON strings, which Float reads. It reports false
// when there was none to rewrite.
func quoteNonFinite(b []byte) ([]byte, bool) {
	var out bytes.Buffer
	changed := false
	inString, escaped := false, false
	for i := 0; i < len(b); i++ {
		c := b[i]
		if inString {
			out.WriteByte(c)
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
			continue
		}
		if c == '"' {
			inString = true
			out.WriteByte(c)
			continue
		}
		matched := false
		for _, tok := range []string{"NaN", "Infinity", "-Infinity"} {
			if bytes.HasPrefix(b[i:], []byte(tok)) {
				out.WriteString(`"` + tok + `"`)
				i += len(tok) - 1
				changed, matched = true, true
				break
			}
		}
		if !matched {
			out.WriteByte(c)
		}
	}
	return out.Bytes(), changed
}

// DecodeQuery fills msg from GET query parameters, as MLflow's server
// does: a repeated field takes every value of its parameter
// (?experiment_ids=1&experiment_ids=2), other fields the first, and a bool
// field "true" or "false" in any case. Unknown parameters are ignored.
func DecodeQuery(q url.Values, msg any) (Fields, error) {
	fields := Fields{}
	t := reflect.TypeOf(msg).Elem()
	for i := range t.NumField() {
		f := t.Field(i)
		name := jsonName(f)
		vals, ok := q[name]
		if name == "" || !ok || len(vals) == 0 {
			continue
		}
		ft := f.Type
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		var raw []byte
		switch ft.Kind() {
		case reflect.Slice:
			raw, _ = json.Marshal(vals)
		case reflect.Bool:
			switch strings.ToLower(vals[0]) {
			case "true":
				raw = []byte("true")
			case "false":
				raw = []byte("false")
			default:
				return nil, &FieldError{Field: name, Value: shorten(vals[0]), Err: errors.New("want 'true' or 'false'")}
			}
		default:
			raw, _ = json.Marshal(vals[0])
		}
		fields[name] = raw
	}
	return fields, decodeFields(fields, msg)
}

// EncodeQuery turns a message into GET query parameters, the inverse of
// DecodeQuery: a list becomes a repeated parameter, zero values that the
// JSON omits are left out.
func EncodeQuery(msg any) (url.Values, error) {
	b, err := json.Marshal(msg)
	if err != nil {
		return nil, err
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(b, &fields); err != nil {
		return nil, err
	}
	q := url.Values{}
	names := make([]string, 0, len(fields))
	for name := range fields {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		raw := fields[name]
		if raw[0] == '[' {
			var items []json.RawMessage
			if err := json.Unmarshal(raw, &items); err != nil {
				return nil, err
			}
			for _, it := range items {
				s, err := scalar(it)
				if err != nil {
					return nil, fmt.Errorf("query parameter %s: %w", name, err)
				}
				q.Add(name, s)
			}
			continue
		}
		s, err := scalar(raw)
		if err != nil {
			return nil, fmt.Errorf("query parameter %s: %w", name, err)
		}
		q.Set(name, s)
	}
	return q, nil
}

func scalar(raw json.RawMessage) (string, error) {
	switch raw[0] {
	case '"':
		var s string
		err := json.Unmarshal(raw, &s)
		return s, err
	case '{', '[':
		return "", errors.New("a GET parameter cannot hold an object or a list of lists")
	}
	return string(raw), nil
}

// Package rest defines MLflow's REST API 2.0 as yolops speaks it: the
// endpoints (method and path, from MLflow's service.proto,
// model_registry.proto and mlflow_artifacts.proto) and their JSON
// messages. The server (tracking/server) and the Go client
// (tracking/client) both use these definitions, so that the two cannot
// drift apart.
//
// The JSON follows what MLflow's server writes and reads: proto field names
// in snake_case; int64 fields written as JSON numbers (MLflow's
// message_to_json) and read from numbers or decimal strings (protobuf's
// ParseDict); floats written as numbers or "NaN", "Infinity", "-Infinity";
// enums written as names and read from names or numbers; experiment ids
// read from strings or numbers (MLflow's _stringify_all_experiment_ids);
// unknown fields ignored.
package rest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"

	"github.com/yolops/yolops/tracking"
)

// Int64 is a proto int64: written as a JSON number, read from a number or
// a decimal string.
type Int64 int64

// MarshalJSON implements json.Marshaler.
func (n Int64) MarshalJSON() ([]byte, error) {
	return strconv.AppendInt(nil, int64(n), 10), nil
}

// UnmarshalJSON implements json.Unmarshaler.
func (n *Int64) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	s := string(b)
	if len(b) > 0 && b[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		// ParseDict takes integral floats (5.0, 1e3) too.
		f, ferr := strconv.ParseFloat(s, 64)
		if ferr != nil || f != math.Trunc(f) || math.Abs(f) > 1<<63-1024 {
			return fmt.Errorf("%s is not a 64-bit integer", b)
		}
		v = int64(f)
	}
	*n = Int64(v)
	return nil
}

// Float is a proto double: NaN and ±Inf travel as the strings "NaN",
// "Infinity" and "-Infinity", as protobuf's JSON mapping has it.
type Float float64

// MarshalJSON implements json.Marshaler.
func (f Float) MarshalJSON() ([]byte, error) {
	v := float64(f)
	switch {
	case math.IsNaN(v):
		return []byte(`"NaN"`), nil
	case math.IsInf(v, 1):
		return []byte(`"Infinity"`), nil
	case math.IsInf(v, -1):
		return []byte(`"-Infinity"`), nil
	}
	return json.Marshal(v)
}

// UnmarshalJSON implements json.Unmarshaler.
func (f *Float) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		switch s {
		case "NaN":
			*f = Float(math.NaN())
			return nil
		case "Infinity":
			*f = Float(math.Inf(1))
			return nil
		case "-Infinity":
			*f = Float(math.Inf(-1))
			return nil
		}
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return fmt.Errorf("%q is not a number", s)
		}
		*f = Float(v)
		return nil
	}
	v, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return fmt.Errorf("%s is not a number", b)
	}
	*f = Float(v)
	return nil
}

// ID is an experiment id: a string that clients may also send as a number.
type ID string

// UnmarshalJSON implements json.Unmarshaler.
func (id *ID) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*id = ID(s)
		return nil
	}
	var n json.Number
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if err := d.Decode(&n); err != nil {
		return fmt.Errorf("%s is not a string or a number", b)
	}
	*id = ID(n.String())
	return nil
}

// ViewType is the proto enum ViewType: ACTIVE_ONLY, DELETED_ONLY or ALL.
type ViewType tracking.ViewType

var viewTypeNames = map[string]tracking.ViewType{
	"ACTIVE_ONLY":  tracking.ActiveOnly,
	"DELETED_ONLY": tracking.DeletedOnly,
	"ALL":          tracking.AllStages,
}

// MarshalJSON implements json.Marshaler.
func (v ViewType) MarshalJSON() ([]byte, error) {
	for name, val := range viewTypeNames {
		if val == tracking.ViewType(v) {
			return json.Marshal(name)
		}
	}
	return json.Marshal("ACTIVE_ONLY")
}

// UnmarshalJSON implements json.Unmarshaler.
func (v *ViewType) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		if val, ok := viewTypeNames[s]; ok {
			*v = ViewType(val)
			return nil
		}
		// GET parameters carry numbers as strings.
		b = []byte(s)
	}
	n, err := strconv.Atoi(string(b))
	if err != nil || n < int(tracking.ActiveOnly) || n > int(tracking.AllStages) {
		return fmt.Errorf("%s is not a view type (ACTIVE_ONLY, DELETED_ONLY or ALL)", b)
	}
	*v = ViewType(n)
	return nil
}

// RunStatus is the proto enum RunStatus, written as its name.
type RunStatus string

var runStatusNumbers = []tracking.RunStatus{
	1: tracking.RunRunning, 2: tracking.RunScheduled, 3: tracking.RunFinished,
	4: tracking.RunFailed, 5: tracking.RunKilled,
}

// UnmarshalJSON implements json.Unmarshaler. Unknown names pass through,
// for the store to reject with its own message.
func (s *RunStatus) UnmarshalJSON(b []byte) error {
	return unmarshalEnum(b, s, runStatusNumbers, "run status")
}

// ModelVersionStatus is the proto enum ModelVersionStatus, written as its
// name.
type ModelVersionStatus string

var versionStatusNumbers = []tracking.ModelVersionStatus{
	1: tracking.VersionPendingRegistration, 2: tracking.VersionFailedRegistration, 3: tracking.VersionReady,
}

// UnmarshalJSON implements json.Unmarshaler.
func (s *ModelVersionStatus) UnmarshalJSON(b []byte) error {
	return unmarshalEnum(b, s, versionStatusNumbers, "model version status")
}

// unmarshalEnum decodes a proto enum written as its name (kept as is) or
// as its number (numbers[n], 1-based), into dst; null leaves dst alone.
func unmarshalEnum[E ~string, V ~string](b []byte, dst *E, numbers []V, what string) error {
	if string(b) == "null" {
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var name string
		if err := json.Unmarshal(b, &name); err != nil {
			return err
		}
		*dst = E(name)
		return nil
	}
	n, err := strconv.Atoi(string(b))
	if err != nil || n < 1 || n >= len(numbers) {
		return fmt.Errorf("%s is not a %s", b, what)
	}
	*dst = E(numbers[n])
	return nil
}

// Package search parses MLflow's search grammar: the filter strings of
// search_runs, search_experiments, search_registered_models and
// search_model_versions, their order_by clauses, and page tokens.
//
// A filter is comparisons joined by AND (OR and parentheses are not part of
// the grammar):
//
//	metrics.rmse < 1 and params.model = 'yolov8n' and tags.`mlflow.user` LIKE 'a%'
//	attributes.run_id IN ('a1b2...', 'c3d4...')
//
// An identifier is <entity>.<key>; a key with characters other than letters,
// digits, _ and . is quoted in backticks or double quotes
// (metrics.`mAP50-95B`). Without an entity it names an attribute. The
// entities, keys and comparators each search accepts are MLflow's
// (mlflow/utils/search_utils.py); errors are INVALID_PARAMETER_VALUE.
package search

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/yolops/yolops/tracking"
)

// Entity is what an identifier refers to.
type Entity string

// The entities.
const (
	Metric    Entity = "metric"
	Param     Entity = "parameter"
	Tag       Entity = "tag"
	Attribute Entity = "attribute"
	Dataset   Entity = "dataset"
)

// ValueKind says which field of a Value is set.
type ValueKind int

// The kinds of values.
const (
	String ValueKind = iota
	Number
	List
)

// Value is the right-hand side of a comparison.
type Value struct {
	Kind ValueKind
	Str  string   // String
	Num  float64  // Number
	Int  int64    // Number, when IsInt
	List []string // List
	// IsInt says the number was written without a fraction or exponent and
	// fits an int64.
	IsInt bool
}

// Clause is one comparison of a filter.
type Clause struct {
	Entity     Entity
	Key        string // with aliases resolved: created -> start_time
	Comparator string // upper case: = != < <= > >= LIKE ILIKE IN "NOT IN"
	Value      Value
}

// OrderBy is one parsed order_by clause.
type OrderBy struct {
	Entity    Entity
	Key       string
	Ascending bool
}

func invalid(format string, args ...any) error {
	return tracking.Errorf(tracking.InvalidParameterValue, format, args...)
}

var (
	numericComparators = []string{"=", "!=", "<", "<=", ">", ">="}
	stringComparators  = []string{"=", "!=", "LIKE", "ILIKE"}
)

// grammar is what one search accepts.
type grammar struct {
	entities     map[string]Entity // identifier prefixes, "" included when bare keys are attributes
	entityNames  string            // for messages
	aliases      map[string]string // attribute key aliases
	stringAttrs  []string
	numericAttrs []string
	listAttrs    map[string][]string // attribute -> the comparators taking a list
	orderAttrs   []string
	// orderByData says order_by may name metrics, params and tags, not
	// only attributes.
	orderByData bool
	datasetKeys []string
}

var runs = grammar{
	entities: map[string]Entity{
		"metric": Metric, "metrics": Metric,
		"parameter": Param, "parameters": Param, "param": Param, "params": Param,
		"tag": Tag, "tags": Tag,
		"attribute": Attribute, "attributes": Attribute, "attr": Attribute, "run": Attribute,
		"dataset": Dataset, "datasets": Dataset,
	},
	entityNames: "['metric', 'parameter', 'tag', 'attribute', 'dataset']",
	aliases: map[string]string{
		"created": "start_time", "Created": "start_time",
		"run name": "run_name", "Run name": "run_name", "Run Name": "run_name",
	},
	stringAttrs:  []string{"artifact_uri", "run_id", "run_name", "status", "user_id"},
	numericAttrs: []string{"end_time", "start_time"},
	listAttrs:    map[string][]string{"run_id": {"IN", "NOT IN"}},
	orderAttrs:   []string{"artifact_uri", "end_time", "run_id", "run_name", "start_time", "status", "user_id"},
	orderByData:  true,
	datasetKeys:  []string{"context", "digest", "name"},
}

var experiments = grammar{
	entities:     map[string]Entity{"attribute": Attribute, "tag": Tag, "tags": Tag},
	entityNames:  "('attribute', 'tag', 'tags')",
	stringAttrs:  []string{"name"},
	numericAttrs: []string{"creation_time", "last_update_time"},
	orderAttrs:   []string{"creation_time", "experiment_id", "last_update_time", "name"},
}

var registeredModels = grammar{
	entities:    map[string]Entity{"attribute": Attribute, "tag": Tag, "tags": Tag},
	entityNames: "('attribute', 'tag', 'tags')",
	stringAttrs: []string{"name"},
	orderAttrs:  []string{"creation_timestamp", "last_updated_timestamp", "name", "timestamp"},
}

var modelVersions = grammar{
	entities:     map[string]Entity{"attribute": Attribute, "tag": Tag, "tags": Tag},
	entityNames:  "('attribute', 'tag', 'tags')",
	stringAttrs:  []string{"name", "run_id", "source_path"},
	numericAttrs: []string{"version_number"},
	listAttrs:    map[string][]string{"run_id": {"IN"}},
	orderAttrs:   []string{"creation_timestamp", "last_updated_timestamp", "name", "version_number"},
}

// ParseRunFilter parses a search_runs filter.
func ParseRunFilter(filter string) ([]Clause, error) { return runs.parseFilter(filter) }

// ParseRunOrderBy parses a search_runs order_by clause, such as
// "metrics.`mAP50-95B` DESC".
func ParseRunOrderBy(s string) (OrderBy, error) { return runs.parseOrderBy(s) }

// ParseExperimentFilter parses a search_experiments filter.
func ParseExperimentFilter(filter string) ([]Clause, error) { return experiments.parseFilter(filter) }

// ParseExperimentOrderBy parses a search_experiments order_by clause.
func ParseExperimentOrderBy(s string) (OrderBy, error) { return experiments.parseOrderBy(s) }

// ParseRegisteredModelFilter parses a search_registered_models filter.
func ParseRegisteredModelFilter(filter string) ([]Clause, error) {
	return registeredModels.parseFilter(filter)
}

// ParseRegisteredModelOrderBy parses a search_registered_models order_by
// clause.
func ParseRegisteredModelOrderBy(s string) (OrderBy, error) {
	return registeredModels.parseOrderBy(s)
}

// ParseModelVersionFilter parses a search_model_versions filter.
func ParseModelVersionFilter(filter string) ([]Clause, error) {
	return modelVersions.parseFilter(filter)
}

// ParseModelVersionOrderBy parses a search_model_versions order_by clause.
func ParseModelVersionOrderBy(s string) (OrderBy, error) { return modelVersions.parseOrderBy(s) }

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (g *grammar) entity(prefix string) (Entity, error) {
	if prefix == "" {
		return Attribute, nil
	}
	e, ok := g.entities[prefix]
	if !ok {
		return "", invalid("Invalid entity type '%s'. Valid values are %s", prefix, g.entityNames)
	}
	return e, nil
}

func (g *grammar) attribute(key string, valid []string) (string, error) {
	if a, ok := g.aliases[key]; ok {
		key = a
	}
	if !contains(valid, key) {
		return "", invalid("Invalid attribute key '%s' specified. Valid keys are '%s'", key, strings.Join(valid, "', '"))
	}
	return key, nil
}

func (g *grammar) parseFilter(filter string) ([]Clause, error) {
	p := parser{s: filter}
	p.skipSpace()
	if p.eof() {
		return nil, nil
	}
	var clauses []Clause
	for {
		c, err := g.comparison(&p)
		if err != nil {
			return nil, err
		}
		clauses = append(clauses, c)
		p.skipSpace()
		if p.eof() {
			return clauses, nil
		}
		at := p.pos
		if w := p.word(); !strings.EqualFold(w, "AND") {
			return nil, invalid("Invalid clause(s) in filter string: expected AND at offset %d of '%s', found '%s' (only AND-ed comparisons are supported)", at, filter, p.rest(at))
		}
		p.skipSpace()
	}
}

func (g *grammar) comparison(p *parser) (Clause, error) {
	prefix, key, err := p.identifier()
	if err != nil {
		return Clause{}, err
	}
	p.skipSpace()
	comp, err := p.comparator()
	if err != nil {
		return Clause{}, err
	}
	p.skipSpace()
	val, err := p.value()
	if err != nil {
		return Clause{}, err
	}
	ent, err := g.entity(prefix)
	if err != nil {
		return Clause{}, err
	}
	c := Clause{Entity: ent, Key: key, Comparator: comp, Value: val}

	var comparators []string
	var kind ValueKind
	switch ent {
	case Metric:
		comparators, kind = numericComparators, Number
	case Param, Tag:
		comparators, kind = stringComparators, String
	case Dataset:
		if !contains(g.datasetKeys, key) {
			return Clause{}, invalid("Invalid dataset key '%s' specified. Valid keys are '%s'", key, strings.Join(g.datasetKeys, "', '"))
		}
		comparators, kind = join(stringComparators, []string{"IN", "NOT IN"}), String
	case Attribute:
		if c.Key, err = g.attribute(key, join(g.stringAttrs, g.numericAttrs)); err != nil {
			return Clause{}, err
		}
		if contains(g.numericAttrs, c.Key) {
			comparators, kind = numericComparators, Number
		} else {
			comparators, kind = join(stringComparators, g.listAttrs[c.Key]), String
		}
	}
	if !contains(comparators, comp) {
		return Clause{}, invalid("Invalid comparator '%s' for %s '%s', not one of %s", comp, ent, c.Key, strings.Join(comparators, ", "))
	}
	isList := comp == "IN" || comp == "NOT IN"
	switch {
	case isList && val.Kind != List:
		return Clause{}, invalid("Comparator '%s' for %s '%s' expects a parenthesised list of quoted strings, e.g. ('a', 'b')", comp, ent, c.Key)
	case !isList && val.Kind == List:
		return Clause{}, invalid("A list of values can only be used with IN, not with '%s' (%s '%s')", comp, ent, c.Key)
	case !isList && kind == Number && val.Kind != Number:
		return Clause{}, invalid("Expected numeric value type for %s '%s'. Found %s", ent, c.Key, val.Str)
	case !isList && kind == String && val.Kind != String:
		return Clause{}, invalid("Expected a quoted string value for %s '%s' (e.g. 'my-value'). Got value %s", ent, c.Key, formatNumber(val))
	}
	return c, nil
}

// join returns a new slice holding a's elements then b's.
func join(a, b []string) []string {
	return append(append([]string(nil), a...), b...)
}

func formatNumber(v Value) string {
	if v.IsInt {
		return strconv.FormatInt(v.Int, 10)
	}
	return strconv.FormatFloat(v.Num, 'g', -1, 64)
}

func (g *grammar) parseOrderBy(s string) (OrderBy, error) {
	p := parser{s: s}
	p.skipSpace()
	bad := func() error {
		return invalid("Invalid order_by clause '%s'. Could not be parsed.", s)
	}
	if p.eof() {
		return OrderBy{}, bad()
	}
	prefix, key, err := p.identifier()
	if err != nil {
		return OrderBy{}, invalid("Invalid order_by clause '%s': %v", s, err)
	}
	o := OrderBy{Ascending: true}
	p.skipSpace()
	if !p.eof() {
		switch w := p.word(); strings.ToUpper(w) {
		case "ASC":
		case "DESC":
			o.Ascending = false
		case "":
			return OrderBy{}, bad()
		default:
			return OrderBy{}, invalid("Invalid ordering key in order_by clause '%s'.", s)
		}
		p.skipSpace()
		if !p.eof() {
			return OrderBy{}, bad()
		}
	}
	if o.Entity, err = g.entity(prefix); err != nil {
		return OrderBy{}, err
	}
	switch o.Entity {
	case Attribute:
		if o.Key, err = g.attribute(key, g.orderAttrs); err != nil {
			return OrderBy{}, err
		}
	case Metric, Param, Tag:
		if !g.orderByData {
			return OrderBy{}, invalid("Invalid order_by entity: %s in '%s'", o.Entity, s)
		}
		o.Key = key
	default:
		return OrderBy{}, invalid("Invalid order_by entity type '%s' in '%s'", o.Entity, s)
	}
	return o, nil
}

// EncodePageToken returns the page token of a page that starts at offset,
// in MLflow's format: base64 of {"offset": N}.
func EncodePageToken(offset int) string {
	return base64.StdEncoding.EncodeToString(fmt.Appendf(nil, `{"offset": %d}`, offset))
}

// DecodePageToken returns the offset a page token names; "" is offset 0.
func DecodePageToken(token string) (int, error) {
	if token == "" {
		return 0, nil
	}
	raw, err := base64.StdEncoding.DecodeString(token)
	if err != nil {
		return 0, invalid("Invalid page token, could not base64-decode")
	}
	var parsed struct {
		Offset json.RawMessage `json:"offset"`
	}
	if err := json.Unmarshal(raw, &parsed); err != nil {
		return 0, invalid("Invalid page token, decoded value=%s", raw)
	}
	s := strings.Trim(string(parsed.Offset), `"`)
	offset, err := strconv.Atoi(s)
	if err != nil || offset <= 0 {
		return 0, invalid("Invalid page token, parsed value=%s", raw)
	}
	return offset, nil
}

package datastore

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Config is a DVC configuration file (.dvc/config, .dvc/config.local) as
// DVC reads and writes it through configobj: sections of "key = value"
// lines. Like DVC, section names and keys are lower-cased when read, and
// the whole file is written afresh (comments are not kept) in DVC's
// order: plain sections as read, then 'remote "name"' sections, then
// machine and db sections, empty sections left out, keys indented by four
// spaces.
type Config struct {
	Sections []*Section
}

// Section is one [section] of a Config.
type Section struct {
	Name string
	Keys []KeyValue
}

// KeyValue is one "key = value" line. A value written as a
// comma-separated list (configobj's list syntax) has List set; DVC itself
// writes no lists.
type KeyValue struct {
	Key    string
	Value  string
	List   []string
	IsList bool
}

// ParseConfig reads a configobj file as DVC does. name is used in errors.
func ParseConfig(name string, data []byte) (*Config, error) {
	c := &Config{}
	text := string(data)
	text = strings.TrimPrefix(text, "\ufeff")
	lines := splitLines(text)
	var cur *Section
	for i := 0; i < len(lines); i++ {
		lineNo := i + 1
		line := lines[i]
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		if strings.HasPrefix(trimmed, "[") {
			sec, err := parseSectionMarker(trimmed)
			if err != nil {
				return nil, fmt.Errorf("%s:%d: %w", name, lineNo, err)
			}
			sec = strings.ToLower(sec)
			if c.Section(sec) != nil {
				return nil, fmt.Errorf("%s:%d: section [%s] appears twice", name, lineNo, sec)
			}
			cur = &Section{Name: sec}
			c.Sections = append(c.Sections, cur)
			continue
		}
		key, rest, err := splitKeyword(trimmed)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, lineNo, err)
		}
		if cur == nil {
			return nil, fmt.Errorf("%s:%d: %q is outside any [section]", name, lineNo, key)
		}
		var kv KeyValue
		if q := tripleQuote(rest); q != "" {
			val, used, err := parseTriple(rest, lines[i+1:], q)
			if err != nil {
				return nil, fmt.Errorf("%s:%d: value of %q: %w", name, lineNo, key, err)
			}
			i += used
			kv = KeyValue{Value: val}
		} else {
			kv, err = parseValue(rest)
			if err != nil {
				return nil, fmt.Errorf("%s:%d: value of %q: %w", name, lineNo, key, err)
			}
		}
		kv.Key = strings.ToLower(key)
		for _, old := range cur.Keys {
			if old.Key == kv.Key {
				return nil, fmt.Errorf("%s:%d: key %q appears twice in [%s]", name, lineNo, kv.Key, cur.Name)
			}
		}
		cur.Keys = append(cur.Keys, kv)
	}
	return c, nil
}

// splitLines splits as Python's str.splitlines does for the line breaks a
// config file can hold.
func splitLines(s string) []string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	lines := strings.Split(s, "\n")
	if len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	return lines
}

// parseSectionMarker reads "[name]" or "['quoted name']", with an optional
// trailing comment. configobj's nested sections ("[[sub]]") have no use in
// DVC's configuration and are refused.
func parseSectionMarker(s string) (string, error) {
	body := s
	depth := 0
	for {
		body = strings.TrimLeft(body, " \t")
		if !strings.HasPrefix(body, "[") {
			break
		}
		depth++
		body = body[1:]
	}
	if depth != 1 {
		return "", fmt.Errorf("nested section %q is not supported", s)
	}
	var name string
	if body != "" && (body[0] == '"' || body[0] == '\'') {
		end := strings.IndexByte(body[1:], body[0])
		if end < 0 {
			return "", fmt.Errorf("section marker %q has an unclosed quote", s)
		}
		name = body[1 : end+1]
		if !closesSection(body[end+2:], depth) {
			return "", fmt.Errorf("section marker %q: brackets do not match, or text after ']'", s)
		}
	} else {
		// configobj's name is lazy: the shortest that leaves exactly the
		// closing brackets and an optional comment, so "[]]" names "]".
		found := false
		for i := 1; i <= len(body); i++ {
			if closesSection(body[i:], depth) {
				name, found = strings.TrimRight(body[:i], " \t"), true
				break
			}
		}
		if !found {
			return "", fmt.Errorf("section marker %q: brackets do not match, or text after ']'", s)
		}
	}
	if strings.TrimSpace(name) == "" {
		return "", fmt.Errorf("section marker %q has no name", s)
	}
	return name, nil
}

// closesSection reports whether s is depth closing brackets (blanks
// allowed between) and an optional comment.
func closesSection(s string, depth int) bool {
	n := 0
	for {
		s = strings.TrimLeft(s, " \t")
		if !strings.HasPrefix(s, "]") {
			break
		}
		n++
		s = s[1:]
	}
	return n == depth && (s == "" || s[0] == '#')
}

// splitKeyword splits `key = rest`, the key optionally quoted.
func splitKeyword(s string) (key, rest string, err error) {
	if s[0] == '"' || s[0] == '\'' {
		end := strings.IndexByte(s[1:], s[0])
		if end < 0 {
			return "", "", fmt.Errorf("key in %q has an unclosed quote", s)
		}
		key = s[1 : end+1]
		rest = strings.TrimLeft(s[end+2:], " \t")
		if !strings.HasPrefix(rest, "=") {
			return "", "", fmt.Errorf("line %q is neither a [section] nor key = value", s)
		}
	} else {
		eq := strings.IndexByte(s, '=')
		if eq <= 0 {
			return "", "", fmt.Errorf("line %q is neither a [section] nor key = value", s)
		}
		key = strings.TrimRight(s[:eq], " \t")
		rest = s[eq:]
	}
	return key, strings.TrimLeft(rest[1:], " \t"), nil
}

func tripleQuote(s string) string {
	if strings.HasPrefix(s, `"""`) {
		return `"""`
	}
	if strings.HasPrefix(s, "'''") {
		return "'''"
	}
	return ""
}

// parseTriple reads a triple-quoted value starting at rest, continuing
// over the following lines when it spans several; it returns how many
// extra lines it used. As configobj's lazy regular expressions do, the
// value ends at the first closing quote that only blanks or a comment
// follow, so `”'it””` is "it'".
func parseTriple(rest string, next []string, q string) (string, int, error) {
	body := rest[3:]
	if v, ok := closeTriple(body, q); ok {
		return v, 0, nil
	}
	parts := []string{body}
	for i, line := range next {
		if v, ok := closeTriple(line, q); ok {
			parts = append(parts, v)
			return strings.Join(parts, "\n"), i + 1, nil
		}
		parts = append(parts, line)
	}
	return "", 0, fmt.Errorf("triple-quoted value is not closed")
}

// closeTriple finds where a triple-quoted value ends on line.
func closeTriple(line, q string) (string, bool) {
	for from := 0; ; {
		i := strings.Index(line[from:], q)
		if i < 0 {
			return "", false
		}
		end := from + i
		if checkComment(line[end+3:]) == nil {
			return line[:end], true
		}
		from = end + 1
	}
}

func checkComment(s string) error {
	s = strings.TrimLeft(s, " \t")
	if s != "" && !strings.HasPrefix(s, "#") {
		return fmt.Errorf("text %q after the closing quote", s)
	}
	return nil
}

// parseValue reads a single-line value as configobj's _handle_value does
// with list_values on: a quoted or bare string, or a comma-separated list
// (a lone "," is the empty list), then an optional "# comment". A bare
// value ends at the first "#" or ",".
func parseValue(s string) (KeyValue, error) {
	var items []string
	sawComma := false
	for {
		s = strings.TrimLeft(s, " \t")
		if s == "" || s[0] == '#' {
			break
		}
		var item string
		switch s[0] {
		case '"', '\'':
			end := strings.IndexByte(s[1:], s[0])
			if end < 0 {
				return KeyValue{}, fmt.Errorf("unclosed quote in %q", s)
			}
			item = s[1 : end+1]
			s = s[end+2:]
		case ',':
			if sawComma || len(items) > 0 {
				return KeyValue{}, fmt.Errorf("empty list item in %q", s)
			}
			rest := strings.TrimLeft(s[1:], " \t")
			if rest != "" && rest[0] != '#' {
				return KeyValue{}, fmt.Errorf("empty list item in %q", s)
			}
			return KeyValue{IsList: true}, nil
		default:
			end := strings.IndexAny(s, ",#")
			if end < 0 {
				end = len(s)
			}
			item = strings.TrimRight(s[:end], " \t")
			s = s[end:]
		}
		items = append(items, item)
		s = strings.TrimLeft(s, " \t")
		if s == "" || s[0] == '#' {
			break
		}
		if s[0] != ',' {
			return KeyValue{}, fmt.Errorf("unexpected %q after a value", s)
		}
		sawComma = true
		s = s[1:]
	}
	if !sawComma {
		if len(items) == 0 {
			return KeyValue{}, nil
		}
		return KeyValue{Value: items[0]}, nil
	}
	return KeyValue{List: items, IsList: true}, nil
}

// Section returns the section called name, or nil.
func (c *Config) Section(name string) *Section {
	for _, s := range c.Sections {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// Get returns the string value of key in section.
func (c *Config) Get(section, key string) (string, bool) {
	s := c.Section(section)
	if s == nil {
		return "", false
	}
	for _, kv := range s.Keys {
		if kv.Key == key && !kv.IsList {
			return kv.Value, true
		}
	}
	return "", false
}

// Set sets key in section to value, adding the section or the key at the
// end when absent.
func (c *Config) Set(section, key, value string) {
	s := c.Section(section)
	if s == nil {
		s = &Section{Name: section}
		c.Sections = append(c.Sections, s)
	}
	for i := range s.Keys {
		if s.Keys[i].Key == key {
			s.Keys[i] = KeyValue{Key: key, Value: value}
			return
		}
	}
	s.Keys = append(s.Keys, KeyValue{Key: key, Value: value})
}

// Unset removes key from section; it reports whether it was there.
func (c *Config) Unset(section, key string) bool {
	s := c.Section(section)
	if s == nil {
		return false
	}
	for i := range s.Keys {
		if s.Keys[i].Key == key {
			s.Keys = append(s.Keys[:i], s.Keys[i+1:]...)
			return true
		}
	}
	return false
}

// RemoteSection is the section name DVC gives the remote called name.
func RemoteSection(name string) string { return `remote "` + name + `"` }

// Remotes lists the names of the remotes defined in c, in file order.
func (c *Config) Remotes() []string {
	var names []string
	for _, s := range c.Sections {
		if name, ok := remoteName(s.Name); ok {
			names = append(names, name)
		}
	}
	return names
}

// remoteName matches DVC's `^\s*remote\s*"(.*)"\s*$`.
func remoteName(section string) (string, bool) {
	s := strings.TrimSpace(section)
	rest, ok := strings.CutPrefix(s, "remote")
	if !ok {
		return "", false
	}
	rest = strings.TrimLeft(rest, " \t")
	if len(rest) < 2 || rest[0] != '"' || rest[len(rest)-1] != '"' {
		return "", false
	}
	return rest[1 : len(rest)-1], true
}

func namedKind(section string) int {
	s := strings.TrimSpace(section)
	for i, kind := range []string{"remote", "machine", "db"} {
		rest, ok := strings.CutPrefix(s, kind)
		if !ok {
			continue
		}
		rest = strings.TrimLeft(rest, " \t")
		if len(rest) >= 2 && rest[0] == '"' && rest[len(rest)-1] == '"' {
			return i + 1
		}
	}
	return 0
}

// Bytes writes c as DVC writes its configuration through configobj.
func (c *Config) Bytes() ([]byte, error) {
	var b bytes.Buffer
	for kind := 0; kind <= 3; kind++ {
		for _, s := range c.Sections {
			if namedKind(s.Name) != kind || len(s.Keys) == 0 {
				continue
			}
			name, err := configobjQuote(s.Name, false)
			if err != nil {
				return nil, fmt.Errorf("section [%s]: %w", s.Name, err)
			}
			b.WriteString("[" + name + "]\n")
			for _, kv := range s.Keys {
				key, err := configobjQuote(kv.Key, false)
				if err != nil {
					return nil, fmt.Errorf("[%s] key %q: %w", s.Name, kv.Key, err)
				}
				val, err := kv.quoted()
				if err != nil {
					return nil, fmt.Errorf("[%s] %s: %w", s.Name, kv.Key, err)
				}
				b.WriteString("    " + key + " = " + val + "\n")
			}
		}
	}
	return b.Bytes(), nil
}

func (kv KeyValue) quoted() (string, error) {
	if !kv.IsList {
		return configobjQuote(kv.Value, true)
	}
	switch len(kv.List) {
	case 0:
		return ",", nil
	case 1:
		v, err := configobjQuote(kv.List[0], false)
		return v + ",", err
	}
	parts := make([]string, len(kv.List))
	for i, v := range kv.List {
		q, err := configobjQuote(v, false)
		if err != nil {
			return "", err
		}
		parts[i] = q
	}
	return strings.Join(parts, ", "), nil
}

// configobjQuote quotes a value as configobj's _quote does with its
// defaults (list_values on), except that it also quotes a value that
// begins or ends with white space other than configobj's (a form feed),
// which configobj would strip when reading it back.
func configobjQuote(v string, multiline bool) (string, error) {
	if v == "" {
		return `""`, nil
	}
	hasSingle := strings.Contains(v, "'")
	hasDouble := strings.Contains(v, `"`)
	needTriple := multiline && (hasSingle && hasDouble || strings.Contains(v, "\n"))
	hashTriple := multiline && !needTriple && hasSingle && hasDouble && strings.Contains(v, "#")
	var format string
	if !needTriple && !hashTriple {
		const wspacePlus = " \r\n\v\t'\""
		switch {
		case strings.Contains(v, "\n"):
			return "", fmt.Errorf("value %q cannot be safely quoted", v)
		case !strings.ContainsAny(v[:1], wspacePlus) && !strings.ContainsAny(v[len(v)-1:], wspacePlus) && !strings.Contains(v, ",") &&
			strings.TrimSpace(v) == v:
			format = "%s"
		default:
			f, err := singleQuote(v)
			if err != nil {
				return "", err
			}
			format = f
		}
	} else {
		switch {
		case strings.Contains(v, `"""`) && strings.Contains(v, "'''"):
			return "", fmt.Errorf("value %q cannot be safely quoted", v)
		case !strings.Contains(v, `"""`):
			format = "'''%s'''"
		default:
			format = `"""%s"""`
		}
	}
	if format == "%s" && strings.Contains(v, "#") {
		f, err := singleQuote(v)
		if err != nil {
			return "", err
		}
		format = f
	}
	return strings.Replace(format, "%s", v, 1), nil
}

func singleQuote(v string) (string, error) {
	hasSingle := strings.Contains(v, "'")
	hasDouble := strings.Contains(v, `"`)
	switch {
	case hasSingle && hasDouble:
		return "", fmt.Errorf("value %q cannot be safely quoted", v)
	case hasDouble:
		return "'%s'", nil
	default:
		return `"%s"`, nil
	}
}

// RemoteConfig is one remote of a repository, with the options of its
// section (endpointurl, access_key_id, region, ...) merged from
// .dvc/config and .dvc/config.local.
type RemoteConfig struct {
	Name string
	// URL is where the remote lives: an absolute local path (relative
	// paths in the file are relative to .dvc/, as DVC resolves them) or a
	// URL such as s3://bucket/prefix.
	URL     string
	Options map[string]string
}

// resolveRemoteURL turns a url as stored in a config file in confDir into
// what it names, as DVC's Config._resolve does.
func resolveRemoteURL(confDir, url string) string {
	if hasScheme(url) || filepath.IsAbs(url) {
		return url
	}
	if strings.HasPrefix(url, "~") {
		if home, err := os.UserHomeDir(); err == nil {
			if url == "~" {
				return home
			}
			if strings.HasPrefix(url, "~/") {
				return filepath.Join(home, url[2:])
			}
		}
		return url
	}
	return filepath.Join(confDir, filepath.FromSlash(url))
}

// hasScheme matches DVC's `\w+://`.
func hasScheme(url string) bool {
	i := strings.Index(url, "://")
	if i <= 0 {
		return false
	}
	for _, r := range url[:i] {
		if !(r == '_' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9') {
			return false
		}
	}
	return true
}

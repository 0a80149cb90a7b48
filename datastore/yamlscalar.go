package datastore

import (
	"fmt"
	"regexp"
	"strings"
)

// The .dvc files yolops writes must be byte-for-byte what DVC writes, and
// DVC writes them with ruamel.yaml's round-trip dumper (YAML 1.2, block
// style, width 80, unicode allowed). A general YAML library picks other
// quoting and line folding, so the one thing that varies in a .dvc file,
// a string scalar (a path, a hash), is emitted here by the same rules as
// ruamel's Emitter: analyze_scalar, choose_scalar_style and the plain,
// single- and double-quoted writers, for a value in a block mapping.

const yamlBestWidth = 80

// yamlResolvers are ruamel's implicit resolvers for YAML 1.2: a plain
// scalar that one of them matches would read back as something other than
// a string, so it must be quoted. Each applies only to values whose first
// character is in its list, as in ruamel.
var yamlResolvers = []struct {
	first string
	re    *regexp.Regexp
}{
	{"tTfF", regexp.MustCompile(`^(?:true|True|TRUE|false|False|FALSE)$`)},
	{"-+0123456789.", regexp.MustCompile(`^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?|[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)|[-+]?\.[0-9_]+(?:[eE][-+][0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$`)},
	{"-+0123456789", regexp.MustCompile(`^(?:[-+]?0b[0-1_]+|[-+]?0o?[0-7_]+|[-+]?[0-9_]+|[-+]?0x[0-9a-fA-F_]+)$`)},
	{"<", regexp.MustCompile(`^(?:<<)$`)},
	{"~nN", regexp.MustCompile(`^(?:~|null|Null|NULL)$`)},
	{"0123456789", regexp.MustCompile(`^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]|[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?(?:[Tt]|[ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$`)},
	{"=", regexp.MustCompile(`^(?:=)$`)},
	{"!&*", regexp.MustCompile(`^(?:!|&|\*)$`)},
}

// resolvesToString reports whether the plain scalar s reads back as a
// string. Python's "$" also matches before a final newline; such values
// hold a line break and are never written plain, so that is moot here.
func resolvesToString(s string) bool {
	if s == "" {
		return false // the null resolver matches the empty string
	}
	for _, r := range yamlResolvers {
		if strings.IndexByte(r.first, s[0]) >= 0 && r.re.MatchString(s) {
			return false
		}
	}
	return true
}

func isYAMLBreak(r rune) bool { return r == '\n' || r == 0x85 || r == 0x2028 || r == 0x2029 }

func isYAMLSpaceOrBreak(r rune) bool {
	return r == 0 || r == ' ' || r == '\t' || r == '\r' || isYAMLBreak(r)
}

type scalarAnalysis struct {
	empty, multiline                          bool
	allowBlockPlain, allowSingle, allowDouble bool
}

// analyzeScalar is ruamel's Emitter.analyze_scalar for block context
// (allow_unicode on, supplementary planes allowed).
func analyzeScalar(rs []rune) scalarAnalysis {
	if len(rs) == 0 {
		return scalarAnalysis{empty: true, allowBlockPlain: true, allowSingle: true, allowDouble: true}
	}
	var blockIndicators, lineBreaks, special bool
	var leadingSpace, leadingBreak, trailingSpace, trailingBreak, breakSpace, spaceBreak bool
	s := string(rs)
	if strings.HasPrefix(s, "---") || strings.HasPrefix(s, "...") {
		blockIndicators = true
	}
	precededByWS := true
	followedByWS := len(rs) == 1 || isYAMLSpaceOrBreak(rs[1])
	prevSpace, prevBreak := false, false
	for i, ch := range rs {
		if i == 0 {
			if strings.ContainsRune("#,[]{}&*!|>'\"%@`", ch) {
				blockIndicators = true
			}
			if (ch == '?' || ch == ':') && followedByWS {
				blockIndicators = true
			}
			if ch == '-' && followedByWS {
				blockIndicators = true
			}
		} else {
			if ch == ':' && followedByWS {
				blockIndicators = true
			}
			if ch == '#' && precededByWS {
				blockIndicators = true
			}
		}
		if isYAMLBreak(ch) {
			lineBreaks = true
		}
		if !(ch == '\n' || 0x20 <= ch && ch <= 0x7E) {
			printable := (ch == 0x85 || 0xA0 <= ch && ch <= 0xD7FF || 0xE000 <= ch && ch <= 0xFFFD ||
				0x10000 <= ch && ch <= 0x10FFFF) && ch != 0xFEFF
			if !printable {
				special = true
			}
		}
		switch {
		case ch == ' ':
			if i == 0 {
				leadingSpace = true
			}
			if i == len(rs)-1 {
				trailingSpace = true
			}
			if prevBreak {
				breakSpace = true
			}
			prevSpace, prevBreak = true, false
		case isYAMLBreak(ch):
			if i == 0 {
				leadingBreak = true
			}
			if i == len(rs)-1 {
				trailingBreak = true
			}
			if prevSpace {
				spaceBreak = true
			}
			prevSpace, prevBreak = false, true
		default:
			prevSpace, prevBreak = false, false
		}
		precededByWS = isYAMLSpaceOrBreak(ch)
		followedByWS = i+2 >= len(rs) || isYAMLSpaceOrBreak(rs[i+2])
	}
	a := scalarAnalysis{allowBlockPlain: true, allowSingle: true, allowDouble: true}
	if leadingSpace || leadingBreak || trailingSpace || trailingBreak {
		a.allowBlockPlain = false
	}
	if breakSpace {
		a.allowBlockPlain, a.allowSingle = false, false
	}
	if special || spaceBreak {
		a.allowBlockPlain, a.allowSingle = false, false
	}
	if lineBreaks {
		a.allowBlockPlain = false
		a.multiline = true
	}
	if blockIndicators {
		a.allowBlockPlain = false
	}
	return a
}

// yamlWriter tracks the emitter's column and whitespace state while one
// scalar is written.
type yamlWriter struct {
	b          strings.Builder
	column     int
	indent     int
	whitespace bool
	indention  bool
}

func (w *yamlWriter) write(s string) {
	w.b.WriteString(s)
	w.column += len([]rune(s))
}

func (w *yamlWriter) lineBreak(data string) {
	if data == "" {
		data = "\n"
	}
	w.whitespace, w.indention = true, true
	w.column = 0
	w.b.WriteString(data)
}

func (w *yamlWriter) writeIndent() {
	if !w.indention || w.column > w.indent || w.column == w.indent && !w.whitespace {
		w.lineBreak("")
	}
	if w.column < w.indent {
		w.whitespace = true
		w.b.WriteString(strings.Repeat(" ", w.indent-w.column))
		w.column = w.indent
	}
}

// yamlValue returns the text ruamel writes after "key:" for the string
// value s of a block mapping, including the separating space: column is
// the column just after the colon and indent the indentation of
// continuation lines.
func yamlValue(s string, column, indent int) string {
	rs := []rune(s)
	a := analyzeScalar(rs)
	w := &yamlWriter{column: column, indent: indent}
	switch {
	case a.allowBlockPlain && resolvesToString(s):
		w.writePlain(rs)
	case a.allowDouble && (strings.Contains(s, "'") || strings.Contains(s, "\n")):
		w.writeDouble(rs)
	case a.allowSingle:
		w.writeSingle(rs)
	default:
		w.writeDouble(rs)
	}
	return w.b.String()
}

func (w *yamlWriter) writePlain(rs []rune) {
	if len(rs) == 0 {
		return
	}
	if !w.whitespace {
		w.write(" ")
	}
	w.whitespace, w.indention = false, false
	spaces, breaks := false, false
	start := 0
	for end := 0; end <= len(rs); end++ {
		var ch rune = -1
		if end < len(rs) {
			ch = rs[end]
		}
		switch {
		case spaces:
			if ch != ' ' {
				if start+1 == end && w.column > yamlBestWidth {
					w.writeIndent()
					w.whitespace, w.indention = false, false
				} else {
					w.write(string(rs[start:end]))
				}
				start = end
			}
		case breaks:
			if !isYAMLBreak(ch) {
				if rs[start] == '\n' {
					w.lineBreak("")
				}
				for _, br := range rs[start:end] {
					if br == '\n' {
						w.lineBreak("")
					} else {
						w.lineBreak(string(br))
					}
				}
				w.writeIndent()
				w.whitespace, w.indention = false, false
				start = end
			}
		default:
			if ch == -1 || ch == ' ' || isYAMLBreak(ch) {
				w.write(string(rs[start:end]))
				start = end
			}
		}
		if ch != -1 {
			spaces = ch == ' '
			breaks = isYAMLBreak(ch)
		}
	}
}

func (w *yamlWriter) indicator(ind string) {
	if w.whitespace {
		w.write(ind)
	} else {
		w.write(" " + ind)
	}
	w.whitespace = false
	w.indention = false
}

func (w *yamlWriter) writeSingle(rs []rune) {
	w.indicator("'")
	spaces, breaks := false, false
	start := 0
	for end := 0; end <= len(rs); end++ {
		var ch rune = -1
		if end < len(rs) {
			ch = rs[end]
		}
		switch {
		case spaces:
			if ch != ' ' {
				if start+1 == end && w.column > yamlBestWidth && start != 0 && end != len(rs) {
					w.writeIndent()
				} else {
					w.write(string(rs[start:end]))
				}
				start = end
			}
		case breaks:
			if ch == -1 || !isYAMLBreak(ch) {
				if rs[start] == '\n' {
					w.lineBreak("")
				}
				for _, br := range rs[start:end] {
					if br == '\n' {
						w.lineBreak("")
					} else {
						w.lineBreak(string(br))
					}
				}
				w.writeIndent()
				start = end
			}
		default:
			if ch == -1 || ch == ' ' || isYAMLBreak(ch) || ch == '\'' {
				if start < end {
					w.write(string(rs[start:end]))
					start = end
				}
			}
		}
		if ch == '\'' {
			w.write("''")
			start = end + 1
		}
		if ch != -1 {
			spaces = ch == ' '
			breaks = isYAMLBreak(ch)
		}
	}
	w.write("'")
}

var yamlEscapes = map[rune]string{
	0: "0", 0x07: "a", 0x08: "b", 0x09: "t", 0x0A: "n", 0x0B: "v", 0x0C: "f",
	0x0D: "r", 0x1B: "e", '"': "\"", '\\': "\\", 0x85: "N", 0xA0: "_",
	0x2028: "L", 0x2029: "P",
}

func (w *yamlWriter) writeDouble(rs []rune) {
	w.indicator("\"")
	start := 0
	for end := 0; end <= len(rs); end++ {
		var ch rune = -1
		if end < len(rs) {
			ch = rs[end]
		}
		if ch == -1 || strings.ContainsRune("\"\\\u0085\u2028\u2029\uFEFF", ch) ||
			!(0x20 <= ch && ch <= 0x7E || 0xA0 <= ch && ch <= 0xD7FF || 0xE000 <= ch && ch <= 0xFFFD) {
			if start < end {
				w.write(string(rs[start:end]))
				start = end
			}
			if ch != -1 {
				var data string
				if e, ok := yamlEscapes[ch]; ok {
					data = "\\" + e
				} else if ch <= 0xFF {
					data = fmt.Sprintf("\\x%02X", ch)
				} else if ch <= 0xFFFF {
					data = fmt.Sprintf("\\u%04X", ch)
				} else {
					data = fmt.Sprintf("\\U%08X", ch)
				}
				w.write(data)
				start = end + 1
			}
		}
		if 0 < end && end < len(rs)-1 && (ch == ' ' || start >= end) && w.column+(end-start) > yamlBestWidth {
			data := "\\"
			if start < end {
				data = string(rs[start:end]) + data
				start = end
			}
			w.write(data)
			w.writeIndent()
			w.whitespace, w.indention = false, false
			if rs[start] == ' ' {
				w.write("\\")
			}
		}
	}
	w.write("\"")
}

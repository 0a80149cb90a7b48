package search

import (
	"strconv"
	"strings"
)

// parser reads a filter or order_by clause left to right. It replaces the
// sqlparse tokenizer MLflow uses with the small part of SQL the grammar
// needs.
type parser struct {
	s   string
	pos int
}

func (p *parser) eof() bool { return p.pos >= len(p.s) }

func (p *parser) peek() byte {
	if p.eof() {
		return 0
	}
	return p.s[p.pos]
}

func (p *parser) skipSpace() {
	for !p.eof() && strings.IndexByte(" \t\r\n", p.s[p.pos]) >= 0 {
		p.pos++
	}
}

// rest returns the text from at, shortened for messages.
func (p *parser) rest(at int) string {
	r := p.s[at:]
	if len(r) > 40 {
		r = r[:40] + "..."
	}
	return r
}

func isBare(c byte) bool {
	return c == '_' || c == '.' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// word reads a run of letters, digits, '_' and '.'.
func (p *parser) word() string {
	start := p.pos
	for !p.eof() && isBare(p.s[p.pos]) {
		p.pos++
	}
	return p.s[start:p.pos]
}

// quoted reads a `backticked` or "double-quoted" name.
func (p *parser) quoted() (string, error) {
	q := p.s[p.pos]
	end := strings.IndexByte(p.s[p.pos+1:], q)
	if end < 0 {
		return "", invalid("Unterminated %c at offset %d of '%s'", q, p.pos, p.s)
	}
	name := p.s[p.pos+1 : p.pos+1+end]
	if name == "" {
		return "", invalid("Empty quoted name at offset %d of '%s'", p.pos, p.s)
	}
	p.pos += end + 2
	return name, nil
}

// identifier reads [entity.]key, where entity and key are bare words or
// quoted names and a bare key may itself contain dots (params.a.b is the
// param "a.b").
func (p *parser) identifier() (entity, key string, err error) {
	start := p.pos
	c := p.peek()
	switch {
	case c == '`' || c == '"':
		first, err := p.quoted()
		if err != nil {
			return "", "", err
		}
		if p.peek() != '.' {
			return "", first, p.endOfIdentifier(start)
		}
		p.pos++
		entity = first
		key, err = p.keyPart(start)
		if err != nil {
			return "", "", err
		}
	case isBare(c):
		w := p.word()
		i := strings.IndexByte(w, '.')
		if i < 0 {
			return "", w, p.endOfIdentifier(start)
		}
		entity, key = w[:i], w[i+1:]
		if key == "" {
			if key, err = p.keyPart(start); err != nil {
				return "", "", err
			}
		}
	default:
		return "", "", invalid("Expected an identifier such as metrics.loss or params.`batch size` at offset %d of '%s', found '%s'", p.pos, p.s, p.rest(p.pos))
	}
	if entity == "" {
		return "", "", invalid("Invalid identifier '%s': missing entity type before '.'", p.s[start:p.pos])
	}
	return entity, key, p.endOfIdentifier(start)
}

func (p *parser) keyPart(start int) (string, error) {
	if c := p.peek(); c == '`' || c == '"' {
		return p.quoted()
	}
	if k := p.word(); k != "" {
		return k, nil
	}
	return "", invalid("Invalid identifier '%s': missing key after '.'", p.s[start:p.pos])
}

// endOfIdentifier checks that the identifier is not followed by characters
// that would need quoting, the usual mistake with keys such as mAP50-95.
func (p *parser) endOfIdentifier(start int) error {
	if p.eof() {
		return nil
	}
	c := p.s[p.pos]
	if strings.IndexByte(" \t\r\n=!<>", c) >= 0 {
		return nil
	}
	return invalid("Unexpected '%c' after identifier '%s' at offset %d of '%s'; quote keys with special characters in backticks, e.g. metrics.`mAP50-95`", c, p.s[start:p.pos], p.pos, p.s)
}

// comparator reads = != < <= > >= LIKE ILIKE IN or NOT IN (keywords in any
// case) and returns it in upper case.
func (p *parser) comparator() (string, error) {
	for _, op := range []string{"!=", "<=", ">=", "=", "<", ">"} {
		if strings.HasPrefix(p.s[p.pos:], op) {
			p.pos += len(op)
			if c := p.peek(); c == '=' || c == '<' || c == '>' || c == '!' {
				return "", invalid("Invalid comparator '%s' at offset %d of '%s'", op+string(c), p.pos-len(op), p.s)
			}
			return op, nil
		}
	}
	at := p.pos
	w := strings.ToUpper(p.word())
	switch w {
	case "LIKE", "ILIKE", "IN":
		return w, nil
	case "NOT":
		p.skipSpace()
		if strings.ToUpper(p.word()) == "IN" {
			return "NOT IN", nil
		}
	}
	return "", invalid("Expected a comparator (=, !=, <, <=, >, >=, LIKE, ILIKE, IN, NOT IN) at offset %d of '%s', found '%s'", at, p.s, p.rest(at))
}

// value reads a quoted string, a number or a parenthesised list of
// single-quoted strings.
func (p *parser) value() (Value, error) {
	at := p.pos
	switch c := p.peek(); {
	case c == '\'' || c == '"':
		s, err := p.stringLiteral()
		return Value{Kind: String, Str: s}, err
	case c == '(':
		return p.list()
	case c == '-' || c == '+' || c == '.' || c >= '0' && c <= '9':
		return p.number()
	case c == 0:
		return Value{}, invalid("Missing value at the end of '%s'", p.s)
	default:
		return Value{}, invalid("Expected a quoted string, a number or a list at offset %d of '%s', found '%s' (string values need quotes: 'value')", at, p.s, p.rest(at))
	}
}

// stringLiteral reads 'text' or "text"; a doubled quote stands for one.
func (p *parser) stringLiteral() (string, error) {
	q := p.s[p.pos]
	start := p.pos
	p.pos++
	var b strings.Builder
	for !p.eof() {
		c := p.s[p.pos]
		p.pos++
		if c != q {
			b.WriteByte(c)
			continue
		}
		if p.peek() == q {
			b.WriteByte(q)
			p.pos++
			continue
		}
		return b.String(), nil
	}
	return "", invalid("Unterminated string starting at offset %d of '%s'", start, p.s)
}

func (p *parser) number() (Value, error) {
	start := p.pos
	if c := p.peek(); c == '-' || c == '+' {
		p.pos++
	}
	digits := 0
	for !p.eof() && p.s[p.pos] >= '0' && p.s[p.pos] <= '9' {
		p.pos++
		digits++
	}
	integral := true
	if p.peek() == '.' {
		integral = false
		p.pos++
		for !p.eof() && p.s[p.pos] >= '0' && p.s[p.pos] <= '9' {
			p.pos++
			digits++
		}
	}
	if digits > 0 && (p.peek() == 'e' || p.peek() == 'E') {
		integral = false
		p.pos++
		if c := p.peek(); c == '-' || c == '+' {
			p.pos++
		}
		for !p.eof() && p.s[p.pos] >= '0' && p.s[p.pos] <= '9' {
			p.pos++
		}
	}
	text := p.s[start:p.pos]
	if digits == 0 || (!p.eof() && isBare(p.s[p.pos])) {
		return Value{}, invalid("Invalid number '%s' at offset %d of '%s'", p.rest(start), start, p.s)
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil {
		return Value{}, invalid("Invalid number '%s' at offset %d of '%s'", text, start, p.s)
	}
	v := Value{Kind: Number, Num: f}
	if integral {
		if n, err := strconv.ParseInt(text, 10, 64); err == nil {
			v.Int, v.IsInt = n, true
		}
	}
	return v, nil
}

func (p *parser) list() (Value, error) {
	start := p.pos
	p.pos++ // (
	v := Value{Kind: List}
	for {
		p.skipSpace()
		if p.peek() != '\'' {
			return Value{}, invalid("While parsing a list in the query, expected a non-empty list of single-quoted string values at offset %d of '%s'", start, p.s)
		}
		s, err := p.stringLiteral()
		if err != nil {
			return Value{}, err
		}
		v.List = append(v.List, s)
		p.skipSpace()
		switch p.peek() {
		case ',':
			p.pos++
		case ')':
			p.pos++
			return v, nil
		default:
			return Value{}, invalid("While parsing a list in the query, expected ',' or ')' at offset %d of '%s'", p.pos, p.s)
		}
	}
}

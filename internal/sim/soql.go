package sim

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// soql is a parsed query of the subset of SOQL the simulator answers:
//
//	SELECT f, … FROM Object [WHERE cond [AND cond]…] [ORDER BY f [ASC|DESC], …] [LIMIT n]
//
// where cond is `field op value` with op one of = != < <= > >= IN, and
// value a 'string', a number, TRUE, FALSE, NULL, a datetime literal or a
// list ('a', 'b').
type soql struct {
	fields []string
	object string
	conds  []cond
	order  []orderBy
	limit  int
}

type cond struct {
	field, op string
	vals      []any
}

type orderBy struct {
	field string
	desc  bool
}

var soqlRe = regexp.MustCompile(`(?is)^\s*SELECT\s+(.+?)\s+FROM\s+(\w+)(?:\s+WHERE\s+(.+?))?(?:\s+ORDER\s+BY\s+(.+?))?(?:\s+LIMIT\s+(\d+))?\s*$`)
var condRe = regexp.MustCompile(`(?is)^\s*(\w+)\s*(!=|<=|>=|=|<|>|\bIN\b)\s*(.+?)\s*$`)

func parseSOQL(q string) (*soql, error) {
	m := soqlRe.FindStringSubmatch(q)
	if m == nil {
		return nil, fmt.Errorf("unexpected token: %q", q)
	}
	s := &soql{object: m[2]}
	for _, f := range strings.Split(m[1], ",") {
		s.fields = append(s.fields, strings.TrimSpace(f))
	}
	if m[3] != "" {
		for _, part := range splitAnd(m[3]) {
			cm := condRe.FindStringSubmatch(part)
			if cm == nil {
				return nil, fmt.Errorf("unexpected condition: %q", part)
			}
			c := cond{field: cm[1], op: strings.ToUpper(cm[2])}
			raw := strings.TrimSpace(cm[3])
			if c.op == "IN" {
				raw = strings.TrimSuffix(strings.TrimPrefix(raw, "("), ")")
				for _, v := range splitList(raw) {
					x, err := literal(v)
					if err != nil {
						return nil, err
					}
					c.vals = append(c.vals, x)
				}
			} else {
				x, err := literal(raw)
				if err != nil {
					return nil, err
				}
				c.vals = []any{x}
			}
			s.conds = append(s.conds, c)
		}
	}
	if m[4] != "" {
		for _, o := range strings.Split(m[4], ",") {
			f := strings.Fields(o)
			if len(f) == 0 {
				continue
			}
			s.order = append(s.order, orderBy{field: f[0], desc: len(f) > 1 && strings.EqualFold(f[1], "DESC")})
		}
	}
	if m[5] != "" {
		s.limit, _ = strconv.Atoi(m[5])
	}
	return s, nil
}

// splitAnd splits conditions on AND outside quotes and parentheses.
func splitAnd(s string) []string {
	var out []string
	depth, quote, start := 0, false, 0
	up := strings.ToUpper(s)
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\'' && (i == 0 || s[i-1] != '\\'):
			quote = !quote
		case quote:
		case c == '(':
			depth++
		case c == ')':
			depth--
		case depth == 0 && strings.HasPrefix(up[i:], " AND "):
			out = append(out, s[start:i])
			start = i + 5
			i += 4
		}
	}
	return append(out, s[start:])
}

func splitList(s string) []string {
	var out []string
	quote, start := false, 0
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '\'' && (i == 0 || s[i-1] != '\\'):
			quote = !quote
		case s[i] == ',' && !quote:
			out = append(out, strings.TrimSpace(s[start:i]))
			start = i + 1
		}
	}
	return append(out, strings.TrimSpace(s[start:]))
}

func literal(v string) (any, error) {
	switch up := strings.ToUpper(v); {
	case strings.HasPrefix(v, "'") && strings.HasSuffix(v, "'") && len(v) >= 2:
		return strings.ReplaceAll(v[1:len(v)-1], `\'`, "'"), nil
	case up == "NULL":
		return nil, nil
	case up == "TRUE":
		return true, nil
	case up == "FALSE":
		return false, nil
	}
	for _, l := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.000Z0700", "2006-01-02T15:04:05Z0700"} {
		if t, err := time.Parse(l, v); err == nil {
			return t, nil
		}
	}
	if f, err := strconv.ParseFloat(v, 64); err == nil {
		return f, nil
	}
	return nil, fmt.Errorf("unexpected value: %q", v)
}

// compare orders two field values; ok is false when they cannot be compared.
func compare(a, b any) (int, bool) {
	switch x := a.(type) {
	case time.Time:
		y, ok := b.(time.Time)
		if !ok {
			return 0, false
		}
		return x.Compare(y), true
	case float64:
		y, ok := toFloat(b)
		if !ok {
			return 0, false
		}
		switch {
		case x < y:
			return -1, true
		case x > y:
			return 1, true
		}
		return 0, true
	case bool:
		y, ok := b.(bool)
		if !ok || x == y {
			return 0, ok
		}
		if !x {
			return -1, true
		}
		return 1, true
	case string:
		y := fmt.Sprint(b)
		return strings.Compare(x, y), true
	}
	return 0, false
}

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case int64:
		return float64(x), true
	case int:
		return float64(x), true
	}
	return 0, false
}

// match reports whether a record's values satisfy c.
func (c cond) match(v any) bool {
	if c.op == "IN" {
		for _, x := range c.vals {
			if n, ok := compare(norm(v), x); ok && n == 0 {
				return true
			}
		}
		return false
	}
	want := c.vals[0]
	if want == nil || v == nil {
		eq := want == nil && v == nil
		return (c.op == "=" && eq) || (c.op == "!=" && !eq)
	}
	n, ok := compare(norm(v), want)
	if !ok {
		return false
	}
	switch c.op {
	case "=":
		return n == 0
	case "!=":
		return n != 0
	case "<":
		return n < 0
	case "<=":
		return n <= 0
	case ">":
		return n > 0
	case ">=":
		return n >= 0
	}
	return false
}

func norm(v any) any {
	if f, ok := toFloat(v); ok {
		return f
	}
	return v
}

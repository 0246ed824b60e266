package contract

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/tandemhub/tandem/internal/record"
)

// FieldError is a field value a message cannot carry.
type FieldError struct {
	Field string
	Err   error
}

func (e *FieldError) Error() string { return fmt.Sprintf("field %q: %v", e.Field, e.Err) }
func (e *FieldError) Unwrap() error { return e.Err }

// Append appends c as a JSON change message to b. Field values must be
// normalized (see record.Normalize); a value JSON cannot carry (NaN, an
// infinity) is an error naming the field.
func (c *Change) Append(b []byte) ([]byte, error) {
	b = append(b, `{"contract":1,"type":"change","id":`...)
	b = appendString(b, c.ID)
	b = appendProp(b, "system", c.System)
	b = appendProp(b, "entity", c.Entity)
	b = appendProp(b, "op", c.Op.String())
	if c.Key != "" {
		b = appendProp(b, "key", c.Key)
	}
	if c.GID != "" {
		b = appendProp(b, "gid", c.GID)
	}
	if c.Version > 0 {
		b = append(b, `,"version":`...)
		b = strconv.AppendInt(b, c.Version, 10)
	}
	if !c.At.IsZero() {
		b = appendProp(b, "at", c.At.UTC().Format(time.RFC3339Nano))
	}
	if c.Cause != "" {
		b = appendProp(b, "cause", c.Cause)
	}
	if c.Op != record.Delete {
		b = append(b, `,"fields":{`...)
		names := make([]string, 0, len(c.Fields))
		for k := range c.Fields {
			names = append(names, k)
		}
		slices.Sort(names)
		for i, k := range names {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, k)
			b = append(b, ':')
			var err error
			if b, err = appendValue(b, c.Fields[k]); err != nil {
				return b, &FieldError{Field: k, Err: err}
			}
		}
		b = append(b, '}')
	}
	return append(b, '}'), nil
}

// Append appends r as a JSON result message to b.
func (r *Result) Append(b []byte) []byte {
	b = append(b, `{"contract":1,"type":"result","id":`...)
	b = appendString(b, r.ID)
	b = appendProp(b, "system", r.System)
	b = appendProp(b, "change", r.Change)
	b = appendProp(b, "entity", r.Entity)
	b = appendProp(b, "gid", r.GID)
	if r.Op != 0 {
		b = appendProp(b, "op", r.Op.String())
	}
	if r.Key != "" {
		b = appendProp(b, "key", r.Key)
	}
	b = appendProp(b, "outcome", string(r.Outcome))
	if r.Reason != "" {
		b = appendProp(b, "reason", r.Reason)
	}
	if r.Field != "" {
		b = appendProp(b, "field", r.Field)
	}
	if !r.At.IsZero() {
		b = appendProp(b, "at", r.At.UTC().Format(time.RFC3339Nano))
	}
	return append(b, '}')
}

func appendProp(b []byte, name, value string) []byte {
	b = append(b, ',', '"')
	b = append(b, name...)
	b = append(b, '"', ':')
	return appendString(b, value)
}

func appendValue(b []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return append(b, "null"...), nil
	case string:
		return appendString(b, x), nil
	case int64:
		return strconv.AppendInt(b, x, 10), nil
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return b, fmt.Errorf("%v cannot be sent as JSON", x)
		}
		return appendFloat(b, x), nil
	case bool:
		return strconv.AppendBool(b, x), nil
	}
	n := record.Normalize(v)
	switch n.(type) {
	case nil, string, int64, float64, bool:
		return appendValue(b, n)
	}
	return b, fmt.Errorf("value of type %T cannot be sent", v)
}

// appendFloat writes f as JSON writes numbers: the shortest form that
// reads back as f, with an exponent only for very large or small values.
// Whole numbers keep a ".0"-free form, like 3, and read back as integers;
// record.Equal treats 3 and 3.0 alike.
func appendFloat(b []byte, f float64) []byte {
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	return strconv.AppendFloat(b, f, format, -1, 64)
}

const hex = "0123456789abcdef"

// appendString writes s as a JSON string. Invalid UTF-8 becomes U+FFFD;
// U+2028 and U+2029 are escaped so the text is safe inside JavaScript too.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

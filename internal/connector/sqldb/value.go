package sqldb

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/tandemhub/tandem/internal/record"
)

// Encode converts a normalized field value (string, int64, float64, bool
// or nil) for writing to a column of c's kind. It returns nil, string,
// int64, float64, bool or time.Time, or an error saying why the value
// does not fit.
func Encode(c Column, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch c.Kind {
	case Text:
		return Format(v), nil
	case Int:
		return toInt(v)
	case Float:
		return toFloat(v)
	case Bool:
		return toBool(v)
	case Time:
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("%v is not a timestamp; write it as RFC 3339 text", v)
		}
		t, ok := ParseTime(s)
		if !ok {
			return nil, fmt.Errorf("%q is not a timestamp; write it as RFC 3339, like 2024-05-06T07:08:09Z", s)
		}
		return t, nil
	}
	if _, ok := v.(string); ok {
		return v, nil
	}
	return Format(v), nil
}

func toInt(v any) (any, error) {
	switch x := v.(type) {
	case int64:
		return x, nil
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<63 {
			return int64(x), nil
		}
		return nil, fmt.Errorf("%v is not a whole number", x)
	case bool:
		if x {
			return int64(1), nil
		}
		return int64(0), nil
	case string:
		s := strings.TrimSpace(x)
		if i, err := strconv.ParseInt(s, 10, 64); err == nil {
			return i, nil
		}
		if f, err := strconv.ParseFloat(s, 64); err == nil && f == math.Trunc(f) && math.Abs(f) < 1<<63 {
			return int64(f), nil
		}
		return nil, fmt.Errorf("%q is not a whole number", x)
	}
	return nil, fmt.Errorf("%v (%T) is not a whole number", v, v)
}

func toFloat(v any) (any, error) {
	switch x := v.(type) {
	case float64:
		return x, nil
	case int64:
		return float64(x), nil
	case bool:
		if x {
			return 1.0, nil
		}
		return 0.0, nil
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		if err != nil {
			return nil, fmt.Errorf("%q is not a number", x)
		}
		return f, nil
	}
	return nil, fmt.Errorf("%v (%T) is not a number", v, v)
}

func toBool(v any) (any, error) {
	switch x := v.(type) {
	case bool:
		return x, nil
	case int64:
		return x != 0, nil
	case float64:
		return x != 0, nil
	case string:
		b, err := strconv.ParseBool(strings.TrimSpace(x))
		if err != nil {
			return nil, fmt.Errorf("%q is not a boolean", x)
		}
		return b, nil
	}
	return nil, fmt.Errorf("%v (%T) is not a boolean", v, v)
}

// Format writes an encoded value as text, the way databases parse it:
// integers in decimal, floats in the shortest form that reads back
// exactly, booleans as true/false, times in RFC 3339 UTC.
func Format(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1e15 {
			return strconv.FormatFloat(x, 'f', -1, 64)
		}
		return strconv.FormatFloat(x, 'g', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	case []byte:
		return string(x)
	}
	return fmt.Sprint(v)
}

// Decode converts a value read from a column of c's kind to a normalized
// field value (see record.Normalize). Values that do not parse as the kind
// are returned normalized as they are.
func Decode(c Column, v any) any {
	if b, ok := v.([]byte); ok {
		v = string(b)
	}
	if v == nil {
		return nil
	}
	switch c.Kind {
	case Int:
		if s, ok := v.(string); ok {
			if i, err := strconv.ParseInt(s, 10, 64); err == nil {
				return i
			}
		}
	case Float:
		switch x := v.(type) {
		case string:
			if f, err := strconv.ParseFloat(x, 64); err == nil {
				return f
			}
		case int64:
			return float64(x)
		}
	case Bool:
		switch x := v.(type) {
		case int64:
			return x != 0
		case float64:
			return x != 0
		case string:
			if b, err := strconv.ParseBool(x); err == nil {
				return b
			}
		}
	case Time:
		switch x := v.(type) {
		case time.Time:
			return x.UTC().Format(time.RFC3339Nano)
		case string:
			if t, ok := ParseTime(x); ok {
				return t.Format(time.RFC3339Nano)
			}
		}
	case Text:
		return Format(record.Normalize(v))
	}
	return record.Normalize(v)
}

var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02 15:04:05.999999999 -0700 MST",
	"2006-01-02T15:04Z07:00",
	"2006-01-02T15:04",
	"2006-01-02 15:04",
	"2006-01-02",
}

// ParseTime reads a point in time written as RFC 3339 or in the common
// SQL forms ("2006-01-02 15:04:05", "2006-01-02"); text without a zone
// is UTC. The result is in UTC.
func ParseTime(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

package record

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"
	"unicode/utf8"
)

// Normalize turns a value read from a driver or a decoder into one of the
// canonical kinds: string, int64, float64, bool or nil. Times become
// RFC 3339 strings in UTC, byte slices become strings, whole floats stay
// floats. It is applied once at capture, so comparison and hashing can
// rely on it.
func Normalize(v any) any {
	switch x := v.(type) {
	case nil, string, int64, float64, bool:
		return x
	case []byte:
		return string(x)
	case int:
		return int64(x)
	case int8:
		return int64(x)
	case int16:
		return int64(x)
	case int32:
		return int64(x)
	case uint:
		return uint64ToValue(uint64(x))
	case uint8:
		return int64(x)
	case uint16:
		return int64(x)
	case uint32:
		return int64(x)
	case uint64:
		return uint64ToValue(x)
	case float32:
		return float64(x)
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		if f, err := x.Float64(); err == nil {
			return f
		}
		return x.String()
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	case fmt.Stringer:
		return x.String()
	}
	return fmt.Sprint(v)
}

func uint64ToValue(u uint64) any {
	if u > math.MaxInt64 {
		return strconv.FormatUint(u, 10)
	}
	return int64(u)
}

// NormalizeFields normalizes every value of f in place and returns it.
func NormalizeFields(f Fields) Fields {
	for k, v := range f {
		f[k] = Normalize(v)
	}
	return f
}

// Equal reports whether two normalized values are the same. Integers and
// floats of the same value are equal, so a float column copied into an
// integer column does not look like a change.
func Equal(a, b any) bool {
	switch x := a.(type) {
	case int64:
		switch y := b.(type) {
		case int64:
			return x == y
		case float64:
			return float64(x) == y
		}
	case float64:
		switch y := b.(type) {
		case float64:
			return x == y
		case int64:
			return x == float64(y)
		}
	}
	return a == b
}

// BadUTF8 says where s stops being valid UTF-8, for messages: the offset
// of the first bad byte and the bytes around it, escaped.
func BadUTF8(s string) string {
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n <= 1 {
			lo, hi := max(0, i-8), min(len(s), i+8)
			return fmt.Sprintf("byte 0x%02X at offset %d, in %q", s[i], i, s[lo:hi])
		}
		i += n
	}
	return "no bad byte"
}

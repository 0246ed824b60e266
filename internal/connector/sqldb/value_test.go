package sqldb

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestEncode(t *testing.T) {
	at := time.Date(2024, 5, 6, 5, 8, 9, 123456000, time.UTC)
	tests := []struct {
		kind Kind
		in   any
		want any
		bad  bool
	}{
		{Text, "x", "x", false},
		{Text, int64(42), "42", false},
		{Text, 1.5, "1.5", false},
		{Text, 1e6, "1000000", false},
		{Text, true, "true", false},
		{Text, nil, nil, false},
		{Int, int64(7), int64(7), false},
		{Int, " 42 ", int64(42), false},
		{Int, "42.0", int64(42), false},
		{Int, 3.0, int64(3), false},
		{Int, true, int64(1), false},
		{Int, 3.5, nil, true},
		{Int, "many", nil, true},
		{Float, "2.5", 2.5, false},
		{Float, int64(2), 2.0, false},
		{Float, "cheap", nil, true},
		{Bool, "false", false, false},
		{Bool, "1", true, false},
		{Bool, int64(0), false, false},
		{Bool, "perhaps", nil, true},
		{Time, "2024-05-06T07:08:09.123456+02:00", at, false},
		{Time, "2024-05-06 05:08:09.123456", at, false},
		{Time, "2024-05-06", time.Date(2024, 5, 6, 0, 0, 0, 0, time.UTC), false},
		{Time, "yesterday", nil, true},
		{Time, int64(5), nil, true},
		{Other, "0190-uuid", "0190-uuid", false},
		{Other, int64(5), "5", false},
	}
	for _, tc := range tests {
		got, err := Encode(Column{Name: "c", Kind: tc.kind}, tc.in)
		if (err != nil) != tc.bad {
			t.Errorf("Encode(%s, %#v) error %v, want error %v", tc.kind, tc.in, err, tc.bad)
			continue
		}
		if !tc.bad && !cmp.Equal(got, tc.want) {
			t.Errorf("Encode(%s, %#v) = %#v, want %#v", tc.kind, tc.in, got, tc.want)
		}
	}
}

func TestDecode(t *testing.T) {
	tests := []struct {
		kind Kind
		in   any
		want any
	}{
		{Int, []byte("42"), int64(42)},
		{Int, int64(42), int64(42)},
		{Float, []byte("0.1"), 0.1},
		{Float, int64(2), 2.0},
		{Bool, int64(1), true},
		{Bool, []byte("0"), false},
		{Bool, true, true},
		{Time, time.Date(2024, 5, 6, 9, 8, 9, 0, time.FixedZone("x", 7200)), "2024-05-06T07:08:09Z"},
		{Time, "2024-05-06 07:08:09.5", "2024-05-06T07:08:09.5Z"},
		{Time, []byte("not a time"), "not a time"},
		{Text, []byte("héllo"), "héllo"},
		{Text, int64(5), "5"},
		{Other, []byte("12.50"), "12.50"},
		{Other, nil, nil},
		{Int, nil, nil},
	}
	for _, tc := range tests {
		if got := Decode(Column{Kind: tc.kind}, tc.in); !cmp.Equal(got, tc.want) {
			t.Errorf("Decode(%s, %#v) = %#v, want %#v", tc.kind, tc.in, got, tc.want)
		}
	}
}

// Every value Decode produces encodes back to the same value.
func TestEncodeDecodeRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		kind Kind
		v    any
	}{
		{Text, "a"}, {Int, int64(-1 << 62)}, {Float, 0.1}, {Float, 1e300}, {Bool, false},
		{Time, "2024-05-06T07:08:09.123456789Z"}, {Time, "1999-12-31T23:59:59Z"},
	} {
		c := Column{Kind: tc.kind}
		enc, err := Encode(c, tc.v)
		if err != nil {
			t.Fatal(err)
		}
		if got := Decode(c, enc); !cmp.Equal(got, tc.v) {
			t.Errorf("%s %#v → %#v → %#v", tc.kind, tc.v, enc, got)
		}
		if tc.kind != Time {
			if got := Decode(c, []byte(Format(enc))); !cmp.Equal(got, tc.v) {
				t.Errorf("%s %#v as text %q → %#v", tc.kind, tc.v, Format(enc), got)
			}
		}
	}
}

func FuzzParseTime(f *testing.F) {
	for _, s := range []string{"2024-05-06T07:08:09Z", "2024-05-06 07:08:09.123", "2024-05-06", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tm, ok := ParseTime(s)
		if !ok {
			return
		}
		back, ok := ParseTime(tm.Format(time.RFC3339Nano))
		if !ok || !back.Equal(tm) {
			t.Errorf("%q → %v → not read back (%v)", s, tm, back)
		}
	})
}

func TestChunks(t *testing.T) {
	rows := make([][]any, 7)
	for i := range rows {
		rows[i] = []any{1, 2, 3}
	}
	var sizes []int
	for _, c := range Chunks(rows, 9, 100) {
		sizes = append(sizes, len(c))
	}
	if diff := cmp.Diff([]int{3, 3, 1}, sizes); diff != "" {
		t.Errorf("chunks of 3-wide rows with at most 9 params (-want +got):\n%s", diff)
	}
	if got := Chunks(nil, 9, 100); got != nil {
		t.Errorf("Chunks(nil) = %v", got)
	}
}

func TestQuoteIdent(t *testing.T) {
	for in, want := range map[string]string{
		"items":        `"items"`,
		"sales.orders": `"sales"."orders"`,
		`we"ird`:       `"we""ird"`,
	} {
		if got := QuoteIdent(in, `"`); got != want {
			t.Errorf("QuoteIdent(%q) = %s, want %s", in, got, want)
		}
	}
	if a, b := TriggerName("sales.orders"), TriggerName("sales_orders"); a == b || len(a) > 48 {
		t.Errorf("TriggerName: %q and %q must differ and be short", a, b)
	}
}

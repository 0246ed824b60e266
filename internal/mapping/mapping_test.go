package mapping

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tandemhub/tandem/internal/config"
	"github.com/tandemhub/tandem/internal/record"
)

func testMap(t *testing.T) *Map {
	t.Helper()
	m, err := New(&config.Mapping{System: "acc", Entity: "product", Table: "items", Key: "item_no", KeyGenerated: true,
		Fields: map[string]*config.Field{
			"sku":    {Column: "code"},
			"status": {Column: "state", Values: map[string]string{"A": "active", "I": "inactive"}},
			"price":  {Column: "price_cents", In: "price_cents / 100.0", Out: "int(round(price * 100))"},
			"origin": {Column: "origin", Default: "import"},
			"owner":  {Column: "owner_id"},
			"note":   {Column: "note", ReadOnly: true},
		},
		Filter: "status == 'active'",
	}, &config.Entity{Refs: map[string]string{"owner": "account"}})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestRoundTrip(t *testing.T) {
	m := testMap(t)
	local := record.Fields{"code": "CAB-1", "state": "A", "price_cents": int64(1999), "origin": nil, "owner_id": int64(42), "note": "hi"}
	canon, err := m.ToCanonical(local)
	if err != nil {
		t.Fatal(err)
	}
	want := record.Fields{"sku": "CAB-1", "status": "active", "price": 19.99, "origin": "import", "owner": "42", "note": "hi"}
	if d := cmp.Diff(want, canon); d != "" {
		t.Fatalf("canonical (-want +got):\n%s", d)
	}
	canon["owner"] = "42"
	back, err := m.ToLocal(canon)
	if err != nil {
		t.Fatal(err)
	}
	wantLocal := record.Fields{"code": "CAB-1", "state": "A", "price_cents": int64(1999), "origin": "import", "owner_id": "42"}
	if d := cmp.Diff(wantLocal, back); d != "" {
		t.Fatalf("local (-want +got):\n%s", d)
	}
	if ok, _ := m.Accepts(canon); !ok {
		t.Fatal("filter should accept an active product")
	}
	canon["status"] = "inactive"
	if ok, _ := m.Accepts(canon); ok {
		t.Fatal("filter should reject an inactive product")
	}
	if d := cmp.Diff([]string{"code", "note", "origin", "owner_id", "price_cents", "state"}, sorted(m.Columns())); d != "" {
		t.Fatal(d)
	}
}

func sorted(s []string) []string {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
	return s
}

func TestUnknownValueNamesTheField(t *testing.T) {
	m := testMap(t)
	_, err := m.ToCanonical(record.Fields{"code": "X", "state": "Z"})
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Field != "status" {
		t.Fatalf("want a FieldError on status, got %v", err)
	}
}

func TestSchemaNamesTheField(t *testing.T) {
	s, err := CompileSchema("account", map[string]any{
		"type":       "object",
		"properties": map[string]any{"name": map[string]any{"type": "string"}, "tier": map[string]any{"enum": []any{"gold"}}, "n": map[string]any{"type": "integer", "minimum": uint64(0)}},
		"required":   []any{"name"},
	})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		in    record.Fields
		field string
	}{
		{record.Fields{"name": "x"}, ""},
		{record.Fields{"tier": "gold"}, "name"},
		{record.Fields{"name": "x", "tier": "lead"}, "tier"},
		{record.Fields{"name": "x", "n": int64(-1)}, "n"},
		{record.Fields{"name": nil}, "name"},
	}
	for _, c := range cases {
		err := s.Validate(c.in)
		if c.field == "" {
			if err != nil {
				t.Errorf("%v: unexpected %v", c.in, err)
			}
			continue
		}
		var ie *InvalidError
		if !errors.As(err, &ie) || ie.Field != c.field {
			t.Errorf("%v: want error on %q, got %v", c.in, c.field, err)
		}
	}
}

// A field on the key column makes the key one of the columns read, so
// that the record carries it to the other systems.
func TestColumnsNameAMappedKey(t *testing.T) {
	for _, tc := range []struct {
		fields map[string]*config.Field
		want   []string
	}{
		{map[string]*config.Field{"id": {Column: "id"}, "name": {Column: "name"}}, []string{"id", "name"}},
		{map[string]*config.Field{"name": {Column: "name"}}, []string{"name"}},
	} {
		m, err := New(&config.Mapping{System: "src", Entity: "account", Table: "accounts", Key: "id", Fields: tc.fields}, &config.Entity{})
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(tc.want, sorted(m.Columns())); d != "" {
			t.Errorf("columns (-want +got):\n%s", d)
		}
	}
}

// Text that is not valid UTF-8 is refused, naming the field and the
// column, never passed on rewritten; a NUL is valid text and passes.
func TestInvalidUTF8NamesTheField(t *testing.T) {
	m := testMap(t)
	_, err := m.ToCanonical(record.Fields{"code": "\xc3\x28\xff", "state": "A"})
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Field != "sku" {
		t.Fatalf("want a FieldError on sku, got %v", err)
	}
	for _, want := range []string{`column "code"`, "not valid UTF-8", "offset 0", `\xc3(\xff`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	got, err := m.ToCanonical(record.Fields{"code": "a\x00b", "state": "A"})
	if err != nil || got["sku"] != "a\x00b" {
		t.Errorf("text with a NUL: %v, %q; want it as it is", err, got["sku"])
	}
}

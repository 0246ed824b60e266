package contract

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/tandemhub/tandem/internal/record"
)

func TestChangeRoundTrip(t *testing.T) {
	at := time.Date(2026, 11, 30, 9, 15, 2, 123000000, time.UTC)
	for _, c := range []Change{
		{ID: "m1", System: "shop", Entity: "customer", Op: record.Upsert, Key: "42", Version: 7, At: at,
			Fields: record.Fields{"name": "Ada \"Countess\" \\ Lovelace\n\t\u2028", "n": int64(-3), "f": 2.5,
				"big": 1e300, "tiny": 1e-9, "whole": 3.0, "yes": true, "none": nil, "ünï": "çödé 🙂"}},
		{ID: "m2", System: "shop", Entity: "customer", Op: record.Upsert, GID: "g1", Fields: record.Fields{}},
		{ID: "m3", System: "shop", Entity: "customer", Op: record.Delete, Key: "42", Cause: "m0"},
	} {
		b, err := c.Append(nil)
		if err != nil {
			t.Fatal(err)
		}
		if !json.Valid(b) {
			t.Fatalf("invalid JSON: %s", b)
		}
		got, err := DecodeChange(b)
		if err != nil {
			t.Fatalf("decode %s: %v", b, err)
		}
		want := c
		if want.Fields != nil {
			want.Fields = record.Fields{}
			for k, v := range c.Fields {
				want.Fields[k] = v
			}
			if _, ok := want.Fields["whole"]; ok {
				want.Fields["whole"] = int64(3) // a whole float reads back as an integer
			}
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("round trip of %s (-want +got):\n%s", b, diff)
		}
	}
}

func TestInvalidUTF8BecomesReplacement(t *testing.T) {
	c := Change{ID: "m", System: "s", Entity: "e", Op: record.Upsert, Key: "k", Fields: record.Fields{"a": "x\xffy"}}
	b, err := c.Append(nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeChange(b)
	if err != nil {
		t.Fatal(err)
	}
	if got.Fields["a"] != "x\ufffdy" {
		t.Errorf("got %q", got.Fields["a"])
	}
}

func TestAppendRejectsNaN(t *testing.T) {
	c := Change{ID: "m", System: "s", Entity: "e", Op: record.Upsert, Key: "k", Fields: record.Fields{"price": math.NaN()}}
	if _, err := c.Append(nil); err == nil || !strings.Contains(err.Error(), `field "price"`) {
		t.Errorf("err = %v, want one naming field price", err)
	}
}

func TestResultRoundTrip(t *testing.T) {
	for _, r := range []Result{
		{ID: "r1", System: "shop", Change: "m1", Entity: "customer", GID: "g", Op: record.Upsert, Key: "9", Outcome: Created,
			At: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)},
		{ID: "r2", System: "shop", Change: "m2", Entity: "customer", GID: "g", Outcome: Failed, Reason: "no", Field: "email"},
		{ID: "r3", System: "shop", Change: "m3", Entity: "customer", GID: "g", Op: record.Delete, Outcome: Applied},
	} {
		b := r.Append(nil)
		got, err := DecodeResult(b)
		if err != nil {
			t.Fatalf("decode %s: %v", b, err)
		}
		if diff := cmp.Diff(r, got); diff != "" {
			t.Errorf("round trip of %s (-want +got):\n%s", b, diff)
		}
	}
}

// The examples the documentation shows are valid messages.
func TestExamplesAreValid(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.json")
	if len(files) == 0 {
		t.Fatal("no examples")
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(filepath.Base(f), "change") {
			_, err = DecodeChange(data)
		} else {
			_, err = DecodeResult(data)
		}
		if err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}

func TestInvalidChanges(t *testing.T) {
	for _, tc := range []struct {
		name, msg       string
		field, contains string
		key             string
	}{
		{"not json", `{"contract":1,`, "", "not JSON", ""},
		{"array", `[1]`, "", "not a JSON object", ""},
		{"wrong contract", `{"contract":2,"type":"change","id":"a","system":"s","entity":"e","op":"delete","key":"k"}`, "", `"contract"`, "k"},
		{"wrong type", `{"contract":1,"type":"result","id":"a","system":"s","entity":"e","op":"delete","key":"k"}`, "", `"type" is "result"`, "k"},
		{"bad op", `{"contract":1,"type":"change","id":"a","system":"s","entity":"e","op":"merge","key":"k"}`, "", `"op"`, "k"},
		{"no key nor gid", `{"contract":1,"type":"change","id":"a","system":"s","entity":"e","op":"delete"}`, "", "key", ""},
		{"upsert without fields", `{"contract":1,"type":"change","id":"a","system":"s","entity":"e","op":"upsert","key":"k"}`, "", "fields", "k"},
		{"nested field", `{"contract":1,"type":"change","id":"a","system":"s","entity":"e","op":"upsert","key":"k","fields":{"addr":{"city":"x"}}}`, "addr", "", "k"},
		{"empty id", `{"contract":1,"type":"change","id":"","system":"s","entity":"e","op":"delete","key":"k"}`, "", `"id"`, "k"},
		{"number key", `{"contract":1,"type":"change","id":"a","system":"s","entity":"e","op":"delete","key":42}`, "", `"key"`, ""},
		{"bad time", `{"contract":1,"type":"change","id":"a","system":"s","entity":"e","op":"delete","key":"k","at":"yesterday"}`, "", "RFC 3339", "k"},
		{"negative version", `{"contract":1,"type":"change","id":"a","system":"s","entity":"e","op":"delete","key":"k","version":-1}`, "", `"version"`, "k"},
		{"trailing data", `{"contract":1,"type":"change","id":"a","system":"s","entity":"e","op":"delete","key":"k"} {}`, "", "not JSON", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeChange([]byte(tc.msg))
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("err = %v, want a contract error", err)
			}
			if ce.Field != tc.field || !strings.Contains(ce.Msg, tc.contains) || ce.Key != tc.key {
				t.Errorf("got field %q key %q msg %q; want field %q key %q and a message containing %q",
					ce.Field, ce.Key, ce.Msg, tc.field, tc.key, tc.contains)
			}
		})
	}
}

func TestOversized(t *testing.T) {
	big := `{"contract":1,"type":"change","id":"a","system":"s","entity":"e","op":"upsert","key":"k","fields":{"x":"` +
		strings.Repeat("a", MaxSize) + `"}}`
	_, err := DecodeChange([]byte(big))
	if err == nil || !strings.Contains(err.Error(), "the most is") {
		t.Errorf("err = %v", err)
	}
}

func TestInvalidResults(t *testing.T) {
	for _, msg := range []string{
		`{"contract":1,"type":"result","id":"r","system":"s","change":"m","entity":"e","gid":"g","outcome":"created"}`,
		`{"contract":1,"type":"result","id":"r","system":"s","change":"m","entity":"e","gid":"g","outcome":"failed"}`,
		`{"contract":1,"type":"result","id":"r","system":"s","change":"m","entity":"e","gid":"g","outcome":"maybe"}`,
		`{"contract":1,"type":"result","id":"r","system":"s","change":"m","entity":"e","outcome":"applied"}`,
	} {
		if _, err := DecodeResult([]byte(msg)); err == nil {
			t.Errorf("%s: no error", msg)
		}
	}
}

// Every message Append writes is valid against the published schema and
// reads back; nothing DecodeChange accepts fails to encode again.
func FuzzDecodeChange(f *testing.F) {
	files, _ := filepath.Glob("testdata/change-*.json")
	for _, p := range files {
		data, _ := os.ReadFile(p)
		f.Add(data)
	}
	f.Add([]byte(`{"contract":1,"type":"change","id":"a","system":"s","entity":"e","op":"upsert","key":"k","fields":{"a":1e999}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := DecodeChange(data)
		if err != nil {
			return
		}
		b, err := c.Append(nil)
		if err != nil {
			t.Fatalf("re-encode %s: %v", data, err)
		}
		again, err := DecodeChange(b)
		if err != nil {
			t.Fatalf("re-decode %s (from %s): %v", b, data, err)
		}
		if again.ID != c.ID || again.Key != c.Key || again.Op != c.Op || len(again.Fields) != len(c.Fields) {
			t.Fatalf("round trip changed %s into %s", data, b)
		}
	})
}

func BenchmarkDecodeChange(b *testing.B) {
	data, err := os.ReadFile("testdata/change-upsert.json")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := DecodeChange(data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendChange(b *testing.B) {
	c := Change{ID: "01JD3M5Q8Z4W2N6X7Y9A0B1C2D", System: "shop", Entity: "customer", Op: record.Upsert, Key: "1042",
		GID: "01JD3M5ZZQ7R8S9T0V1W2X3Y4Z", At: time.Now(),
		Fields: record.Fields{"name": "Ada Lovelace", "email": "ada@example.com", "account_id": "17", "credit": 2500.5, "active": true}}
	var buf []byte
	for b.Loop() {
		var err error
		if buf, err = c.Append(buf[:0]); err != nil {
			b.Fatal(err)
		}
	}
}

// quick never accepts what the schema rejects.
func FuzzQuickIsNoLooserThanTheSchema(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.json")
	for _, p := range files {
		data, _ := os.ReadFile(p)
		f.Add(data)
	}
	for _, s := range []string{
		`{"contract":1,"type":"change","id":"a","system":"s","entity":"e","op":"upsert","gid":"g","fields":{"":1}}`,
		`{"contract":1.0,"type":"change","id":"a","system":"s","entity":"e","op":"delete","key":"k","version":1.0}`,
		`{"contract":1,"type":"result","id":"r","system":"s","change":"m","entity":"e","gid":"g","outcome":"failed","reason":""}`,
		`{"contract":1,"type":"change","id":"a","system":"s","entity":"e","op":"delete","key":"k","ID":"x","at":null}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
		if err != nil {
			return
		}
		doc, ok := v.(map[string]any)
		if !ok {
			return
		}
		for typ, quick := range map[string]func(map[string]any) bool{TypeChange: quickChange, TypeResult: quickResult} {
			if !quick(doc) {
				continue
			}
			sch, err := compiled(typ)
			if err != nil {
				t.Fatal(err)
			}
			if err := sch.Validate(doc); err != nil {
				t.Fatalf("quick accepts %s as a %s; the schema does not: %v", data, typ, err)
			}
		}
	})
}

// quick accepts the ordinary messages, so they skip the schema validator.
func TestQuickAcceptsExamples(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.json")
	for _, p := range files {
		data, _ := os.ReadFile(p)
		v, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		quick := quickChange
		if strings.HasPrefix(filepath.Base(p), "result") {
			quick = quickResult
		}
		if !quick(v.(map[string]any)) {
			t.Errorf("%s takes the slow path", p)
		}
	}
}

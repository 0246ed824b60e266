package contract

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"github.com/tandemhub/tandem/internal/record"
)

//go:embed schema/*.json
var schemaFiles embed.FS

// Schema returns the JSON Schema document of a message type
// (TypeChange or TypeResult), as published in schema/.
func Schema(typ string) ([]byte, error) {
	return schemaFiles.ReadFile("schema/" + typ + ".json")
}

var (
	compileOnce sync.Once
	schemas     map[string]*jsonschema.Schema
	compileErr  error
)

func compiled(typ string) (*jsonschema.Schema, error) {
	compileOnce.Do(func() {
		schemas = map[string]*jsonschema.Schema{}
		c := jsonschema.NewCompiler()
		for _, t := range []string{TypeChange, TypeResult} {
			data, err := Schema(t)
			if err != nil {
				compileErr = err
				return
			}
			doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
			if err != nil {
				compileErr = fmt.Errorf("schema %s: %w", t, err)
				return
			}
			url := "urn:tandem:contract:1:" + t
			if err := c.AddResource(url, doc); err != nil {
				compileErr = fmt.Errorf("schema %s: %w", t, err)
				return
			}
			if schemas[t], err = c.Compile(url); err != nil {
				compileErr = fmt.Errorf("schema %s: %w", t, err)
				return
			}
		}
	})
	return schemas[typ], compileErr
}

// Error is a message that breaks the contract. What could be read of the
// message is kept, so that the problem can be reported against its record.
type Error struct {
	ID, System, Entity, Key, GID string
	// Field is the record field at fault, when the fault is in "fields".
	Field string
	// Msg says what is wrong.
	Msg string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("message")
	if e.ID != "" {
		fmt.Fprintf(&b, " %s", e.ID)
	}
	if e.Entity != "" {
		fmt.Fprintf(&b, " (%s", e.Entity)
		if e.Key != "" {
			fmt.Fprintf(&b, " key %q", e.Key)
		}
		b.WriteString(")")
	}
	b.WriteString(" breaks the message contract: ")
	if e.Field != "" {
		fmt.Fprintf(&b, "field %q: ", e.Field)
	}
	b.WriteString(e.Msg)
	return b.String()
}

// DecodeChange reads and validates a change message.
func DecodeChange(data []byte) (Change, error) {
	doc, err := parse(data, TypeChange)
	if err != nil {
		return Change{}, err
	}
	c := Change{ID: str(doc, "id"), System: str(doc, "system"), Entity: str(doc, "entity"),
		Key: str(doc, "key"), GID: str(doc, "gid"), Cause: str(doc, "cause")}
	c.Op, _ = record.ParseOp(str(doc, "op"))
	if v, ok := doc["version"].(json.Number); ok {
		switch n := record.Normalize(v).(type) {
		case int64:
			c.Version = n
		case float64:
			if n > 1<<62 {
				return Change{}, errorOf(doc, "", fmt.Sprintf(`"version": %s is too large`, v))
			}
			c.Version = int64(n)
		}
	}
	if c.At, err = when(doc); err != nil {
		return Change{}, err
	}
	if c.Op == record.Upsert {
		raw, _ := doc["fields"].(map[string]any)
		c.Fields = make(record.Fields, len(raw))
		for k, v := range raw {
			c.Fields[k] = record.Normalize(v)
		}
	}
	return c, nil
}

// DecodeResult reads and validates a result message.
func DecodeResult(data []byte) (Result, error) {
	doc, err := parse(data, TypeResult)
	if err != nil {
		return Result{}, err
	}
	r := Result{ID: str(doc, "id"), System: str(doc, "system"), Change: str(doc, "change"),
		Entity: str(doc, "entity"), GID: str(doc, "gid"), Key: str(doc, "key"),
		Outcome: Outcome(str(doc, "outcome")), Reason: str(doc, "reason"), Field: str(doc, "field")}
	if op := str(doc, "op"); op != "" {
		r.Op, _ = record.ParseOp(op)
	}
	if r.At, err = when(doc); err != nil {
		return Result{}, err
	}
	return r, nil
}

// parse reads data as one JSON object and validates it against the
// schema of typ.
func parse(data []byte, typ string) (map[string]any, error) {
	if len(data) > MaxSize {
		return nil, &Error{Msg: fmt.Sprintf("it is %d bytes; the most is %d", len(data), MaxSize)}
	}
	sch, err := compiled(typ)
	if err != nil {
		return nil, err
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return nil, &Error{Msg: "not JSON: " + err.Error()}
	}
	doc, ok := v.(map[string]any)
	if !ok {
		return nil, &Error{Msg: "not a JSON object"}
	}
	if t, _ := doc["type"].(string); t != typ && t != "" {
		return nil, errorOf(doc, "", fmt.Sprintf(`"type" is %q, not %q`, t, typ))
	}
	quick := quickChange
	if typ == TypeResult {
		quick = quickResult
	}
	if quick(doc) {
		return doc, nil
	}
	if err := sch.Validate(doc); err != nil {
		return nil, schemaError(doc, err)
	}
	return doc, nil
}

var printer = message.NewPrinter(language.English)

// schemaError turns a validation failure into an Error naming the
// property (or record field) at fault.
func schemaError(doc map[string]any, err error) error {
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return errorOf(doc, "", err.Error())
	}
	leaf := ve
	for len(leaf.Causes) > 0 {
		leaf = leaf.Causes[0]
	}
	loc := leaf.InstanceLocation
	if req, ok := leaf.ErrorKind.(*kind.Required); ok && len(req.Missing) > 0 {
		loc = append(loc[:len(loc):len(loc)], req.Missing[0])
	}
	msg := leaf.ErrorKind.LocalizedString(printer)
	if len(loc) == 2 && loc[0] == "fields" {
		return errorOf(doc, loc[1], msg)
	}
	if len(loc) > 0 {
		msg = fmt.Sprintf("%q: %s", strings.Join(loc, "."), msg)
	}
	return errorOf(doc, "", msg)
}

func errorOf(doc map[string]any, field, msg string) *Error {
	return &Error{ID: str(doc, "id"), System: str(doc, "system"), Entity: str(doc, "entity"),
		Key: str(doc, "key"), GID: str(doc, "gid"), Field: field, Msg: msg}
}

func str(doc map[string]any, name string) string {
	s, _ := doc[name].(string)
	return s
}

func when(doc map[string]any) (time.Time, error) {
	s := str(doc, "at")
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, errorOf(doc, "", fmt.Sprintf(`"at": %q is not an RFC 3339 time, like 2026-01-02T15:04:05Z`, s))
	}
	return t.UTC(), nil
}

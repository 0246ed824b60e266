package mapping

import (
	"errors"
	"fmt"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"github.com/tandemhub/tandem/internal/record"
)

// Schema validates canonical records of one entity.
type Schema struct {
	sch *jsonschema.Schema
}

// CompileSchema compiles an entity's JSON Schema document.
func CompileSchema(entity string, doc map[string]any) (*Schema, error) {
	c := jsonschema.NewCompiler()
	url := "tandem:///" + entity + ".json"
	if err := c.AddResource(url, normalizeDoc(doc)); err != nil {
		return nil, fmt.Errorf("schema of %s: %w", entity, err)
	}
	sch, err := c.Compile(url)
	if err != nil {
		return nil, fmt.Errorf("schema of %s: %w", entity, err)
	}
	return &Schema{sch: sch}, nil
}

// normalizeDoc turns YAML-decoded values (uint64, map[string]any, …) into
// what the JSON Schema compiler accepts.
func normalizeDoc(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = normalizeDoc(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = normalizeDoc(e)
		}
		return out
	case nil, string, bool, float64, int64:
		return x
	}
	return record.Normalize(v)
}

var printer = message.NewPrinter(language.English)

// InvalidError says which field of a record broke the schema and why.
type InvalidError struct {
	Field string
	Msg   string
}

func (e *InvalidError) Error() string {
	if e.Field == "" {
		return "schema: " + e.Msg
	}
	return fmt.Sprintf("field %q: %s", e.Field, e.Msg)
}

// Validate checks canonical fields against the schema. Nil values are
// treated as absent, so a NULL column is a missing field.
func (s *Schema) Validate(f record.Fields) error {
	doc := make(map[string]any, len(f))
	for k, v := range f {
		if v != nil {
			doc[k] = v
		}
	}
	err := s.sch.Validate(doc)
	if err == nil {
		return nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return &InvalidError{Msg: err.Error()}
	}
	leaf := ve
	for len(leaf.Causes) > 0 {
		leaf = leaf.Causes[0]
	}
	field := ""
	if len(leaf.InstanceLocation) > 0 {
		field = leaf.InstanceLocation[0]
	}
	if req, ok := leaf.ErrorKind.(*kind.Required); ok && field == "" && len(req.Missing) > 0 {
		field = req.Missing[0]
	}
	msg := leaf.ErrorKind.LocalizedString(printer)
	if field != "" {
		if v, ok := doc[field]; ok {
			msg = fmt.Sprintf("%s (value %s)", msg, strings.TrimSpace(fmt.Sprintf("%q", Text(v))))
		}
	}
	return &InvalidError{Field: field, Msg: msg}
}

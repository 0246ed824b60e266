package config

import (
	"regexp"
	"slices"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// Fields lists the canonical fields the entity's schema declares (its
// top-level properties), sorted.
func (e *Entity) Fields() []string {
	props, _ := e.Schema["properties"].(map[string]any)
	return sortedKeys(props)
}

// schemaIssue is one complaint of the JSON Schema compiler: where in the
// schema (a JSON pointer split into keys; nil when unknown) and what.
type schemaIssue struct {
	at  []string
	msg string
}

// compileSchema compiles doc as a JSON Schema and returns the compiler's
// complaints, innermost first, one per place in the schema.
func compileSchema(entity string, doc map[string]any) []schemaIssue {
	c := jsonschema.NewCompiler()
	url := "tandem:///" + entity + ".json"
	if err := c.AddResource(url, jsonValue(doc)); err != nil {
		return issues(err.Error())
	}
	if _, err := c.Compile(url); err != nil {
		return issues(err.Error())
	}
	return nil
}

// jsonValue turns decoded YAML into the values the compiler accepts.
func jsonValue(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = jsonValue(e)
		}
		return out
	case map[any]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			if s, ok := k.(string); ok {
				out[s] = jsonValue(e)
			}
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = jsonValue(e)
		}
		return out
	}
	return v
}

// leafLine matches a line of the compiler's indented error tree.
var leafLine = regexp.MustCompile(`^(\s*)- at '([^']*)'(?: \[[^\]]*\])?: (.*)$`)

// issues picks the innermost complaints out of the compiler's error tree,
// the first one for each place.
func issues(msg string) []schemaIssue {
	lines := strings.Split(msg, "\n")
	var out []schemaIssue
	var seen []string
	for i, l := range lines {
		m := leafLine.FindStringSubmatch(l)
		if m == nil || slices.Contains(seen, m[2]) {
			continue
		}
		if i+1 < len(lines) {
			if next := leafLine.FindStringSubmatch(lines[i+1]); next != nil && len(next[1]) > len(m[1]) {
				continue // not a leaf
			}
		}
		seen = append(seen, m[2])
		out = append(out, schemaIssue{at: pointer(m[2]), msg: m[3]})
	}
	if len(out) == 0 {
		return []schemaIssue{{msg: firstLine(msg)}}
	}
	return out
}

// pointer splits a JSON pointer like /properties/a~1b into its keys.
func pointer(p string) []string {
	keys := []string{}
	if p == "" {
		return keys
	}
	for _, k := range strings.Split(strings.TrimPrefix(p, "/"), "/") {
		keys = append(keys, strings.NewReplacer("~1", "/", "~0", "~").Replace(k))
	}
	return keys
}

package config

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/goccy/go-yaml"
)

// readSchemas loads each entity's schema_file (JSON or YAML) into Schema.
// Relative paths are taken from base, the config file's directory.
func (c *Config) readSchemas(at map[string]pos, base string, readFile func(string) ([]byte, error)) Problems {
	var probs Problems
	add := func(path, msg, hint string) {
		p := at[path]
		probs = append(probs, Problem{File: c.File, Line: p.line, Column: p.col, Path: path, Msg: msg, Hint: hint})
	}
	for _, name := range sortedKeys(c.Entities) {
		e := c.Entities[name]
		if e == nil || e.SchemaFile == "" {
			continue
		}
		path := child(child("entities", name), "schema_file")
		if e.Schema != nil {
			add(path, "set together with schema", "give the schema inline or in a file, not both")
			continue
		}
		file := e.SchemaFile
		if !filepath.IsAbs(file) {
			file = filepath.Join(base, file)
		}
		data, err := readFile(file)
		if err != nil {
			add(path, fmt.Sprintf("cannot read %s: %v", file, unwrapPathError(err)),
				"schema_file is relative to the directory of the config file")
			continue
		}
		var doc map[string]any
		if err := yaml.Unmarshal(data, &doc); err != nil {
			add(path, fmt.Sprintf("%s is not JSON or YAML: %s", file, firstLine(yamlMessage(err))), "fix the schema file")
			continue
		}
		if doc == nil {
			add(path, file+" is empty", "write a JSON Schema with type: object and properties")
			continue
		}
		e.Schema = doc
	}
	return probs
}

func yamlMessage(err error) string {
	var ye yaml.Error
	if errors.As(err, &ye) {
		if tk := ye.GetToken(); tk != nil && tk.Position != nil {
			return fmt.Sprintf("line %d: %s", tk.Position.Line, ye.GetMessage())
		}
		return ye.GetMessage()
	}
	return err.Error()
}

// unwrapPathError drops the path an os error repeats.
func unwrapPathError(err error) error {
	if u := errors.Unwrap(err); u != nil {
		return u
	}
	return err
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}

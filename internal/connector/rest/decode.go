package rest

import (
	"bytes"
	"encoding/json"
	"strings"
)

// DecodeError reads the common shapes of JSON error answers:
// {"message": …}, {"error": "…"}, {"error": {"message", "code", "field"}},
// {"errors": [{"message", "field"|"path"|"fields"}]} and [{"message", "errorCode", "fields"}].
func DecodeError(status int, body []byte) *APIError {
	e := &APIError{Status: status}
	if len(body) == 0 {
		return e
	}
	var v any
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	if d.Decode(&v) != nil {
		e.Message = strings.TrimSpace(string(body))
		if len(e.Message) > 300 {
			e.Message = e.Message[:300] + "…"
		}
		return e
	}
	readErrorInto(e, v)
	return e
}

// ReadError fills e from a decoded error object (a per-record result of
// a batch call).
func ReadError(e *APIError, v any) { readErrorInto(e, v) }

func readErrorInto(e *APIError, v any) {
	switch x := v.(type) {
	case []any:
		for _, it := range x {
			readErrorInto(e, it)
		}
	case map[string]any:
		if s, ok := x["message"].(string); ok && e.Message == "" {
			e.Message = s
		}
		for _, k := range []string{"code", "errorCode", "statusCode", "category"} {
			if s, ok := x[k].(string); ok && e.Code == "" {
				e.Code = s
			}
		}
		for _, k := range []string{"field", "path", "propertyName"} {
			if s, ok := x[k].(string); ok && s != "" {
				e.Fields = appendNew(e.Fields, s)
			}
		}
		for _, k := range []string{"fields", "propertyName"} {
			if arr, ok := x[k].([]any); ok {
				for _, f := range arr {
					if s, ok := f.(string); ok {
						e.Fields = appendNew(e.Fields, s)
					}
				}
			}
		}
		switch y := x["error"].(type) {
		case string:
			if e.Message == "" {
				e.Message = y
			}
		case map[string]any:
			readErrorInto(e, y)
		}
		if errs, ok := x["errors"].([]any); ok {
			readErrorInto(e, errs)
		}
		if ctx, ok := x["context"].(map[string]any); ok {
			readErrorInto(e, ctx)
		}
		for _, k := range []string{"detail", "title"} {
			if s, ok := x[k].(string); ok && e.Message == "" {
				e.Message = s
			}
		}
	}
}

func appendNew(ss []string, s string) []string {
	for _, x := range ss {
		if x == s {
			return ss
		}
	}
	return append(ss, s)
}

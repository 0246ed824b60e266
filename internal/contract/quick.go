package contract

import (
	"encoding/json"
	"strconv"
	"unicode/utf8"
)

// The JSON Schemas are the contract, and a message they reject is
// rejected. Running the schema validator costs several times what parsing
// does, though, so a message first meets quick: a hand-written check of
// the same rules that is at least as strict (a test fuzzes that whatever
// quick accepts the schema accepts too). Only a message quick refuses is
// validated against the schema, which then decides, and explains.

// quickChange reports whether doc is surely a valid change message.
func quickChange(doc map[string]any) bool {
	if !contract1(doc) || doc["type"] != TypeChange ||
		!text(doc, "id", 128, true) || !text(doc, "system", 128, true) || !text(doc, "entity", 128, true) ||
		!text(doc, "key", 512, false) || !text(doc, "gid", 128, false) || !text(doc, "cause", 128, false) ||
		!plainString(doc, "at") {
		return false
	}
	op := doc["op"]
	if op != "upsert" && op != "delete" {
		return false
	}
	if _, ok := doc["key"]; !ok {
		if _, ok := doc["gid"]; !ok {
			return false
		}
	}
	if v, ok := doc["version"]; ok {
		n, isNum := v.(json.Number)
		if !isNum {
			return false
		}
		if i, err := strconv.ParseInt(string(n), 10, 64); err != nil || i < 0 {
			return false
		}
	}
	f, has := doc["fields"]
	if !has {
		return op == "delete"
	}
	fields, ok := f.(map[string]any)
	if !ok {
		return false
	}
	for k, v := range fields {
		if n := utf8.RuneCountInString(k); n < 1 || n > 128 {
			return false
		}
		switch v.(type) {
		case nil, string, json.Number, bool:
		default:
			return false
		}
	}
	return true
}

// quickResult reports whether doc is surely a valid result message.
func quickResult(doc map[string]any) bool {
	if !contract1(doc) || doc["type"] != TypeResult ||
		!text(doc, "id", 128, true) || !text(doc, "system", 128, true) || !text(doc, "change", 128, true) ||
		!text(doc, "entity", 128, true) || !text(doc, "gid", 128, true) || !text(doc, "key", 512, false) ||
		!text(doc, "reason", 4096, false) || !text(doc, "field", 128, false) || !plainString(doc, "at") {
		return false
	}
	if op, ok := doc["op"]; ok && op != "upsert" && op != "delete" {
		return false
	}
	_, hasKey := doc["key"]
	_, hasReason := doc["reason"]
	switch doc["outcome"] {
	case "applied":
		return true
	case "created":
		return hasKey
	case "failed":
		return hasReason
	}
	return false
}

func contract1(doc map[string]any) bool {
	n, ok := doc["contract"].(json.Number)
	return ok && n == "1"
}

// text checks that doc[name] is a string of 1 to max characters, or
// absent when not required.
func text(doc map[string]any, name string, max int, required bool) bool {
	v, ok := doc[name]
	if !ok {
		return !required
	}
	s, ok := v.(string)
	if !ok {
		return false
	}
	n := utf8.RuneCountInString(s)
	return n >= 1 && n <= max
}

// plainString checks that doc[name] is a string, or absent.
func plainString(doc map[string]any, name string) bool {
	v, ok := doc[name]
	if !ok {
		return true
	}
	_, ok = v.(string)
	return ok
}

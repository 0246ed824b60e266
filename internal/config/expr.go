package config

import (
	"fmt"
	"reflect"
	"strings"

	"github.com/expr-lang/expr"
)

// compileLocal compiles an in expression, which reads the system's row.
// Its columns are not all known here, so any name is allowed; the
// expression's syntax and functions are still checked.
func compileLocal(src string) string {
	_, err := expr.Compile(src, expr.Env(map[string]any{}), expr.AllowUndefinedVariables())
	return exprMessage(err)
}

// compileCanonical compiles an out or filter expression, which reads the
// canonical record: a name the schema does not declare is a mistake.
func compileCanonical(src string, e *Entity, asBool bool) string {
	opts := []expr.Option{expr.Env(canonicalEnv(e.Fields()))}
	if e.Schema == nil {
		opts = append(opts, expr.AllowUndefinedVariables())
	}
	if asBool {
		opts = append(opts, expr.AsBool())
	}
	_, err := expr.Compile(src, opts...)
	return exprMessage(err)
}

// canonicalEnv is a value whose fields are the canonical fields, each of
// any type: the compiler then knows the names but not their types, as
// values arrive with whatever type the source system gave them.
func canonicalEnv(fields []string) any {
	sf := make([]reflect.StructField, len(fields))
	for i, f := range fields {
		sf[i] = reflect.StructField{Name: fmt.Sprintf("F%d", i), Type: reflect.TypeFor[any](),
			Tag: reflect.StructTag(fmt.Sprintf("expr:%q", f))}
	}
	return reflect.New(reflect.StructOf(sf)).Elem().Interface()
}

// exprMessage is the compiler's complaint without its source excerpt.
func exprMessage(err error) string {
	if err == nil {
		return ""
	}
	msg := firstLine(err.Error())
	if strings.Contains(msg, "func(") {
		// A name like first, last or len is a built-in function.
		msg += ` (a name that is also a built-in function must be written $env["name"])`
	}
	return msg
}

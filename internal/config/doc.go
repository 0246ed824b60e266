// Package config reads tandem.yaml into plain structs and validates it,
// reporting every mistake at once with its file, line and a hint.
// It knows nothing of connectors beyond their type names.
//
// Secrets come only from ${ENV_VAR} and ${file:PATH} references; the
// struct fields that hold them carry a secret tag (see secret.go). No
// problem or warning shows a secret or a value a reference gave, and
// Config.Secrets lists the values the rest of tandem must mask.
package config

// Package config reads tandem.yaml into plain structs and validates it,
// reporting every mistake at once with its file, line and a hint.
// It knows nothing of connectors beyond their type names.
package config

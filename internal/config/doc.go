// Package config reads tandem.yaml into plain structs and validates it,
// reporting every mistake at once with its file, line and a hint.
// It knows nothing of connectors beyond their type names: the settings
// block a connector type reads under a system (http:, queue:, …) is
// declared, checked and documented by the connector's own package, which
// registers it as a Section from init. config decodes each block as
// strictly as the rest of the file and runs the section's check among
// its own, so the problems of a file still come out together; what was
// decoded is kept in System.Blocks for the connector to read back.
//
// Invariants:
//   - Load returns a Config only when it has no problem: decoded strictly
//     (an unknown key is a problem), defaults applied, relative paths
//     taken from the file's directory, every system's delivery settings
//     complete. Otherwise it returns every problem found, sorted, and no
//     Config. Warnings are what is allowed but unwise.
//   - Secrets come only from ${ENV_VAR} and ${file:PATH} references; the
//     struct fields that hold them carry a secret tag (see secret.go). No
//     problem or warning shows a secret or a value a reference gave, and
//     Config.Secrets lists the values the rest of tandem must mask.
//
// The command loads the configuration (through a program that links the
// connector registry, so that every section is known); the hub compiles
// it, and the connectors, mapping, resolve and verify read their parts of
// it. bench and demo write and load configurations of their own. Tests of
// packages that own a section load files through configtest.
package config

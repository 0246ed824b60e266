// Package registry maps connector types, as written in tandem.yaml's
// systems.<name>.type, to the functions that open them. The map is
// explicit and lives in one file; importing the package has no side
// effects beyond importing the connectors. The hub opens every system
// through Open.
package registry

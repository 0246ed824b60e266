// Package registry maps connector types, as written in tandem.yaml's
// systems.<name>.type, to the functions that open them. The map is
// explicit and lives in one file; importing the package has no side
// effects beyond importing the connectors. The hub opens every system
// through Open (the benchmark opens its destination the same way), and
// Open's error never holds one of the system's secrets, whatever a
// driver put in it. Package memory is not a type here: whoever uses it
// hands it to the hub as a System.
package registry

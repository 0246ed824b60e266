// Package connector declares what tandem needs from a system: a Source that
// captures changes and a Destination that applies writes, plus the registry
// of connector types. Connectors live in sub-packages and never import each other.
package connector

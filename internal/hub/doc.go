// Package hub wires a configuration into a running hub: it compiles the
// model, opens the store and the connectors, and runs capture, resolve,
// delivery and maintenance loops until its context ends.
// cmd/tandem, the demo and the benchmark drive tandem through it.
package hub

// Package verify compares what every system actually holds with tandem's
// golden records, row by row and field by field, through the systems'
// own connectors. The demo and the end-to-end tests use it to prove the
// systems agree; reconciliation will build on it.
package verify

// Package resolve turns captured changes into golden-record updates and
// outbound deliveries: it links local keys to global ids (or matches them
// by natural key), translates references, maps and validates fields, drops
// echoes and no-ops, and enqueues one delivery per destination the routes select.
// Callers run Resolve inside one store transaction together with the log append.
package resolve

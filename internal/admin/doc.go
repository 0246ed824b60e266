// Package admin answers an operator's questions and carries out their
// actions against the store: status per system and entity, dead letters
// (list, retry, discard) and a record's links across systems. The CLI
// uses it now; the admin API will use the same calls.
package admin

// Command tandem is the record synchronization hub: it keeps records in
// step across databases, APIs and queues. Each sub-command lives in its
// own file and only parses flags and calls the library.
//
// Invariants:
//   - Interrupt and SIGTERM cancel the command's context, so that the
//     command can stop cleanly.
//   - Once a command has loaded the configuration, what it prints through
//     globals.stdout, its logs and its final error have the
//     configuration's secrets masked.
//   - A command that fails prints "tandem: " and its error on stderr and
//     exits 1; status exits 1 when something needs attention and 2 when
//     it cannot tell.
//
// Operators and their scripts run it; the end-to-end tests and the
// torture harness run the built binary as they do.
package main

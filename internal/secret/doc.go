// Package secret keeps passwords and tokens out of what tandem shows and
// keeps: error messages, log lines, command output and the store.
//
// DSN masks the password of a connection string by its structure, so it
// works on a string tandem is about to print. A Redactor masks known
// secret values wherever they appear in text, so it works on messages
// written by others (drivers, APIs) that may quote a secret. Both
// replace a secret by Mask.
//
// Invariants:
//   - DSN never fails: a string it cannot read has what looks like a
//     password masked all the same.
//   - A Redactor masks a secret also as it appears quoted, percent- or
//     JSON-encoded; it ignores values shorter than MinLen, which would
//     mask ordinary words. An error it masks still satisfies errors.Is
//     and errors.As as before.
//   - A Redactor's Writer masks only within one Write: callers write
//     whole lines or documents.
//
// Any package may use it; it imports nothing of tandem. The command
// masks its output and logs with the configuration's Redactor; config,
// the broker and the connectors mask what their errors quote.
package secret

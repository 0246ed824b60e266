// Package secret keeps passwords and tokens out of what tandem shows and
// keeps: error messages, log lines, command output and the store.
//
// DSN masks the password of a connection string by its structure, so it
// works on a string tandem is about to print. A Redactor masks known
// secret values wherever they appear in text, so it works on messages
// written by others (drivers, APIs) that may quote a secret. Both
// replace a secret by Mask.
//
// Any package may use it; it imports nothing of tandem.
package secret

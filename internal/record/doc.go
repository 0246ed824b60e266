// Package record defines the change envelope that flows through tandem:
// one captured create/update/delete of one record, and the writes sent to a
// destination. It has no dependencies and is imported by every other package.
package record

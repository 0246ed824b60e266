// Package record defines the change envelope that flows through tandem:
// one captured create/update/delete of one record, and the writes sent to a
// destination.
//
// Invariants:
//   - A Change is in its system's own terms (key and column names), a
//     Write in its destination's; translating between them is mapping's
//     job. A delete carries no fields.
//   - Field values are normalised once, at capture, to string, int64,
//     float64, bool or nil (Normalize), so that comparison (Equal, where
//     an integer equals the float of the same value) and hashing can
//     rely on it.
//   - Results are index-aligned with the Writes they answer.
//
// It imports nothing of tandem. Connectors, the store, resolve, deliver,
// the hub, the client package and the tools built on them all use it.
package record

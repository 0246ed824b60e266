// Package contract is tandem's message contract with systems that speak
// to it over a message queue: the change message, which travels both ways
// (a system's own changes to tandem, other systems' changes to the
// system), and the apply result, which a system sends back for each
// change it was given. The JSON Schemas in schema/ are the contract's
// definition; they are embedded here, and every message tandem receives
// is validated against them before anything else looks at it.
//
// The contract is versioned by its major number, the "contract" property
// of every message. Properties may be added without raising it, so
// receivers ignore properties they do not know; a change that an older
// receiver cannot safely ignore raises it.
//
// Encoding is hand-written (messages are small and flat, and the hub
// encodes one per delivered record); decoding parses once, validates the
// parsed document and converts it, so a message is read exactly once.
//
// Both the queue connector and the public client package use it; it
// holds no I/O.
package contract

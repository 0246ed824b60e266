package connector

import (
	"context"
	"net/http"
)

// Position is how far a source's changes have been read, in a form only
// that source understands; the hub stores it and hands it back as it
// was. A system that keeps its own position (a SQL outbox) has none.
type Position string

// Positioner is a Source whose change position tandem keeps in its
// store, because the system holds none for it (an API read by
// updated-at cursors, a queue whose deliveries a crash can repeat).
//
// Invariant (enforced by the hub's capture: see hub.savePosition): the
// position after a batch is written in the store transaction that
// stores the batch's changes, and Resume is only ever handed a position
// so stored. A source may therefore trust a position it is given as
// durable: what it covers is in the store, and is never read as news
// again.
type Positioner interface {
	// Begin is the position to start from when none is stored: taken
	// before the initial snapshot, so changes made during it are read
	// after it.
	Begin(ctx context.Context) (Position, error)
	// Resume sets the position capture continues from.
	Resume(ctx context.Context, pos Position) error
	// Position is the position after batch b.
	Position(b Batch) Position
}

// Webhooks is a Source that takes pushed notifications of changes (a
// signed POST from the system), which wake its capture.
type Webhooks interface {
	// Webhook is the handler of the system's notifications, nil when
	// none is configured.
	Webhook() http.Handler
}

// Capabilities are the optional parts of a system, each nil (or false)
// when the system lacks it. The hub asks for them once, when it opens
// the system (CapabilitiesOf), and acts on what they say: it keeps the
// position of a Positioner, serves the Webhook, tells a Knower the keys
// it links, takes a Reporter's reports, refuses a system whose Checker
// fails, notes what it sends a system that ReadsBack, and links the keys
// an Announcer announces.
type Capabilities struct {
	Positions Positioner
	Webhook   http.Handler // the system's Webhooks handler
	Knower    Knower
	Reporter  Reporter
	Checker   Checker
	Announcer Announcer
	ReadsBack bool
}

// CapabilitiesOf says which optional parts system s has.
func CapabilitiesOf(s any) Capabilities {
	var c Capabilities
	c.Positions, _ = s.(Positioner)
	if w, ok := s.(Webhooks); ok {
		c.Webhook = w.Webhook()
	}
	c.Knower, _ = s.(Knower)
	c.Reporter, _ = s.(Reporter)
	c.Checker, _ = s.(Checker)
	c.Announcer, _ = s.(Announcer)
	if rb, ok := s.(ReadsBack); ok {
		c.ReadsBack = rb.ReadsBack()
	}
	return c
}

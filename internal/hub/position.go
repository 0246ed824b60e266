package hub

import (
	"context"

	"github.com/tandemhub/tandem/internal/connector"
	"github.com/tandemhub/tandem/internal/store"
)

// positioned is a source whose change position tandem keeps in its store
// (API systems: the system holds no outbox to remember it for them).
type positioned interface {
	// Begin returns the position to start from when none is stored.
	Begin(ctx context.Context) (string, error)
	// Resume sets the position capture continues from.
	Resume(ctx context.Context, pos string) error
	// Position returns the position after batch b.
	Position(b connector.Batch) string
}

// positionCursor is the store cursor holding a source's change position.
const positionCursor = "changes"

// resumePosition hands a positioned source its stored position, storing
// a new one first when there is none (before the initial snapshot, so
// that changes made during the snapshot are read after it).
func (h *Hub) resumePosition(ctx context.Context, system string) error {
	p, ok := h.systems[system].(positioned)
	if !ok {
		return nil
	}
	var pos string
	var found bool
	if err := h.store.View(ctx, func(tx store.Tx) error {
		var err error
		pos, found, err = tx.Cursor(system, positionCursor)
		return err
	}); err != nil {
		return err
	}
	if !found {
		var err error
		if pos, err = p.Begin(ctx); err != nil {
			return err
		}
		if err := h.store.Update(ctx, func(tx store.Tx) error { return tx.PutCursor(system, positionCursor, pos) }); err != nil {
			return err
		}
	}
	return p.Resume(ctx, pos)
}

// savePosition returns what ingest must do in the batch's transaction to
// store the source's position after b, or nil for sources that keep
// their own. Only once that transaction commits does Ack release b.
func (h *Hub) savePosition(system string, b connector.Batch) func(store.Tx) error {
	p, ok := h.systems[system].(positioned)
	if !ok {
		return nil
	}
	pos := p.Position(b)
	return func(tx store.Tx) error { return tx.PutCursor(system, positionCursor, pos) }
}

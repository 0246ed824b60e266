package hub

import (
	"context"

	"github.com/tandemhub/tandem/internal/connector"
	"github.com/tandemhub/tandem/internal/store"
)

// positionCursor is the store cursor holding a source's change position.
const positionCursor = "changes"

// resumePosition hands a positioned source its stored position, storing
// a new one first when there is none (before the initial snapshot, so
// that changes made during the snapshot are read after it).
func (h *Hub) resumePosition(ctx context.Context, system string) error {
	p := h.caps[system].Positions
	if p == nil {
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
		begin, err := p.Begin(ctx)
		if err != nil {
			return err
		}
		pos = string(begin)
		if err := h.store.Update(ctx, func(tx store.Tx) error { return tx.PutCursor(system, positionCursor, pos) }); err != nil {
			return err
		}
	}
	return p.Resume(ctx, connector.Position(pos))
}

// savePosition returns what ingest must do in the batch's transaction to
// store the source's position after b, or nil for sources that keep
// their own. Only once that transaction commits does Ack release b, and
// only a position so stored is ever handed to Resume: this is where the
// invariant of connector.Positioner is kept.
func (h *Hub) savePosition(system string, b connector.Batch) func(store.Tx) error {
	p := h.caps[system].Positions
	if p == nil {
		return nil
	}
	pos := string(p.Position(b))
	return func(tx store.Tx) error { return tx.PutCursor(system, positionCursor, pos) }
}

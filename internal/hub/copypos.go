package hub

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/tandemhub/tandem/internal/store"
)

// copyPos is how far a copy of one entity's existing rows has come: the
// initial snapshot of an entity a system's changes are captured from, or
// the adoption of the rows of one it only receives. It is written in the
// transaction that stores the page it follows, so a restart resumes
// after the last page stored, and a copy done is never made again.
type copyPos struct {
	// After is the source's snapshot cursor after the last page stored
	// (see connector.Source.Snapshot); opaque to the hub.
	After string `json:"after,omitempty"`
	// Done says every row was read.
	Done bool `json:"done,omitempty"`
}

// legacyDone is how stores of earlier tandems marked a copy done, in
// place of the source's cursor.
const legacyDone = "\x00done"

// loadCopyPos reads the position of the copy called name (snapshot/ENTITY,
// adopt/ENTITY) of system. A store of an earlier tandem kept the source's
// cursor itself under name, or legacyDone.
func loadCopyPos(tx store.Tx, system, name string) (copyPos, error) {
	var p copyPos
	v, ok, err := tx.Cursor(system, "copy:"+name)
	if err != nil {
		return p, err
	}
	if ok {
		if err := json.Unmarshal([]byte(v), &p); err != nil {
			return p, fmt.Errorf("read the position of %s of %s: %w", name, system, err)
		}
		return p, nil
	}
	v, _, err = tx.Cursor(system, name)
	if v == legacyDone {
		return copyPos{Done: true}, err
	}
	return copyPos{After: v}, err
}

// putCopyPos writes the position of the copy called name of system.
func putCopyPos(tx store.Tx, system, name string, p copyPos) error {
	b, err := json.Marshal(p)
	if err != nil {
		return err
	}
	return tx.PutCursor(system, "copy:"+name, string(b))
}

// copyPos reads the position of the copy called name of system.
func (h *Hub) copyPos(ctx context.Context, system, name string) (copyPos, error) {
	var p copyPos
	err := h.store.View(ctx, func(tx store.Tx) error {
		var err error
		p, err = loadCopyPos(tx, system, name)
		return err
	})
	return p, err
}

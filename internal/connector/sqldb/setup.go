package sqldb

import (
	"context"
	"fmt"
	"slices"
)

// Setup installs tandem's outbox and id tables and a capture trigger on
// every configured table. It is idempotent: running it again on an
// installed database changes nothing.
func (e *Engine) Setup(ctx context.Context) error {
	var caps []Capture
	at := map[string]int{}
	for _, t := range e.order {
		i, ok := at[t.Name]
		if !ok {
			i = len(caps)
			at[t.Name] = i
			caps = append(caps, Capture{Table: t.Name, Key: t.key})
		}
		for _, c := range t.Columns { // entities sharing a table share its trigger
			if c != t.Key && !slices.Contains(caps[i].Columns, c) {
				caps[i].Columns = append(caps[i].Columns, c)
			}
		}
	}
	if err := e.d.Setup(ctx, e.db, caps); err != nil {
		return fmt.Errorf("install capture in %s system %q: %w", e.d.Name(), e.system, err)
	}
	e.ready.Store(true)
	e.log.Debug("capture installed", "tables", len(caps))
	return nil
}

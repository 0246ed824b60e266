package sqldb

import (
	"context"
	"fmt"
)

// Setup installs tandem's outbox and id tables and a capture trigger on
// every configured table. It is idempotent: running it again on an
// installed database changes nothing.
func (e *Engine) Setup(ctx context.Context) error {
	var caps []Capture
	seen := map[string]bool{}
	for _, t := range e.order {
		if seen[t.Name] {
			continue
		}
		seen[t.Name] = true
		caps = append(caps, Capture{Table: t.Name, Key: t.key})
	}
	if err := e.d.Setup(ctx, e.db, caps); err != nil {
		return fmt.Errorf("install capture in %s system %q: %w", e.d.Name(), e.system, err)
	}
	e.ready.Store(true)
	e.log.Debug("capture installed", "tables", len(caps))
	return nil
}

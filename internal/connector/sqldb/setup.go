package sqldb

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// Setup installs tandem's outbox and id tables and a capture trigger on
// every configured table. It is idempotent: running it again on an
// installed database changes nothing.
func (e *Engine) Setup(ctx context.Context) error {
	caps := e.captures()
	if err := e.d.Setup(ctx, e.db, caps); err != nil {
		return fmt.Errorf("install capture in %s system %q: %w", e.d.Name(), e.system, err)
	}
	e.ready.Store(true)
	e.log.Debug("capture installed", "tables", len(caps))
	return nil
}

// Check implements connector.Checker: it fails when the capture of a
// mapped table is missing or out of date with the mapping (a column
// mapped since the last setup, whose updates the triggers would not
// report), naming the tables and what to run.
func (e *Engine) Check(ctx context.Context) error {
	if err := e.checkReady(ctx); err != nil {
		return err
	}
	problems, err := e.d.Installed(ctx, e.db, e.captures())
	if err != nil {
		return fmt.Errorf("%s system %q: read its capture triggers: %w", e.d.Name(), e.system, err)
	}
	if len(problems) > 0 {
		return fmt.Errorf("%s system %q: %s; run `tandem setup` (or `tandem run --setup`) to install capture as the mapping needs it",
			e.d.Name(), e.system, strings.Join(problems, "; "))
	}
	return nil
}

// captures lists the tables to capture, with the columns the mapping
// names; entities sharing a table share its trigger.
func (e *Engine) captures() []Capture {
	var caps []Capture
	at := map[string]int{}
	for _, t := range e.order {
		i, ok := at[t.Name]
		if !ok {
			i = len(caps)
			at[t.Name] = i
			caps = append(caps, Capture{Table: t.Name, Key: t.key})
		}
		for _, c := range t.Columns {
			if c != t.Key && !slices.Contains(caps[i].Columns, c) {
				caps[i].Columns = append(caps[i].Columns, c)
			}
		}
	}
	return caps
}

// Problem describes what is wrong with the capture of table, given how
// many of its triggers are missing and how many differ from what Setup
// would install; "" when nothing is.
func Problem(table string, missing, stale int) string {
	switch {
	case missing > 0 && stale == 0:
		return fmt.Sprintf("capture of table %q is not installed (%d trigger(s) missing)", table, missing)
	case missing > 0:
		return fmt.Sprintf("capture of table %q is incomplete (%d trigger(s) missing, %d out of date)", table, missing, stale)
	case stale > 0:
		return fmt.Sprintf("capture of table %q is out of date with the mapping (%d trigger(s) differ from what setup installs now)", table, stale)
	}
	return ""
}

package connectortest

import (
	"context"
	"testing"

	"github.com/tandemhub/tandem/internal/connector"
	"github.com/tandemhub/tandem/internal/record"
)

// RunLocks runs the tests of what tandem promises the applications of a
// database whose transactions lock single rows (the servers; SQLite has
// one writer at a time): tandem's writes never make an application's
// transaction fail, and a row an application's transaction holds is
// neither waited for nor written, but reported busy. Every test gets its
// own database.
func RunLocks(t *testing.T, h Harness) {
	t.Run("ApplicationsNeverFail", func(t *testing.T) { testContention(t, open(t, h)) })
	t.Run("HeldRowIsBusy", func(t *testing.T) { testHeldRowBusy(t, open(t, h)) })
}

func testHeldRowBusy(t *testing.T, e *env) {
	updated := e.insertItem(t, "updated by an open transaction", 1)
	free := e.insertItem(t, "free", 1)
	deleted := e.insertItem(t, "deleted by an open transaction", 1)
	locked := e.insertItem(t, "locked by an open transaction", 1)
	e.drain(t)
	ctx := context.Background()
	app, err := e.App.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer app.Rollback() //nolint:errcheck // rolled back below; this is for a failed test
	for _, q := range []struct {
		sql string
		key string
	}{
		{"UPDATE items SET qty = 2 WHERE id = ?", updated},
		{"DELETE FROM items WHERE id = ?", deleted},
		{"SELECT id FROM items WHERE id = ? FOR UPDATE", locked},
	} {
		if _, err := app.ExecContext(ctx, e.bind(q.sql), q.key); err != nil {
			t.Fatalf("application: %s: %v", q.sql, err)
		}
	}
	ws := []record.Write{
		upsert(updated, record.Fields{"qty": int64(10)}),
		upsert(free, record.Fields{"qty": int64(10)}),
		upsert(deleted, record.Fields{"qty": int64(10)}),
		del(locked),
	}
	res, err := e.sys.Apply(ctx, "item", ws)
	if err != nil {
		t.Fatalf("Apply beside an open transaction: %v", err)
	}
	if got := resultKeys(res); len(got) != 4 || got[0] != updated || got[1] != free || got[2] != deleted || got[3] != locked {
		t.Fatalf("result keys %v, want the writes' keys", got)
	}
	for i, r := range res {
		if want := i != 1; connector.IsBusy(r.Err) != want || (r.Err != nil && !want) {
			t.Errorf("write %d (%s): error %v; want busy %v", i, r.Key, r.Err, want)
		}
	}
	// The application changes its mind: nothing it held has changed.
	if err := app.Rollback(); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{updated, deleted, locked} {
		if got := e.fetch(t, "item", k); got.Op != record.Upsert || got.Fields["qty"] != int64(1) {
			t.Errorf("row %s after the application rolled back: %+v; want it as it was", k, got)
		}
	}
	if got := e.fetch(t, "item", free).Fields["qty"]; got != int64(10) {
		t.Errorf("the free row has qty %v, want tandem's 10", got)
	}
	// Tried again, the writes go through.
	e.apply(t, "item", ws...)
	for _, k := range []string{updated, free, deleted} {
		if got := e.fetch(t, "item", k).Fields["qty"]; got != int64(10) {
			t.Errorf("row %s has qty %v after the retry, want 10", k, got)
		}
	}
	if got := e.fetch(t, "item", locked); got.Op != record.Delete {
		t.Errorf("row %s after the retried delete: %+v; want it gone", locked, got)
	}
	if got := e.drain(t); len(got) != 0 {
		t.Errorf("tandem's writes came back as %d changes", len(got))
	}
}

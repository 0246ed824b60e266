package store

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tandemhub/tandem/internal/record"
)

// Held changes are counted by system and entity with when the oldest was
// logged, and deliveries waiting for a parent or a retry are listed with
// why, longest queued first.
func TestHoldsAndWaiting(t *testing.T) {
	s := open(t)
	before := time.Now()
	var first Change
	update(t, s, func(tx Tx) error {
		for i, k := range []string{"p1", "p2"} {
			c := &Change{Change: record.Change{System: "crm", Entity: "contact", Key: k, Op: record.Upsert}, State: Held,
				Note: "waiting for account a" + k}
			if err := tx.Append(c); err != nil {
				return err
			}
			if i == 0 {
				first = *c
			}
		}
		ok := &Change{Change: record.Change{System: "crm", Entity: "account", Key: "a1", Op: record.Upsert}, State: Resolved}
		return tx.Append(ok)
	})
	if first.Logged.Before(before) || first.Logged.After(time.Now()) {
		t.Errorf("Append logged the change at %v; want between %v and now", first.Logged, before)
	}
	t0 := time.Unix(1000, 0).UTC()
	update(t, s, func(tx Tx) error {
		for i, g := range []string{"G1", "G2", "G3"} {
			if err := tx.Enqueue("erp", "contact", g, 1, t0.Add(time.Duration(i)*time.Second)); err != nil {
				return err
			}
		}
		due, err := tx.Due("erp", time.Now(), 0, 10)
		if err != nil {
			return err
		}
		// G1 waits for a parent, G2 for a retry, G3 is due.
		due[0].Wait, due[0].NextAt = "waiting for account GA to reach erp", time.Now().Add(time.Hour)
		due[1].Attempts, due[1].Error, due[1].NextAt = 1, "connection refused", time.Now().Add(time.Hour)
		if err := tx.Defer(due[0]); err != nil {
			return err
		}
		return tx.Defer(due[1])
	})
	err := s.View(context.Background(), func(tx Tx) error {
		holds, err := tx.Holds()
		if err != nil {
			return err
		}
		want := []Holds{{System: "crm", Entity: "contact", N: 2, Oldest: first.Logged.UTC().Truncate(0)}}
		if d := cmp.Diff(want, holds); d != "" {
			t.Errorf("Holds (-want +got):\n%s", d)
		}
		held, err := tx.HeldChanges(10)
		if err != nil || len(held) != 2 || !held[0].Logged.Equal(first.Logged) || held[0].Note != "waiting for account ap1" {
			t.Errorf("HeldChanges = %+v, %v", held, err)
		}
		backlog, err := tx.Backlog()
		if err != nil {
			return err
		}
		if len(backlog) != 1 || backlog[0].N != 3 || backlog[0].Waiting != 2 || backlog[0].Parents != 1 || !backlog[0].OldestParent.Equal(t0) {
			t.Errorf("Backlog = %+v; want 3 queued, 2 waiting, 1 for a parent since %v", backlog, t0)
		}
		waiting, err := tx.Waiting(10)
		if err != nil {
			return err
		}
		var got []string
		for _, o := range waiting {
			got = append(got, o.System+" "+o.GID+" "+o.Wait+"|"+o.Error)
		}
		if d := cmp.Diff([]string{"erp G1 waiting for account GA to reach erp|", "erp G2 |connection refused"}, got); d != "" {
			t.Errorf("Waiting (-want +got):\n%s", d)
		}
		if one, err := tx.Waiting(1); err != nil || len(one) != 1 {
			t.Errorf("Waiting(1) = %+v, %v", one, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// A store made before changes kept when they were logged gains the
// column; its old held changes count with an unknown time.
func TestMigrateChangesLogged(t *testing.T) {
	dir := t.TempDir()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	_, err = db.Exec(`CREATE TABLE changes (seq INTEGER PRIMARY KEY, system TEXT NOT NULL, entity TEXT NOT NULL, key TEXT NOT NULL,
		op INTEGER NOT NULL, fields BLOB, gid TEXT NOT NULL DEFAULT '', version INTEGER NOT NULL DEFAULT 0,
		at INTEGER NOT NULL DEFAULT 0, state INTEGER NOT NULL, note TEXT NOT NULL DEFAULT '');
		INSERT INTO changes(seq, system, entity, key, op, state, note) VALUES (1, 'crm', 'contact', 'p1', 0, 1, 'waiting')`)
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	s, err := OpenSQLite(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	err = s.View(context.Background(), func(tx Tx) error {
		holds, err := tx.Holds()
		if err != nil {
			return err
		}
		if len(holds) != 1 || holds[0].N != 1 || !holds[0].Oldest.IsZero() {
			t.Errorf("Holds of an old store = %+v; want one with an unknown time", holds)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

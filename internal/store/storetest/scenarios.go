package storetest

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tandemhub/tandem/internal/record"
	"github.com/tandemhub/tandem/internal/store"
)

// everything writes one thing in every role, as one resolve step might.
func everything(tx store.Tx) error {
	return errors.Join(
		tx.PutLinkAt("account", "crm", "c1", "G1", t0),
		tx.Bury("account", "crm", "c0", "G0", t0),
		tx.PutAlias("account", "OLD1", "G1"),
		tx.PutNatural("account", "acme@example.com", "G1"),
		tx.PutGolden(&store.Golden{Entity: "account", GID: "G1", Fields: record.Fields{"name": "Acme"}, Ver: 1, Updated: t0}),
		tx.Append(&store.Change{Change: record.Change{System: "crm", Entity: "account", Key: "c1", GID: "G1", Op: record.Upsert}, Logged: t0}),
		tx.Enqueue("erp", "account", "G1", 1, t0),
		tx.AddDead(&store.DeadLetter{Stage: store.StageCapture, System: "crm", Entity: "account", Key: "c9", Error: "bad", At: t0}),
		tx.PutCursor("crm", "changes", "42"),
		tx.AddCount(store.Count{System: "crm", Entity: "account", Captured: 1}),
	)
}

// holdings reads back what everything wrote, one line per role that holds it.
func holdings(t *testing.T, s store.Store) []string {
	t.Helper()
	var out []string
	view(t, s, func(tx store.Tx) error {
		add := func(what string, ok bool, err error) {
			if err != nil {
				t.Errorf("read %s: %v", what, err)
			}
			if ok {
				out = append(out, what)
			}
		}
		_, ok, err := tx.GID("account", "crm", "c1")
		add("link", ok, err)
		_, _, ok, err = tx.Tombstone("account", "crm", "c0")
		add("tombstone", ok, err)
		_, ok, err = tx.Alias("account", "OLD1")
		add("alias", ok, err)
		_, ok, err = tx.Natural("account", "acme@example.com")
		add("natural key", ok, err)
		g, err := tx.Golden("account", "G1")
		add("golden record", g != nil, err)
		h, err := tx.History("account", "G1")
		add("change", len(h) > 0, err)
		due, err := tx.Due("erp", t0.Add(time.Hour), 0, 10)
		add("delivery", len(due) > 0, err)
		dead, err := tx.DeadLetters("", 10)
		add("dead letter", len(dead) > 0, err)
		_, ok, err = tx.Cursor("crm", "changes")
		add("cursor", ok, err)
		counts, err := tx.Counts()
		add("count", len(counts) > 0, err)
		return nil
	})
	return out
}

// A transaction whose function fails leaves nothing behind, in any role;
// one that succeeds leaves all of it.
func testAllOrNothing(t *testing.T, open Opener) {
	s, _ := open(t)
	err := s.Update(context.Background(), func(tx store.Tx) error {
		if err := everything(tx); err != nil {
			return err
		}
		return errRollback
	})
	if !errors.Is(err, errRollback) {
		t.Fatalf("Update returned %v, want the function's error", err)
	}
	if got := holdings(t, s); len(got) != 0 {
		t.Errorf("a transaction that failed left behind: %v", got)
	}
	update(t, s, everything)
	want := []string{"link", "tombstone", "alias", "natural key", "golden record", "change", "delivery", "dead letter", "cursor", "count"}
	if d := cmp.Diff(want, holdings(t, s)); d != "" {
		t.Errorf("a committed transaction kept (-want +got):\n%s", d)
	}
}

// A cursor is kept once its transaction commits, and not before: a
// source handed it back may move on, and the store must still have it
// after a crash and a new start.
func testCursorSurvivesReopen(t *testing.T, open Opener) {
	s, reopen := open(t)
	update(t, s, func(tx store.Tx) error { return tx.PutCursor("crm", "changes", "100") })
	_ = s.Update(context.Background(), func(tx store.Tx) error {
		if err := tx.PutCursor("crm", "changes", "200"); err != nil {
			return err
		}
		return errRollback
	})
	s = reopen()
	view(t, s, func(tx store.Tx) error {
		v, ok, err := tx.Cursor("crm", "changes")
		if err != nil || !ok || v != "100" {
			t.Errorf("after a reopen the cursor is %q (found %v, %v), want the committed 100", v, ok, err)
		}
		return nil
	})
}

// A View cannot write.
func testViewIsReadOnly(t *testing.T, open Opener) {
	s, _ := open(t)
	err := s.View(context.Background(), func(tx store.Tx) error { return everything(tx) })
	if err == nil {
		t.Error("writes in a View succeeded")
	}
	if got := holdings(t, s); len(got) != 0 {
		t.Errorf("a View's writes were kept: %v", got)
	}
}

// A key names one record and a record has one key per system.
func testOneKeyPerRecordPerSystem(t *testing.T, open Opener) {
	s, _ := open(t)
	update(t, s, func(tx store.Tx) error {
		return errors.Join(tx.PutLinkAt("account", "erp", "7", "G1", t0), tx.PutLinkAt("account", "crm", "c1", "G1", t0),
			tx.PutLinkAt("account", "erp", "8", "G1", t0.Add(time.Second)), tx.NewLinkAt("account", "erp", "9", "G2", t0))
	})
	update(t, s, func(tx store.Tx) error { return tx.PutLinkAt("account", "erp", "9", "G3", t0.Add(2*time.Second)) })
	view(t, s, func(tx store.Tx) error {
		links, err := tx.Links("account", "G1")
		if err != nil {
			return err
		}
		if d := cmp.Diff(map[string]string{"crm": "c1", "erp": "8"}, links); d != "" {
			t.Errorf("G1's keys (-want +got):\n%s", d)
		}
		if _, ok, _ := tx.GID("account", "erp", "7"); ok {
			t.Error("erp's key 7 still names a record after G1 got key 8")
		}
		if _, ok, _ := tx.Key("account", "G2", "erp"); ok {
			t.Error("G2 still has erp's key 9, given to G3")
		}
		if gid, _, _ := tx.GID("account", "erp", "9"); gid != "G3" {
			t.Errorf("erp's key 9 names %q, want G3", gid)
		}
		at, ok, err := tx.LinkedAt("account", "erp", "8")
		if err != nil || !ok || !at.Equal(t0.Add(time.Second)) {
			t.Errorf("LinkedAt of erp 8: %v %v %v, want %v", at, ok, err, t0.Add(time.Second))
		}
		keys, err := tx.LinkedKeys("account", "erp")
		slices.Sort(keys)
		if d := cmp.Diff([]string{"8", "9"}, keys); d != "" || err != nil {
			t.Errorf("erp's linked keys (-want +got):\n%s %v", d, err)
		}
		return nil
	})
}

// Unlink forgets a key and keeps a tombstone of it; a key never linked
// leaves none.
func testUnlinkLeavesATombstone(t *testing.T, open Opener) {
	s, _ := open(t)
	update(t, s, func(tx store.Tx) error { return tx.PutLinkAt("account", "erp", "7", "G1", t0) })
	update(t, s, func(tx store.Tx) error {
		return errors.Join(tx.Unlink("account", "erp", "7", t0.Add(time.Minute)), tx.Unlink("account", "erp", "5", t0))
	})
	view(t, s, func(tx store.Tx) error {
		if _, ok, _ := tx.GID("account", "erp", "7"); ok {
			t.Error("an unlinked key still names a record")
		}
		if _, ok, _ := tx.Key("account", "G1", "erp"); ok {
			t.Error("the record still has the unlinked key")
		}
		gid, at, ok, err := tx.Tombstone("account", "erp", "7")
		if err != nil || !ok || gid != "G1" || !at.Equal(t0.Add(time.Minute)) {
			t.Errorf("tombstone of erp 7: %q %v %v %v", gid, at, ok, err)
		}
		if _, _, ok, _ := tx.Tombstone("account", "erp", "5"); ok {
			t.Error("unlinking a key never linked left a tombstone")
		}
		return nil
	})
}

// Inside one transaction every read sees the writes before it, however
// the store holds them back.
func testReadsSeeOwnWrites(t *testing.T, open Opener) {
	s, _ := open(t)
	update(t, s, func(tx store.Tx) error {
		return errors.Join(tx.PutLinkAt("account", "erp", "7", "G1", t0), tx.Enqueue("erp", "account", "G1", 1, t0))
	})
	err := s.Update(context.Background(), func(tx store.Tx) error {
		if err := errors.Join(tx.Preload("account", "erp", []string{"7", "8"}), tx.PutLinkAt("account", "erp", "8", "G1", t0),
			tx.NewLinkAt("account", "crm", "c2", "G2", t0), tx.Enqueue("crm", "account", "G2", 3, t0),
			tx.PutGolden(&store.Golden{Entity: "account", GID: "G2", Fields: record.Fields{"name": "Globex"}, Ver: 3}),
			tx.Append(&store.Change{Change: record.Change{System: "crm", Entity: "account", Key: "c2", GID: "G2"}, State: store.Held})); err != nil {
			return err
		}
		if links, err := tx.Links("account", "G1"); err != nil || links["erp"] != "8" {
			t.Errorf("Links after PutLinkAt in the same transaction: %v %v", links, err)
		}
		if keys, err := tx.LinkedKeys("account", "crm"); err != nil || !slices.Equal(keys, []string{"c2"}) {
			t.Errorf("LinkedKeys after NewLinkAt in the same transaction: %v %v", keys, err)
		}
		if g, err := tx.Golden("account", "G2"); err != nil || g == nil || g.Fields["name"] != "Globex" {
			t.Errorf("Golden after PutGolden in the same transaction: %+v %v", g, err)
		}
		if heads, err := tx.Heads("account", []string{"G2", "G9"}); err != nil || len(heads) != 1 || heads["G2"] != (store.Head{Ver: 3}) {
			t.Errorf("Heads after PutGolden in the same transaction: %v %v", heads, err)
		}
		if page, err := tx.GoldenPage("account", "", 10); err != nil || len(page) != 1 {
			t.Errorf("GoldenPage after PutGolden in the same transaction: %+v %v", page, err)
		}
		if held, err := tx.HeldChanges(10); err != nil || len(held) != 1 {
			t.Errorf("HeldChanges after Append in the same transaction: %+v %v", held, err)
		}
		if d, err := tx.Due("crm", t0, 0, 10); err != nil || len(d) != 1 {
			t.Errorf("Due after Enqueue in the same transaction: %+v %v", d, err)
		}
		o, err := tx.Due("erp", t0, 0, 10)
		if err != nil || len(o) != 1 {
			return errors.Join(err, errors.New("erp's delivery is not due"))
		}
		if err := tx.Done(o[0]); err != nil {
			return err
		}
		if b, err := tx.Backlog(); err != nil || len(b) != 1 || b[0].System != "crm" {
			t.Errorf("Backlog after Done in the same transaction: %+v %v", b, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

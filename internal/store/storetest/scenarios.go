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

func due(t *testing.T, s store.Store, system string, now time.Time, after int64) []store.Outbound {
	t.Helper()
	var out []store.Outbound
	view(t, s, func(tx store.Tx) error {
		var err error
		out, err = tx.Due(system, now, after, 100)
		return err
	})
	return out
}

func gids(os []store.Outbound) []string {
	var out []string
	for _, o := range os {
		out = append(out, o.GID)
	}
	return out
}

// Deliveries come due in the order they were first queued; a newer
// version of a queued record keeps its place; Due pages by position.
func testDueInQueueOrder(t *testing.T, open Opener) {
	s, _ := open(t)
	update(t, s, func(tx store.Tx) error {
		return errors.Join(tx.Enqueue("erp", "account", "A", 1, t0), tx.Enqueue("erp", "account", "B", 2, t0),
			tx.Enqueue("crm", "account", "X", 3, t0), tx.Enqueue("erp", "contact", "C", 4, t0))
	})
	update(t, s, func(tx store.Tx) error { return tx.Enqueue("erp", "account", "A", 5, t0.Add(time.Second)) })
	got := due(t, s, "erp", t0.Add(time.Hour), 0)
	if d := cmp.Diff([]string{"A", "B", "C"}, gids(got)); d != "" {
		t.Fatalf("due to erp (-want +got):\n%s", d)
	}
	if got[0].Ver != 5 || !got[0].Created.Equal(t0) {
		t.Errorf("renewed entry: version %d created %v, want version 5 created %v", got[0].Ver, got[0].Created, t0)
	}
	if d := cmp.Diff([]string{"B", "C"}, gids(due(t, s, "erp", t0.Add(time.Hour), got[0].Seq))); d != "" {
		t.Errorf("due after the first (-want +got):\n%s", d)
	}
}

// Done removes an entry only if it delivered its version or a newer one:
// a change made while the delivery was on its way stays queued.
func testDoneKeepsANewerVersion(t *testing.T, open Opener) {
	s, _ := open(t)
	update(t, s, func(tx store.Tx) error { return tx.Enqueue("erp", "account", "A", 1, t0) })
	o := due(t, s, "erp", t0, 0)[0]
	update(t, s, func(tx store.Tx) error { return tx.Enqueue("erp", "account", "A", 2, t0) })
	update(t, s, func(tx store.Tx) error { return tx.Done(o) })
	left := due(t, s, "erp", t0, 0)
	if len(left) != 1 || left[0].Ver != 2 {
		t.Fatalf("after delivering version 1 of a record at version 2, due: %+v, want version 2", left)
	}
	update(t, s, func(tx store.Tx) error { return tx.Done(left[0]) })
	if left := due(t, s, "erp", t0, 0); len(left) != 0 {
		t.Errorf("after delivering version 2, still due: %+v", left)
	}
	// Done then Touch in one transaction: the entry is gone, and Touch
	// brings nothing back.
	update(t, s, func(tx store.Tx) error { return tx.Enqueue("erp", "account", "B", 3, t0) })
	o = due(t, s, "erp", t0, 0)[0]
	update(t, s, func(tx store.Tx) error { return errors.Join(tx.Done(o), tx.Touch("erp", "account", "B", 4)) })
	if left := due(t, s, "erp", t0, 0); len(left) != 0 {
		t.Errorf("Touch after Done brought back: %+v", left)
	}
}

// Defer postpones an entry with what was learned; a newer version makes
// it due at once again.
func testDeferAndRetry(t *testing.T, open Opener) {
	s, _ := open(t)
	update(t, s, func(tx store.Tx) error { return tx.Enqueue("erp", "account", "A", 1, t0) })
	o := due(t, s, "erp", t0, 0)[0]
	o.Attempts, o.NextAt, o.Error, o.Tried = 2, t0.Add(time.Minute), "timeout", true
	update(t, s, func(tx store.Tx) error { return tx.Defer(o) })
	if got := due(t, s, "erp", t0, 0); len(got) != 0 {
		t.Errorf("a deferred entry is due before its time: %+v", got)
	}
	got := due(t, s, "erp", t0.Add(time.Minute), 0)
	if len(got) != 1 || got[0].Attempts != 2 || got[0].Error != "timeout" || !got[0].Tried {
		t.Fatalf("deferred entry at its time: %+v", got)
	}
	var waiting []store.Outbound
	view(t, s, func(tx store.Tx) error {
		var err error
		waiting, err = tx.Waiting(10)
		return err
	})
	if len(waiting) != 1 || waiting[0].GID != "A" {
		t.Errorf("Waiting: %+v", waiting)
	}
	update(t, s, func(tx store.Tx) error { return tx.Enqueue("erp", "account", "A", 2, t0) })
	got = due(t, s, "erp", t0, 0)
	if len(got) != 1 || got[0].Attempts != 0 || got[0].Error != "" || !got[0].Tried {
		t.Errorf("a newer version of a deferred entry: %+v, want due at once, attempts and error reset, tried kept", got)
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

// Dead letters: ids in order, states, resolving a record's open ones.
func testDeadLetters(t *testing.T, open Opener) {
	s, _ := open(t)
	update(t, s, func(tx store.Tx) error {
		return errors.Join(
			tx.AddDead(&store.DeadLetter{Stage: store.StageCapture, System: "crm", Entity: "account", Key: "c1", Error: "one", At: t0}),
			tx.AddDead(&store.DeadLetter{Stage: store.StageDeliver, System: "erp", Entity: "account", GID: "G1", Error: "two", At: t0}),
			tx.AddDead(&store.DeadLetter{Stage: store.StageCapture, System: "crm", Entity: "account", Key: "c2", Error: "three", At: t0}))
	})
	view(t, s, func(tx store.Tx) error {
		open, err := tx.HasOpenDead(store.StageDeliver)
		if err != nil || !open {
			t.Errorf("HasOpenDead(deliver) = %v, %v", open, err)
		}
		return nil
	})
	update(t, s, func(tx store.Tx) error {
		return errors.Join(tx.ResolveDead(store.StageDeliver, "erp", "account", "G1"), tx.SetDeadState(3, store.DeadDiscarded),
			tx.ResolveDead(store.StageCapture, "crm", "account", "c2"))
	})
	view(t, s, func(tx store.Tx) error {
		all, err := tx.DeadLetters("", 10)
		if err != nil {
			return err
		}
		var states []string
		for i, d := range all {
			if d.ID != int64(i+1) {
				t.Errorf("dead letter %d has id %d", i+1, d.ID)
			}
			states = append(states, string(d.State))
		}
		if d := cmp.Diff([]string{"open", "resolved", "discarded"}, states); d != "" {
			t.Errorf("states (-want +got):\n%s", d)
		}
		if open, _ := tx.HasOpenDead(store.StageDeliver); open {
			t.Error("a resolved delivery dead letter still counts as open")
		}
		if _, err := tx.DeadLetter(99); err == nil {
			t.Error("DeadLetter of an unknown id gave no error")
		}
		return nil
	})
}

// Notes of what was sent live with their queued delivery: the last few,
// the stamp of the answered one, gone with ClearSent.
func testSentNotes(t *testing.T, open Opener) {
	s, _ := open(t)
	update(t, s, func(tx store.Tx) error {
		if err := tx.MarkSent("erp", "account", "G9", record.Fields{"n": int64(1)}, t0); err != nil {
			return err
		}
		if err := tx.Enqueue("erp", "account", "G1", 1, t0); err != nil {
			return err
		}
		for i := range 5 {
			if err := tx.MarkSent("erp", "account", "G1", record.Fields{"n": int64(i)}, t0.Add(time.Duration(i))); err != nil {
				return err
			}
		}
		return tx.MarkAnswered("erp", "account", "G1", 77)
	})
	view(t, s, func(tx store.Tx) error {
		if sent, err := tx.Sent("erp", "account", "G9"); err != nil || len(sent) != 0 {
			t.Errorf("notes kept for a delivery never queued: %+v %v", sent, err)
		}
		sent, err := tx.Sent("erp", "account", "G1")
		if err != nil {
			return err
		}
		var ns []any
		for _, x := range sent {
			ns = append(ns, x.Fields["n"])
		}
		if d := cmp.Diff([]any{int64(2), int64(3), int64(4)}, ns); d != "" {
			t.Errorf("notes kept (-want +got):\n%s", d)
		}
		if len(sent) == 3 && (sent[2].Stamp != 77 || sent[1].Stamp != 0 || !sent[2].At.Equal(t0.Add(4))) {
			t.Errorf("the answered note: %+v", sent)
		}
		return nil
	})
	update(t, s, func(tx store.Tx) error { return tx.ClearSent("erp", "account", "G1") })
	view(t, s, func(tx store.Tx) error {
		if sent, err := tx.Sent("erp", "account", "G1"); err != nil || len(sent) != 0 {
			t.Errorf("notes after ClearSent: %+v %v", sent, err)
		}
		return nil
	})
}

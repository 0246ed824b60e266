package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tandemhub/tandem/internal/record"
	"github.com/tandemhub/tandem/internal/store"
)

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
	// The same version queued again while a delivery of it is on its
	// way (its system's row changed after the write, and the record is
	// to be sent there again): Done of the delivery read before leaves
	// the entry due.
	update(t, s, func(tx store.Tx) error { return tx.Enqueue("erp", "account", "R", 7, t0) })
	o = due(t, s, "erp", t0, 0)[0]
	update(t, s, func(tx store.Tx) error { return tx.Enqueue("erp", "account", "R", 7, t0) })
	update(t, s, func(tx store.Tx) error { return tx.Done(o) })
	if left := due(t, s, "erp", t0, 0); len(left) != 1 || left[0].GID != "R" || left[0].Ver != 7 {
		t.Fatalf("after the delivery read before the record was queued again at the same version, due: %+v", left)
	}
	update(t, s, func(tx store.Tx) error { return tx.Done(due(t, s, "erp", t0, 0)[0]) })

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

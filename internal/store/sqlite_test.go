package store

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tandemhub/tandem/internal/record"
)

func open(t *testing.T) *SQLite {
	t.Helper()
	s, err := OpenSQLite(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func update(t *testing.T, s Store, fn func(Tx) error) {
	t.Helper()
	if err := s.Update(context.Background(), fn); err != nil {
		t.Fatal(err)
	}
}

func TestLinksAndGolden(t *testing.T) {
	s := open(t)
	update(t, s, func(tx Tx) error {
		if err := tx.PutLinkAt("account", "crm", "001", "G1", time.Now()); err != nil {
			return err
		}
		if err := tx.PutLinkAt("account", "erp", "7", "G1", time.Now()); err != nil {
			return err
		}
		// A new key for the same record in the same system replaces the old one.
		if err := tx.PutLinkAt("account", "erp", "8", "G1", time.Now()); err != nil {
			return err
		}
		return tx.PutGolden(&Golden{Entity: "account", GID: "G1", Fields: record.Fields{"name": "Acme", "n": int64(3), "x": 1.5, "ok": true, "nil": nil},
			Sources: map[string]string{"name": "crm"}, Ver: 9, Updated: time.Unix(5, 0)})
	})
	err := s.View(context.Background(), func(tx Tx) error {
		links, err := tx.Links("account", "G1")
		if err != nil {
			return err
		}
		if d := cmp.Diff(map[string]string{"crm": "001", "erp": "8"}, links); d != "" {
			t.Error(d)
		}
		if _, ok, _ := tx.GID("account", "erp", "7"); ok {
			t.Error("stale key 7 still linked")
		}
		g, err := tx.Golden("account", "G1")
		if err != nil {
			return err
		}
		if d := cmp.Diff(record.Fields{"name": "Acme", "n": int64(3), "x": 1.5, "ok": true, "nil": nil}, g.Fields); d != "" {
			t.Error(d)
		}
		if g.Ver != 9 || g.Sources["name"] != "crm" {
			t.Errorf("golden %+v", g)
		}
		missing, err := tx.Golden("account", "nope")
		if missing != nil || err != nil {
			t.Errorf("unknown golden: %v %v", missing, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestOutboundKeepsPositionAndVersion(t *testing.T) {
	s := open(t)
	now := time.Now()
	update(t, s, func(tx Tx) error {
		for _, g := range []string{"A", "B"} {
			if err := tx.Enqueue("crm", "account", g, 1, now); err != nil {
				return err
			}
		}
		return nil
	})
	var due []Outbound
	update(t, s, func(tx Tx) (err error) {
		due, err = tx.Due("crm", now, 0, 10)
		return err
	})
	if len(due) != 2 || due[0].GID != "A" {
		t.Fatalf("due %+v", due)
	}
	// A newer change to A arrives while A is being delivered.
	update(t, s, func(tx Tx) error { return tx.Enqueue("crm", "account", "A", 2, now) })
	update(t, s, func(tx Tx) error {
		if err := tx.Done(due[0]); err != nil { // version 1: must not remove version 2
			return err
		}
		return tx.Done(due[1])
	})
	update(t, s, func(tx Tx) (err error) {
		due, err = tx.Due("crm", now, 0, 10)
		return err
	})
	if len(due) != 1 || due[0].GID != "A" || due[0].Ver != 2 {
		t.Fatalf("want A at version 2 still queued, have %+v", due)
	}
	due[0].Attempts, due[0].NextAt = 1, now.Add(time.Hour)
	update(t, s, func(tx Tx) error { return tx.Defer(due[0]) })
	update(t, s, func(tx Tx) (err error) {
		due, err = tx.Due("crm", now, 0, 10)
		return err
	})
	if len(due) != 0 {
		t.Fatalf("deferred item is due: %+v", due)
	}
}

func TestDeadLetters(t *testing.T) {
	s := open(t)
	d := &DeadLetter{Stage: StageCapture, System: "crm", Entity: "contact", Key: "003", Op: record.Upsert,
		Fields: record.Fields{"Email": "bad"}, Field: "email", Error: "crm contact 003: field \"email\": bad", At: time.Now()}
	update(t, s, func(tx Tx) error { return tx.AddDead(d) })
	update(t, s, func(tx Tx) error { return tx.ResolveDead(StageCapture, "crm", "contact", "003") })
	var got *DeadLetter
	update(t, s, func(tx Tx) (err error) {
		got, err = tx.DeadLetter(d.ID)
		return err
	})
	if got.State != DeadResolved || got.Field != "email" || got.Fields["Email"] != "bad" {
		t.Fatalf("dead letter %+v", got)
	}
}

// The data directory tandem creates and the store's files are the user's
// alone: they hold every record of every system.
func TestStoreIsPrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	s, err := OpenExclusive(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	update(t, s, func(tx Tx) error { return tx.PutCursor("crm", "snapshot", "done") })
	want := map[string]os.FileMode{dir: 0o700 | os.ModeDir}
	for _, name := range []string{FileName, FileName + "-wal", FileName + "-shm", LockFileName} {
		want[filepath.Join(dir, name)] = 0o600
	}
	for path, mode := range want {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != mode {
			t.Errorf("%s: mode %v, want %v", path, fi.Mode(), mode)
		}
	}
}

// MarkSent keeps the last few writes of a queued delivery, in a
// transaction of their own or beside an Enqueue not yet flushed, and
// they go with the delivery once it is done.
func TestMarkSentKeepsTheLastWritesOfAQueuedDelivery(t *testing.T) {
	s := open(t)
	now := time.Now()
	update(t, s, func(tx Tx) error {
		if err := tx.Enqueue("crm", "account", "A", 1, now); err != nil {
			return err
		}
		return tx.MarkSent("crm", "account", "A", record.Fields{"name": "v1", "score": int64(1)}, now)
	})
	for i := 2; i <= 4; i++ {
		update(t, s, func(tx Tx) error {
			return tx.MarkSent("crm", "account", "A", record.Fields{"name": fmt.Sprintf("v%d", i), "score": int64(i)}, now.Add(time.Duration(i)*time.Second))
		})
	}
	var sent []Sent
	update(t, s, func(tx Tx) (err error) {
		sent, err = tx.Sent("crm", "account", "A")
		return err
	})
	if len(sent) != 3 || sent[0].Fields["name"] != "v2" || sent[2].Fields["name"] != "v4" ||
		!record.Equal(sent[2].Fields["score"], int64(4)) || !sent[2].At.Equal(now.Add(4*time.Second)) {
		t.Fatalf("sent %v; want v2, v3, v4 with their times", sent)
	}
	// The system answers the last write with its version: that write
	// carries it from then on, the earlier ones none.
	update(t, s, func(tx Tx) error { return tx.MarkAnswered("crm", "account", "A", 77) })
	update(t, s, func(tx Tx) (err error) {
		sent, err = tx.Sent("crm", "account", "A")
		return err
	})
	if len(sent) != 3 || sent[2].Stamp != 77 || sent[1].Stamp != 0 || sent[2].Fields["name"] != "v4" {
		t.Fatalf("sent %v after MarkAnswered; want v4 stamped 77, the others not", sent)
	}
	// The write is answered while a newer version is queued: the
	// delivery stays, its writes in flight are forgotten.
	update(t, s, func(tx Tx) error { return tx.Enqueue("crm", "account", "A", 2, now) })
	update(t, s, func(tx Tx) error { return tx.ClearSent("crm", "account", "A") })
	update(t, s, func(tx Tx) (err error) {
		sent, err = tx.Sent("crm", "account", "A")
		return err
	})
	if len(sent) != 0 {
		t.Errorf("sent %v after ClearSent; want none", sent)
	}
	update(t, s, func(tx Tx) error {
		return tx.MarkSent("crm", "account", "A", record.Fields{"name": "v5"}, now)
	})
	var due []Outbound
	update(t, s, func(tx Tx) (err error) {
		due, err = tx.Due("crm", now, 0, 10)
		return err
	})
	update(t, s, func(tx Tx) error { return tx.Done(due[0]) })
	update(t, s, func(tx Tx) (err error) {
		sent, err = tx.Sent("crm", "account", "A")
		return err
	})
	if len(sent) != 0 {
		t.Errorf("sent %v after the delivery was done; want none", sent)
	}
}

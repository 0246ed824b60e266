package store

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tandemhub/tandem/internal/record"
)

// A transaction reads its own buffered writes, and they reach the file
// only when it commits.
func TestTransactionSeesItsOwnWrites(t *testing.T) {
	s := open(t)
	ctx := context.Background()
	now := time.Unix(1700000000, 0)
	update(t, s, func(tx Tx) error {
		if err := tx.Preload("account", "crm", []string{"c1", "c2"}); err != nil {
			return err
		}
		if gid, ok, err := tx.GID("account", "crm", "c1"); err != nil || ok {
			t.Fatalf("GID of an unknown key = %q, %v, %v", gid, ok, err)
		}
		if err := tx.NewLinkAt("account", "crm", "c1", "G1", time.Now()); err != nil {
			return err
		}
		if err := tx.PutGolden(&Golden{Entity: "account", GID: "G1", Fields: record.Fields{"name": "Acme"}, Ver: 1}); err != nil {
			return err
		}
		c := &Change{Change: record.Change{System: "crm", Entity: "account", Key: "c1", Op: record.Upsert}, State: Held}
		if err := tx.Append(c); err != nil {
			return err
		}
		if c.Seq == 0 {
			t.Fatal("Append gave no seq")
		}
		if gid, ok, _ := tx.GID("account", "crm", "c1"); !ok || gid != "G1" {
			t.Fatalf("GID after NewLink = %q, %v", gid, ok)
		}
		if k, ok, _ := tx.Key("account", "G1", "crm"); !ok || k != "c1" {
			t.Fatalf("Key after NewLink = %q, %v", k, ok)
		}
		g, err := tx.Golden("account", "G1")
		if err != nil || g == nil || g.Fields["name"] != "Acme" {
			t.Fatalf("Golden after PutGolden = %+v, %v", g, err)
		}
		g.Fields = record.Fields{"name": "changed without PutGolden"}
		if again, _ := tx.Golden("account", "G1"); again.Fields["name"] != "Acme" {
			t.Fatalf("editing a read golden record changed the store: %v", again.Fields)
		}
		held, err := tx.HeldChanges(10)
		if err != nil || len(held) != 1 || held[0].Seq != c.Seq {
			t.Fatalf("HeldChanges = %+v, %v", held, err)
		}
		if err := tx.SetState(c.Seq, Resolved, ""); err != nil {
			return err
		}
		// Relink c1's record under a new key: the old key must come loose.
		if err := tx.PutLinkAt("account", "crm", "c2", "G1", time.Now()); err != nil {
			return err
		}
		if _, ok, _ := tx.GID("account", "crm", "c1"); ok {
			t.Fatal("old key still linked after PutLink of a new key")
		}
		if err := tx.Enqueue("erp", "account", "G1", 1, now); err != nil {
			return err
		}
		if err := tx.Touch("erp", "account", "G1", 2); err != nil {
			return err
		}
		due, err := tx.Due("erp", now, 0, 10)
		if err != nil || len(due) != 1 || due[0].Ver != 2 {
			t.Fatalf("Due after Enqueue and Touch = %+v, %v", due, err)
		}
		return nil
	})
	err := s.View(ctx, func(tx Tx) error {
		if k, ok, _ := tx.Key("account", "G1", "crm"); !ok || k != "c2" {
			t.Errorf("committed link = %q, %v; want c2", k, ok)
		}
		if g, _ := tx.Golden("account", "G1"); g == nil || g.Ver != 1 {
			t.Errorf("committed golden = %+v", g)
		}
		if held, _ := tx.HeldChanges(10); len(held) != 0 {
			t.Errorf("held after SetState = %+v", held)
		}
		hist, err := tx.History("account", "")
		if err != nil || len(hist) != 1 || hist[0].State != Resolved {
			t.Errorf("history = %+v, %v", hist, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// A failed transaction leaves nothing behind, buffered writes included.
func TestFailedTransactionWritesNothing(t *testing.T) {
	s := open(t)
	ctx := context.Background()
	boom := errors.New("boom")
	err := s.Update(ctx, func(tx Tx) error {
		if err := tx.PutGolden(&Golden{Entity: "account", GID: "G9", Ver: 1}); err != nil {
			return err
		}
		if err := tx.Append(&Change{Change: record.Change{System: "crm", Entity: "account", Key: "k"}}); err != nil {
			return err
		}
		if err := tx.Enqueue("erp", "account", "G9", 1, time.Now()); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Update = %v, want boom", err)
	}
	err = s.View(ctx, func(tx Tx) error {
		if g, _ := tx.Golden("account", "G9"); g != nil {
			t.Errorf("golden record of a failed transaction: %+v", g)
		}
		if due, _ := tx.Due("erp", time.Now(), 0, 10); len(due) != 0 {
			t.Errorf("outbound of a failed transaction: %+v", due)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

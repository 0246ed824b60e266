package e2e

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/tandemhub/tandem/internal/store"
)

// TestRecordsThatExistBeforeTandemStayTheSameRecords: rows inserted
// after capture was installed but before the hub first ran are read by
// the initial snapshot and then again, as inserts, from the outbox. The
// insert of a row tandem already linked is no news: no record is taken
// as deleted and made anew (which deleted and re-created every such row
// in the other systems, and could leave a system holding one twice).
func TestRecordsThatExistBeforeTandemStayTheSameRecords(t *testing.T) {
	t.Parallel()
	e := newEnv(t, configOptions{})
	ctx := context.Background()
	seed := []struct{ sys, name, email, country string }{
		{catalogue, "Shared Corp", "shared@pre.example", "US"},
		{crm, "Shared Corporation", "shared@pre.example", "US"},
		{accounting, "Shared Co", "shared@pre.example", "US"},
		{catalogue, "Cat One", "cat1@pre.example", "DE"},
		{accounting, "Acc One", "acc1@pre.example", "FR"},
		{crm, "Crm One", "crm1@pre.example", "GB"},
	}
	for _, s := range seed {
		if _, err := e.sys[s.sys].createAccount(ctx, e.sys[s.sys].db, s.name, s.email, s.country); err != nil {
			t.Fatal(err)
		}
	}
	e.startHub()
	e.drain(60 * time.Second)
	hs := e.agree(30 * time.Second)
	for _, s := range systemNames {
		if n := len(hs[s].accounts); n != 4 {
			t.Errorf("%s holds %d accounts, want 4: %v", s, n, hs[s].accounts)
		}
	}
	e.noDeadLetters()

	st, err := store.OpenSQLite(ctx, filepath.Join(e.dir, "store"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var live, deleted int
	err = st.View(ctx, func(tx store.Tx) error {
		for _, s := range systemNames {
			for _, a := range hs[s].accounts {
				gid, ok, err := tx.GID("account", s, a.Key)
				if err != nil {
					return err
				}
				if !ok {
					t.Errorf("%s account %s (%s) is not linked", s, a.Key, a.Email)
					continue
				}
				g, err := tx.Golden("account", gid)
				if err != nil {
					return err
				}
				if g == nil || g.Deleted {
					deleted++
				} else {
					live++
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var gone int
	err = st.View(ctx, func(tx store.Tx) error {
		for _, s := range systemNames {
			for _, a := range hs[s].accounts {
				if _, _, ok, err := tx.Tombstone("account", s, a.Key); err != nil {
					return err
				} else if ok {
					t.Errorf("%s account %s (%s) was taken as deleted from it once", s, a.Key, a.Email)
					gone++
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if deleted > 0 || gone > 0 {
		t.Errorf("%d linked accounts have deleted golden records, %d keys have tombstones; no user deleted any", deleted, gone)
	}
}

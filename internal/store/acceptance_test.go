package store_test

import (
	"context"
	"testing"

	"github.com/tandemhub/tandem/internal/store"
	"github.com/tandemhub/tandem/internal/store/storetest"
)

// The SQLite store passes the store's acceptance suite, reopened from its
// file as a new hub would.
func TestSQLiteAcceptance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) (store.Store, func() store.Store) {
		dir := t.TempDir()
		open := func() store.Store {
			s, err := store.OpenSQLite(context.Background(), dir)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		}
		s := open()
		return s, func() store.Store {
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			return open()
		}
	})
}

package store

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// withUmask runs the rest of the test under umask, restoring the old one
// after. The umask is the process's: tests using it must not be parallel.
func withUmask(t *testing.T, umask int) {
	old := syscall.Umask(umask)
	t.Cleanup(func() { syscall.Umask(old) })
}

// checkPrivate fails unless the data directory is 0700 and each of its
// store files 0600.
func checkPrivate(t *testing.T, dir string) {
	t.Helper()
	want := map[string]os.FileMode{dir: 0o700 | os.ModeDir}
	for _, name := range []string{FileName, FileName + "-wal", FileName + "-shm", LockFileName} {
		want[filepath.Join(dir, name)] = 0o600
	}
	for path, mode := range want {
		fi, err := os.Stat(path)
		if err != nil {
			t.Error(err)
			continue
		}
		if fi.Mode() != mode {
			t.Errorf("%s: mode %v, want %v", path, fi.Mode(), mode)
		}
	}
}

// The data directory and every store file in it (the database, SQLite's
// WAL and shared memory, the lock) are the user's alone whatever the
// umask, and those an earlier tandem, a restore or a user left readable
// by others are made private at open.
func TestStoreFilesArePrivateWhateverTheUmask(t *testing.T) {
	for _, tc := range []struct {
		name  string
		umask int
		// before readies the data directory before the hub opens it.
		before func(t *testing.T, dir string)
	}{
		{"a new directory, umask 022", 0o022, func(*testing.T, string) {}},
		{"a new directory, umask 000", 0o000, func(*testing.T, string) {}},
		{"an existing directory and store readable by all, umask 022", 0o022, func(t *testing.T, dir string) {
			s, err := OpenExclusive(context.Background(), dir)
			if err != nil {
				t.Fatal(err)
			}
			update(t, s, func(tx Tx) error { return tx.PutCursor("crm", "snapshot", "done") })
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			chmod(t, dir, 0o755)
			chmod(t, filepath.Join(dir, FileName), 0o644)
			chmod(t, filepath.Join(dir, LockFileName), 0o666)
		}},
		{"a directory made by another program, umask 000", 0o000, func(t *testing.T, dir string) {
			if err := os.Mkdir(dir, 0o777); err != nil {
				t.Fatal(err)
			}
			chmod(t, dir, 0o777)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			withUmask(t, tc.umask)
			dir := filepath.Join(t.TempDir(), "data")
			tc.before(t, dir)
			s, err := OpenExclusive(context.Background(), dir)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			update(t, s, func(tx Tx) error { return tx.PutCursor("crm", "snapshot", "again") })
			checkPrivate(t, dir)
		})
	}
}

// SQLite's WAL and shared-memory files, left readable by others while a
// hub has the store open, are made private by the next open beside it.
func TestOpenBesideTheHubMakesWALPrivate(t *testing.T) {
	withUmask(t, 0o022)
	dir := filepath.Join(t.TempDir(), "data")
	hub, err := OpenExclusive(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer hub.Close()
	update(t, hub, func(tx Tx) error { return tx.PutCursor("crm", "snapshot", "done") })
	for _, name := range []string{FileName + "-wal", FileName + "-shm"} {
		chmod(t, filepath.Join(dir, name), 0o644)
	}
	s, err := OpenSQLite(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	checkPrivate(t, dir)
}

func chmod(t *testing.T, path string, mode os.FileMode) {
	t.Helper()
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

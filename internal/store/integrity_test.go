package store

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tandemhub/tandem/internal/record"
)

// filledStore makes a store in a new data directory holding enough golden
// records to span many pages, closes it and returns the directory.
func filledStore(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "data")
	s, err := OpenExclusive(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	update(t, s, func(tx Tx) error {
		for i := range 2000 {
			g := &Golden{Entity: "account", GID: fmt.Sprintf("G%05d", i), Ver: 1, Updated: time.Unix(5, 0),
				Fields:  record.Fields{"name": strings.Repeat(fmt.Sprintf("Company %d ", i), 8)},
				Sources: map[string]string{"name": "crm"}}
			if err := tx.PutGolden(g); err != nil {
				return err
			}
		}
		return nil
	})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

// leafPage returns the number and size of a leaf page in the middle of
// table's b-tree, read with SQLite's own page statistics.
func leafPage(t *testing.T, path, table string) (pageno, size int64) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int64
	if err := db.QueryRow(`SELECT count(*) FROM dbstat WHERE name = ? AND pagetype = 'leaf'`, table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n < 10 {
		t.Fatalf("table %s has %d leaf pages; want a table spanning many", table, n)
	}
	if err := db.QueryRow(`SELECT pageno FROM dbstat WHERE name = ? AND pagetype = 'leaf' ORDER BY pageno LIMIT 1 OFFSET ?`,
		table, n/2).Scan(&pageno); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(`PRAGMA page_size`).Scan(&size); err != nil {
		t.Fatal(err)
	}
	return pageno, size
}

// overwrite writes b at offset off of the file at path, which must be
// at least that long: the file is damaged, not cut.
func overwrite(t *testing.T, path string, off int64, b []byte) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if off+int64(len(b)) > fi.Size() {
		t.Fatalf("%s is %d bytes; cannot damage bytes %d to %d inside it", path, fi.Size(), off, off+int64(len(b)))
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// A store whose pages are damaged is refused at open, by the hub and by
// the commands beside it, naming the file, what SQLite found and what to
// do; it is not opened to fail every write later.
func TestDamagedStoreIsRefused(t *testing.T) {
	for _, tc := range []struct {
		name   string
		damage func(t *testing.T, path string)
		said   string // part of what SQLite says
	}{
		{"a page of golden records", func(t *testing.T, path string) {
			pageno, size := leafPage(t, path, "golden")
			overwrite(t, path, (pageno-1)*size+size/4, bytes.Repeat([]byte{0xA5}, int(size/2)))
		}, "page"},
		{"a page header of golden records", func(t *testing.T, path string) {
			pageno, size := leafPage(t, path, "golden")
			overwrite(t, path, (pageno-1)*size, bytes.Repeat([]byte{0xFF}, 64))
		}, "page"},
		{"the file header", func(t *testing.T, path string) {
			overwrite(t, path, 0, []byte("not a database!!"))
		}, "not a database"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filledStore(t)
			path := filepath.Join(dir, FileName)
			tc.damage(t, path)
			for name, open := range map[string]func(context.Context, string) (*SQLite, error){
				"OpenExclusive": OpenExclusive, "OpenSQLite": OpenSQLite,
			} {
				s, err := open(context.Background(), dir)
				if err == nil {
					s.Close()
					t.Fatalf("%s opened a store with %s damaged", name, tc.name)
				}
				msg := err.Error()
				t.Logf("%s refuses: %s", name, msg)
				if !errors.Is(err, ErrDamaged) {
					t.Errorf("%s: %v does not match ErrDamaged", name, err)
				}
				for _, want := range []string{path, tc.said, "restore the data directory", "move it aside"} {
					if !strings.Contains(msg, want) {
						t.Errorf("%s: error does not say %q:\n%s", name, want, msg)
					}
				}
				if strings.Contains(msg, "\n") {
					t.Errorf("%s: error is more than one line:\n%s", name, msg)
				}
			}
			// Refusing leaves the lock free for the next try.
			l, err := LockDir(dir)
			if err != nil {
				t.Fatalf("lock after a refused open: %v", err)
			}
			l.Close()
		})
	}
}

// A healthy store with data still opens, and keeps its data.
func TestHealthyStoreOpens(t *testing.T) {
	dir := filledStore(t)
	s, err := OpenExclusive(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	err = s.View(context.Background(), func(tx Tx) error {
		g, err := tx.Golden("account", "G01999")
		if err != nil {
			return err
		}
		if g == nil || !strings.HasPrefix(fmt.Sprint(g.Fields["name"]), "Company 1999 ") {
			return fmt.Errorf("golden G01999 is %+v", g)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// A store damaged while it is open fails its reads and writes with a
// *DamagedError, which says what to do: retrying cannot help.
func TestStoreDamagedWhileOpenSaysSo(t *testing.T) {
	dir := filledStore(t)
	path := filepath.Join(dir, FileName)
	s, err := OpenSQLite(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	pageno, size := leafPage(t, path, "golden")
	overwrite(t, path, (pageno-1)*size, bytes.Repeat([]byte{0xFF}, int(size)))
	// The readers' pool has read no page yet: the first read finds the damage.
	err = s.View(context.Background(), func(tx Tx) error {
		for i := range 2000 {
			if _, err := tx.Golden("account", fmt.Sprintf("G%05d", i)); err != nil {
				return err
			}
		}
		return nil
	})
	if !errors.Is(err, ErrDamaged) || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "restore the data directory") {
		t.Fatalf("reading a damaged store: %v, want a *DamagedError naming %s", err, path)
	}
	select {
	case got := <-s.Damaged():
		if !errors.Is(got, ErrDamaged) {
			t.Errorf("Damaged delivered %v", got)
		}
	default:
		t.Error("Damaged delivered nothing after a read found the damage")
	}
}

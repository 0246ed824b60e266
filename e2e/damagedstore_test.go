package e2e

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tandemhub/tandem/internal/testenv"
)

// A store whose pages were damaged while the hub was stopped (a disk
// fault, a bad restore) is refused: `tandem status` exits 2 (it cannot
// tell) and `tandem run` exits non-zero at once, each naming the store
// file and saying what to do, instead of the hub retrying writes that
// cannot succeed while status looks healthy.
func TestDamagedStoreIsRefused(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	paths := map[string]string{"notes_a": testenv.SQLite(t), "notes_b": testenv.SQLite(t)}
	dbs := map[string]*sql.DB{}
	for name, p := range paths {
		db := openDB(t, "sqlite", "file:"+p+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)")
		db.SetMaxOpenConns(1)
		if _, err := db.ExecContext(ctx, `CREATE TABLE notes (id TEXT PRIMARY KEY, body TEXT)`); err != nil {
			t.Fatal(err)
		}
		dbs[name] = db
	}
	e := &env{t: t, dir: t.TempDir()}
	e.cfg = filepath.Join(e.dir, "tandem.yaml")
	if err := os.WriteFile(e.cfg, []byte(fmt.Sprintf(lockConfig, paths["notes_a"], paths["notes_b"])), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := e.tandem("setup"); err != nil {
		t.Fatalf("tandem setup: %v\n%s", err, out)
	}
	h := e.startHub()
	const notes = 1500
	if _, err := dbs["notes_a"].ExecContext(ctx, `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < ?)
		INSERT INTO notes (id, body) SELECT 'n' || i, 'note ' || i FROM n`, notes); err != nil {
		t.Fatal(err)
	}
	e.eventually(60*time.Second, "every note reaches notes_b", func() error {
		var n int
		if err := dbs["notes_b"].QueryRowContext(ctx, `SELECT count(*) FROM notes`).Scan(&n); err != nil {
			return err
		}
		if n != notes {
			return fmt.Errorf("notes_b holds %d notes of %d", n, notes)
		}
		return nil
	})
	h.stop()
	if h.err != nil {
		t.Fatalf("the hub stopped with %v", h.err)
	}

	store := filepath.Join(e.dir, "store", "tandem.db")
	damagePage(t, store)
	hint := "restore the data directory " + filepath.Dir(store) + " from a backup, or move it aside"
	_, stderr, code, err := runStatus(e.dir, "status", "-c", e.cfg)
	if err != nil {
		t.Fatal(err)
	}
	if code != 2 || !strings.Contains(stderr, store+" is damaged") || !strings.Contains(stderr, hint) {
		t.Errorf("tandem status on a damaged store: exit %d, want 2 (the store cannot be read) naming %s and saying what to do:\n%s", code, store, stderr)
	}
	out, err := runTandemWithin(30*time.Second, e.dir, "run", "-c", e.cfg)
	if err == nil || !strings.Contains(out, store+" is damaged") || !strings.Contains(out, hint) {
		t.Errorf("tandem run on a damaged store: %v, want it to exit non-zero naming %s and saying what to do:\n%s", err, store, tail(out, 30))
	}
}

// damagePage overwrites a leaf page in the middle of the store's largest
// table, inside the file: the file keeps its length.
func damagePage(t *testing.T, path string) {
	t.Helper()
	db := openDB(t, "sqlite", "file:"+path+"?mode=ro")
	var table string
	var pageno, size, leaves int64
	if err := db.QueryRow(`SELECT name, count(*) FROM dbstat WHERE pagetype = 'leaf' GROUP BY name ORDER BY count(*) DESC LIMIT 1`).
		Scan(&table, &leaves); err != nil {
		t.Fatal(err)
	}
	if leaves < 4 {
		t.Fatalf("the store's largest table, %s, has %d leaf pages; want one spanning many", table, leaves)
	}
	if err := db.QueryRow(`SELECT pageno FROM dbstat WHERE name = ? AND pagetype = 'leaf' ORDER BY pageno LIMIT 1 OFFSET ?`,
		table, leaves/2).Scan(&pageno); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(`PRAGMA page_size`).Scan(&size); err != nil {
		t.Fatal(err)
	}
	db.Close()
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(bytes.Repeat([]byte{0xA5}, int(size)), (pageno-1)*size); err != nil {
		t.Fatal(err)
	}
	t.Logf("overwrote page %d, one of the %d leaf pages of table %s", pageno, leaves, table)
}

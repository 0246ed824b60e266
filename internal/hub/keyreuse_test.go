package hub_test

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"tandem/internal/admin"
	"tandem/internal/config"
	"tandem/internal/connector/memory"
	"tandem/internal/connector/registry"
	"tandem/internal/hub"
	"tandem/internal/record"
	"tandem/internal/store"
)

// keyReuseYAML: a SQLite table whose keys are rowids (SQLite gives a
// freed one to the next row) exchanges accounts with b. Accounts have no
// natural key: only the capture can tell a new row from an old one.
const keyReuseYAML = `version: 1
store: {dir: %q}
systems:
  a: {type: sqlite, dsn: %q, poll: 10ms}
  b: {type: sqlite, dsn: unused, poll: 10ms}
delivery: {attempts: 3, backoff: 5ms, max_backoff: 20ms}
entities:
  account:
    schema: {type: object, properties: {name: {type: string}}}
mappings:
  a:
    account: {table: accounts, key_generated: true, fields: {name: name}}
  b:
    account: {table: Account, key_generated: true, fields: {name: Name}}
routes:
  - {entity: account, between: [a, b]}
`

// A row the SQL system's users delete, and a new row they insert under
// the same key, are a delete and a new record: the deleted record stays
// deleted everywhere and the new one arrives everywhere, however close
// together the two happen and whether the key comes from the database or
// the user.
func TestKeyReusedBySQLUsersIsANewRecord(t *testing.T) {
	for _, tc := range []struct {
		name     string
		together bool   // the delete and the insert in one transaction
		insert   string // the user's insert of the new row
	}{
		{"rowid reused in one transaction", true, `INSERT INTO accounts (name) VALUES ('New')`},
		{"rowid reused after the delete is in", false, `INSERT INTO accounts (name) VALUES ('New')`},
		{"key given again after the delete is in", false, `INSERT INTO accounts (id, name) VALUES (1, 'New')`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			file := filepath.Join(dir, "a.db")
			db, err := sql.Open("sqlite", "file:"+file+"?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			if _, err := db.Exec(`CREATE TABLE accounts (id INTEGER PRIMARY KEY, name TEXT)`); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, "tandem.yaml")
			if err := os.WriteFile(path, []byte(fmt.Sprintf(keyReuseYAML, filepath.Join(dir, "store"), file)), 0o600); err != nil {
				t.Fatal(err)
			}
			cfg, err := config.Load(path)
			if err != nil {
				t.Fatal(err)
			}
			model, err := hub.Compile(cfg)
			if err != nil {
				t.Fatal(err)
			}
			b := memory.New("b", model.Tables("b"))
			log := slog.New(slog.NewTextHandler(io.Discard, nil))
			if testing.Verbose() {
				log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
			}
			h, err := hub.Open(context.Background(), cfg, log, hub.Options{Systems: map[string]registry.System{"b": b}})
			if err != nil {
				t.Fatal(err)
			}
			if err := h.Setup(context.Background()); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { defer close(done); _ = h.Run(ctx) }()
			t.Cleanup(func() { cancel(); <-done; _ = h.Close(context.Background()) })
			<-h.Ready()

			aRows := func() map[int64]string {
				t.Helper()
				rs, err := db.Query(`SELECT id, name FROM accounts`)
				if err != nil {
					t.Fatal(err)
				}
				defer rs.Close()
				out := map[int64]string{}
				for rs.Next() {
					var id int64
					var name string
					if err := rs.Scan(&id, &name); err != nil {
						t.Fatal(err)
					}
					out[id] = name
				}
				return out
			}
			bNames := func() map[string]string {
				out := map[string]string{}
				for k, f := range b.Rows("account") {
					out[k] = fmt.Sprint(f["Name"])
				}
				return out
			}
			until := func(what string, ok func() bool) {
				t.Helper()
				for deadline := time.Now().Add(20 * time.Second); !ok(); time.Sleep(10 * time.Millisecond) {
					if time.Now().After(deadline) {
						t.Fatalf("%s: not within 20s; a holds %v, b holds %v", what, aRows(), bNames())
					}
				}
			}
			gidOf := func(system, key string) string {
				t.Helper()
				var gid string
				err := h.Store().View(context.Background(), func(tx store.Tx) error {
					var err error
					gid, _, err = tx.GID("account", system, key)
					return err
				})
				if err != nil {
					t.Fatal(err)
				}
				return gid
			}

			// b's user makes an account; tandem makes it in a, as row 1.
			b.Put("account", "B1", record.Fields{"Name": "Old"})
			until("the account reaches a, linked", func() bool { r := aRows(); return len(r) == 1 && r[1] == "Old" && gidOf("a", "1") != "" })
			old := gidOf("a", "1")
			if old != gidOf("b", "B1") {
				t.Fatalf("a's row 1 is linked to %q, b's B1 to %q: want one record", old, gidOf("b", "B1"))
			}

			// a's user deletes it and inserts a new account, which gets
			// the key 1 again.
			if tc.together {
				tx, err := db.Begin()
				if err != nil {
					t.Fatal(err)
				}
				for _, q := range []string{`DELETE FROM accounts WHERE id = 1`, tc.insert} {
					if _, err := tx.Exec(q); err != nil {
						t.Fatal(err)
					}
				}
				if err := tx.Commit(); err != nil {
					t.Fatal(err)
				}
			} else {
				if _, err := db.Exec(`DELETE FROM accounts WHERE id = 1`); err != nil {
					t.Fatal(err)
				}
				until("the delete reaches b", func() bool { return len(b.Rows("account")) == 0 })
				if _, err := db.Exec(tc.insert); err != nil {
					t.Fatal(err)
				}
			}
			if r := aRows(); r[1] != "New" {
				t.Fatalf("a's new row did not get the key 1: %v", r)
			}
			until("the new account reaches b, and the old one is gone from it", func() bool {
				n := bNames()
				_, oldThere := n["B1"]
				return len(n) == 1 && !oldThere && containsValue(n, "New")
			})
			// Nothing undoes it: everything is delivered, a keeps its row.
			until("nothing is pending", func() bool {
				rows, err := admin.Status(context.Background(), h.Store(), time.Now())
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range rows {
					if r.Pending > 0 {
						return false
					}
				}
				return true
			})
			if r := aRows(); len(r) != 1 || r[1] != "New" {
				t.Errorf("a holds %v, want its user's new row 1 New", r)
			}
			fresh := gidOf("a", "1")
			if fresh == "" || fresh == old {
				t.Errorf("a's new row 1 is linked to %q, want a new record (the deleted one is %s)", fresh, old)
			}
			var g *store.Golden
			if err := h.Store().View(context.Background(), func(tx store.Tx) error {
				var err error
				g, err = tx.Golden("account", old)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			if g == nil || !g.Deleted {
				t.Errorf("the deleted record is %+v, want it deleted", g)
			}
			ds, err := admin.DeadLetters(context.Background(), h.Store(), store.DeadOpen, 100)
			if err != nil {
				t.Fatal(err)
			}
			if len(ds) > 0 {
				t.Errorf("dead letters: %+v", ds)
			}
		})
	}
}

func containsValue(m map[string]string, v string) bool {
	for _, x := range m {
		if x == v {
			return true
		}
	}
	return false
}

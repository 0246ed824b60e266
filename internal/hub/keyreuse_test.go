package hub_test

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/tandemhub/tandem/internal/admin"
	"github.com/tandemhub/tandem/internal/config"
	"github.com/tandemhub/tandem/internal/connector/memory"
	"github.com/tandemhub/tandem/internal/connector/registry"
	"github.com/tandemhub/tandem/internal/connector/sqlite"
	"github.com/tandemhub/tandem/internal/hub"
	"github.com/tandemhub/tandem/internal/record"
	"github.com/tandemhub/tandem/internal/store"
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
			db, cfg, model, log := keyReuseSetup(t)
			b := memory.New("b", model.Tables("b"))
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
				if err := rs.Err(); err != nil {
					t.Fatal(err)
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

// keyReuseSetup makes the SQLite database of keyReuseYAML's system a,
// with its accounts table, and loads and compiles the configuration.
// The log is the test's in verbose mode.
func keyReuseSetup(t *testing.T) (*sql.DB, *config.Config, *hub.Model, *slog.Logger) {
	t.Helper()
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
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return db, cfg, model, log
}

func containsValue(m map[string]string, v string) bool {
	for _, x := range m {
		if x == v {
			return true
		}
	}
	return false
}

// racingSQL is a SQLite system whose users, the moment tandem's first
// create there is answered, delete the new row and insert one of their
// own that gets the same rowid; with captureFirst, tandem captures their
// row before it hears the answer to its create.
type racingSQL struct {
	registry.System
	db           *sql.DB
	captureFirst bool
	linked       func(key string) bool
	once         sync.Once
	raced        chan string
}

func (s *racingSQL) Apply(ctx context.Context, entity string, ws []record.Write) ([]record.Result, error) {
	res, err := s.System.Apply(ctx, entity, ws)
	if err != nil || len(res) != 1 || res[0].Err != nil || ws[0].Key != "" {
		return res, err
	}
	s.once.Do(func() {
		k := res[0].Key
		tx, err := s.db.Begin()
		if err == nil {
			_, err = tx.Exec(`DELETE FROM accounts WHERE id = ?`, k)
			if err == nil {
				_, err = tx.Exec(`INSERT INTO accounts (name) VALUES ('Theirs')`)
			}
			if err == nil {
				err = tx.Commit()
			} else {
				_ = tx.Rollback()
			}
		}
		if err != nil {
			k = "failed: " + err.Error()
		}
		for deadline := time.Now().Add(10 * time.Second); s.captureFirst && err == nil && !s.linked(k) && time.Now().Before(deadline); {
			time.Sleep(5 * time.Millisecond)
		}
		s.raced <- k
	})
	return res, err
}

// A row tandem made, which the SQL system's users delete before tandem
// has linked its key, and a row of theirs that gets the same key: the
// record tandem made is deleted everywhere, and theirs arrives
// everywhere, whichever tandem hears first: its create's answer or
// their rows.
func TestKeyReusedBeforeTandemLinksIt(t *testing.T) {
	for _, captureFirst := range []bool{false, true} {
		t.Run(fmt.Sprintf("capture first %v", captureFirst), func(t *testing.T) {
			db, cfg, model, log := keyReuseSetup(t)
			inner, err := sqlite.New(context.Background(), "a", cfg.Systems["a"], model.Tables("a"), log)
			if err != nil {
				t.Fatal(err)
			}
			var h *hub.Hub
			a := &racingSQL{System: inner, db: db, captureFirst: captureFirst, raced: make(chan string, 1)}
			b := memory.New("b", model.Tables("b"))
			gidOf := func(system, key string) string {
				var gid string
				_ = h.Store().View(context.Background(), func(tx store.Tx) error {
					var err error
					gid, _, err = tx.GID("account", system, key)
					return err
				})
				return gid
			}
			a.linked = func(key string) bool { return gidOf("a", key) != "" }
			h, err = hub.Open(context.Background(), cfg, log, hub.Options{Systems: map[string]registry.System{"a": a, "b": b}})
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

			b.Put("account", "B1", record.Fields{"Name": "Ours"})
			var key string
			select {
			case key = <-a.raced:
			case <-time.After(20 * time.Second):
				t.Fatal("tandem's create never reached a")
			}
			if strings.HasPrefix(key, "failed") {
				t.Fatal(key)
			}
			if captureFirst && !a.linked(key) {
				t.Fatalf("a's users' row %s was not captured before tandem heard its create's answer", key)
			}
			names := func() []string {
				var out []string
				for _, f := range b.Rows("account") {
					out = append(out, fmt.Sprint(f["Name"]))
				}
				slices.Sort(out)
				return out
			}
			aNames := func() []string {
				rs, err := db.Query(`SELECT name FROM accounts ORDER BY name`)
				if err != nil {
					t.Fatal(err)
				}
				defer rs.Close()
				var out []string
				for rs.Next() {
					var n string
					if err := rs.Scan(&n); err != nil {
						t.Fatal(err)
					}
					out = append(out, n)
				}
				if err := rs.Err(); err != nil {
					t.Fatal(err)
				}
				return out
			}
			settled := func() bool {
				rows, err := admin.Status(context.Background(), h.Store(), time.Now())
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range rows {
					if r.Pending > 0 {
						return false
					}
				}
				return slices.Equal(names(), []string{"Theirs"}) && slices.Equal(aNames(), []string{"Theirs"})
			}
			for deadline := time.Now().Add(20 * time.Second); !settled(); time.Sleep(10 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("a holds %v, b holds %v; want only a's users' account Theirs in both, nothing pending", aNames(), names())
				}
			}
			if gidOf("a", key) == "" || gidOf("a", key) != gidOf("b", firstKey(b.Rows("account"))) {
				t.Errorf("a's %s is linked to %q, b's copy to %q: want one record", key, gidOf("a", key), gidOf("b", firstKey(b.Rows("account"))))
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

func firstKey(m map[string]record.Fields) string {
	for k := range m {
		return k
	}
	return ""
}

package hub_test

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/tandemhub/tandem/internal/config"
	"github.com/tandemhub/tandem/internal/hub"
)

const conflictYAML = `version: 1
store: {dir: %q}
systems:
  fast: {type: sqlite, dsn: %q, poll: 20ms}
  slow: {type: sqlite, dsn: %q, poll: 1500ms}
delivery: {attempts: 4, backoff: 5ms, max_backoff: 20ms}
entities:
  account:
    merge: field
    schema:
      type: object
      properties:
        name: {type: string}
        city: {type: string}
mappings:
  fast:
    account: {table: accounts, fields: {name: name, city: city}}
  slow:
    account: {table: accounts, fields: {name: name, city: city}}
routes:
  - {entity: account, between: [fast, slow]}
`

// Two systems edit different fields of one record at about the same
// time. The slow system's capture still carries the old value of the
// field the fast system changed; that stale value must not undo the
// fast system's edit, and both edits must end up everywhere.
func TestConcurrentEditsOfDifferentFieldsBothSurvive(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{"fast": filepath.Join(dir, "fast.db"), "slow": filepath.Join(dir, "slow.db")}
	dbs := map[string]*sql.DB{}
	for name, f := range files {
		db, err := sql.Open("sqlite", "file:"+f+"?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		if _, err := db.Exec(`CREATE TABLE accounts (id TEXT PRIMARY KEY, name TEXT, city TEXT)`); err != nil {
			t.Fatal(err)
		}
		dbs[name] = db
	}
	if _, err := dbs["fast"].Exec(`INSERT INTO accounts VALUES ('f1', 'Acme', 'Oslo')`); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "tandem.yaml")
	y := fmt.Sprintf(conflictYAML, filepath.Join(dir, "store"), files["fast"], files["slow"])
	if err := os.WriteFile(path, []byte(y), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	h, err := hub.Open(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), hub.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Setup(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); _ = h.Run(ctx) }()
	t.Cleanup(func() { cancel(); wg.Wait(); _ = h.Close(context.Background()) })

	row := func(sys string) (name, city string) {
		_ = dbs[sys].QueryRow(`SELECT name, city FROM accounts LIMIT 1`).Scan(&name, &city)
		return name, city
	}
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(20 * time.Second); !ok(); time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				n1, c1 := row("fast")
				n2, c2 := row("slow")
				t.Fatalf("%s: fast holds %s/%s, slow holds %s/%s", what, n1, c1, n2, c2)
			}
		}
	}
	waitFor("the record reaches slow", func() bool { n, _ := row("slow"); return n == "Acme" })

	// slow's user moves the company; before tandem reads that, fast's
	// user renames it.
	if _, err := dbs["slow"].Exec(`UPDATE accounts SET city = 'Bergen'`); err != nil {
		t.Fatal(err)
	}
	if _, err := dbs["fast"].Exec(`UPDATE accounts SET name = 'Acme Group'`); err != nil {
		t.Fatal(err)
	}
	both := func(sys string) bool { n, c := row(sys); return n == "Acme Group" && c == "Bergen" }
	waitFor("both edits everywhere", func() bool { return both("fast") && both("slow") })
	time.Sleep(2 * time.Second) // a full poll of slow: nothing undoes them
	if !both("fast") || !both("slow") {
		waitFor("both edits still everywhere", func() bool { return false })
	}
}

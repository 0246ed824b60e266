package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tandemhub/tandem/internal/testenv"
)

// captureConfig copies notes from one SQLite file to another; fields is
// the mapping's field list on both sides.
const captureConfig = `version: 1
store:
  dir: ./store
systems:
  notes_a: {type: sqlite, dsn: %[1]q, poll: 50ms}
  notes_b: {type: sqlite, dsn: %[2]q, poll: 50ms}
entities:
  note:
    schema:
      type: object
      properties:
        body: {type: string}
        title: {type: string}
mappings:
  notes_a:
    note: {table: notes, fields: {%[3]s}}
  notes_b:
    note: {table: notes, fields: {%[3]s}}
routes:
  - {entity: note, from: notes_a, to: [notes_b]}
`

// A field mapped since the last `tandem setup` would have its updates go
// uncaptured: `tandem run` refuses to start, naming the system, the table
// and what to run, instead of losing them without a word. With --setup
// it installs capture and syncs the new field.
func TestRunRefusesCaptureOutOfDateWithTheMapping(t *testing.T) {
	ctx := context.Background()
	paths := map[string]string{"notes_a": testenv.SQLite(t), "notes_b": testenv.SQLite(t)}
	for _, p := range paths {
		db := openDB(t, "sqlite", "file:"+p+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)")
		if _, err := db.ExecContext(ctx, `CREATE TABLE notes (id TEXT PRIMARY KEY, body TEXT, title TEXT)`); err != nil {
			t.Fatal(err)
		}
		_ = db.Close()
	}
	e := &env{t: t, dir: t.TempDir()}
	e.cfg = filepath.Join(e.dir, "tandem.yaml")
	write := func(fields string) {
		if err := os.WriteFile(e.cfg, []byte(fmt.Sprintf(captureConfig, paths["notes_a"], paths["notes_b"], fields)), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("body: body")
	if out, err := e.tandem("setup"); err != nil {
		t.Fatalf("tandem setup: %v\n%s", err, out)
	}
	write("body: body, title: title")
	start := time.Now()
	out, err := runTandemWithin(30*time.Second, e.dir, "run", "-c", e.cfg)
	if err == nil {
		t.Fatalf("tandem run with a field mapped since setup exited 0:\n%s", tail(out, 30))
	}
	for _, want := range []string{`system "notes_a"`, `table "notes"`, "out of date with the mapping", "tandem setup"} {
		if !strings.Contains(out, want) {
			t.Errorf("tandem run's refusal does not say %q:\n%s", want, tail(out, 30))
		}
	}
	if took := time.Since(start); took > 20*time.Second {
		t.Errorf("tandem run took %s to refuse", took)
	}

	// With --setup it runs, and an update of the new field arrives.
	e.startHubArgs("--setup")
	a := openDB(t, "sqlite", "file:"+paths["notes_a"]+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)")
	b := openDB(t, "sqlite", "file:"+paths["notes_b"]+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)")
	if _, err := a.ExecContext(ctx, `INSERT INTO notes (id, body) VALUES ('n1', 'hello')`); err != nil {
		t.Fatal(err)
	}
	e.eventually(30*time.Second, "n1 reaches notes_b", func() error {
		var body string
		return b.QueryRowContext(ctx, `SELECT body FROM notes WHERE id IS NOT NULL`).Scan(&body)
	})
	if _, err := a.ExecContext(ctx, `UPDATE notes SET title = 'Greeting' WHERE id = 'n1'`); err != nil {
		t.Fatal(err)
	}
	e.eventually(30*time.Second, "the update of title reaches notes_b", func() error {
		var title *string
		if err := b.QueryRowContext(ctx, `SELECT title FROM notes`).Scan(&title); err != nil {
			return err
		}
		if title == nil || *title != "Greeting" {
			return fmt.Errorf("notes_b's title is %v", title)
		}
		return nil
	})
}

package e2e

import (
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

// lockConfig is a small hub: notes copied from one SQLite file to another.
// A note's body is at most 20 characters, so a longer one is parked as a
// dead letter.
const lockConfig = `version: 1
store:
  dir: ./store
systems:
  notes_a: {type: sqlite, dsn: %q, poll: 50ms}
  notes_b: {type: sqlite, dsn: %q, poll: 50ms}
entities:
  note:
    schema:
      type: object
      properties:
        body: {type: string, maxLength: 20}
mappings:
  notes_a:
    note: {table: notes, fields: {body: body}}
  notes_b:
    note: {table: notes, fields: {body: body}}
routes:
  - {entity: note, from: notes_a, to: [notes_b]}
`

// A second `tandem run` on a data directory a hub holds is refused at
// once, naming the hub; the commands that read the store or mark dead
// letters keep working beside the hub; a hub killed with SIGKILL leaves
// no lock behind.
func TestSecondHubOnOneDataDirectoryIsRefused(t *testing.T) {
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
	first := e.startHub()

	// The second hub ends by itself, at once, saying who holds the directory.
	start := time.Now()
	out, err := runTandemWithin(15*time.Second, e.dir, "run", "-c", e.cfg)
	if err == nil {
		t.Fatalf("a second tandem run on the same data directory exited 0:\n%s", out)
	}
	took := time.Since(start)
	want := fmt.Sprintf("is in use by another tandem (pid %d on host ", first.cmd.Process.Pid)
	if !strings.Contains(out, want) || !strings.Contains(out, "stop it first or point store.dir elsewhere") {
		t.Fatalf("the second tandem run (%v, after %s) does not name the hub holding the data directory (%q):\n%s",
			err, took.Round(time.Millisecond), want, tail(out, 30))
	}
	if took > 10*time.Second {
		t.Errorf("the second tandem run took %s to give up", took)
	}
	if first.exited() {
		t.Fatalf("the first hub exited: %v", first.err)
	}

	// Beside the hub: status, links and dead letters.
	exec := func(name, q string, args ...any) {
		t.Helper()
		if _, err := dbs[name].ExecContext(ctx, q, args...); err != nil {
			t.Fatalf("%s: %s: %v", name, q, err)
		}
	}
	exec("notes_a", `INSERT INTO notes (id, body) VALUES ('n1', 'hello'), ('n2', 'far too long for a note body'), ('n3', 'also much too long, sadly')`)
	var open []deadLetter
	e.eventually(30*time.Second, "n1 reaches notes_b and n2, n3 are dead letters", func() error {
		var bodies []string
		rows, err := dbs["notes_b"].QueryContext(ctx, `SELECT body FROM notes`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var b string
			if err := rows.Scan(&b); err != nil {
				return err
			}
			bodies = append(bodies, b)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if len(bodies) != 1 || bodies[0] != "hello" {
			return fmt.Errorf("notes_b holds %q", bodies)
		}
		if open, err = e.deadLetters("open"); err != nil {
			return err
		}
		if len(open) != 2 {
			return fmt.Errorf("%d open dead letters", len(open))
		}
		return nil
	})
	if rows, err := e.status(); err != nil || len(rows) == 0 {
		t.Fatalf("tandem status beside the hub: %v (%d rows)", err, len(rows))
	}
	if _, keys, _, err := e.links("note", "notes_a", "n1"); err != nil || keys["notes_b"] == "" {
		t.Fatalf("tandem links beside the hub: %v (keys %v)", err, keys)
	}
	if out, err := e.tandem("dlq", "discard", fmt.Sprint(open[0].ID)); err != nil {
		t.Fatalf("tandem dlq discard beside the hub: %v\n%s", err, out)
	}
	if out, err := e.tandem("dlq", "retry", fmt.Sprint(open[1].ID)); err != nil {
		t.Fatalf("tandem dlq retry beside the hub: %v\n%s", err, out)
	}
	e.eventually(30*time.Second, "the hub retries the dead letter", func() error {
		all, err := e.deadLetters("all")
		if err != nil {
			return err
		}
		states := map[int64]string{}
		for _, d := range all {
			states[d.ID] = d.State
		}
		if states[open[0].ID] != "discarded" || states[open[1].ID] != "retried" {
			return fmt.Errorf("dead letters %d and %d are %q and %q", open[0].ID, open[1].ID, states[open[0].ID], states[open[1].ID])
		}
		return nil
	})

	// A crashed hub holds nothing: the next one starts.
	first.kill()
	second := e.startHub()
	exec("notes_a", `INSERT INTO notes (id, body) VALUES ('n4', 'after the crash')`)
	e.eventually(30*time.Second, "the new hub copies a new note", func() error {
		var n int
		if err := dbs["notes_b"].QueryRowContext(ctx, `SELECT count(*) FROM notes WHERE body = 'after the crash'`).Scan(&n); err != nil {
			return err
		}
		if n != 1 {
			return fmt.Errorf("%d new notes in notes_b", n)
		}
		return nil
	})
	second.stop()
	if second.err != nil {
		t.Errorf("the hub stopped with %v", second.err)
	}
}

package e2e

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tandemhub/tandem/internal/testenv"
)

// textConfig copies notes from a SQLite file, whose text columns hold any
// bytes, to PostgreSQL, whose text holds valid UTF-8 without NUL.
const textConfig = `version: 1
store:
  dir: ./store
systems:
  lite: {type: sqlite, dsn: %q, poll: 50ms}
  pg: {type: postgres, dsn: %q, poll: 50ms}
entities:
  note:
    schema:
      type: object
      properties:
        body: {type: string}
mappings:
  lite:
    note: {table: notes, fields: {body: body}}
  pg:
    note: {table: notes, key_generated: true, fields: {body: body}}
routes:
  - {entity: note, from: lite, to: [pg]}
`

// Text is passed on as it was written or not at all. Bytes that are not
// UTF-8 are a dead letter of the capture, a NUL that PostgreSQL cannot
// hold a dead letter of the delivery; each names system, entity, key and
// field, and the other notes arrive untouched.
func TestTextIsNeverRewritten(t *testing.T) {
	ctx := context.Background()
	litePath, pgDSN := testenv.SQLite(t), testenv.Postgres(t)
	lite := openDB(t, "sqlite", "file:"+litePath+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)")
	lite.SetMaxOpenConns(1)
	pg := openDB(t, "pgx", pgDSN)
	if _, err := lite.ExecContext(ctx, `CREATE TABLE notes (id TEXT PRIMARY KEY, body TEXT)`); err != nil {
		t.Fatal(err)
	}
	if _, err := pg.ExecContext(ctx, `CREATE TABLE notes (id bigserial PRIMARY KEY, body text)`); err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, dir: t.TempDir()}
	e.cfg = filepath.Join(e.dir, "tandem.yaml")
	if err := os.WriteFile(e.cfg, []byte(fmt.Sprintf(textConfig, litePath, pgDSN)), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := e.tandem("setup"); err != nil {
		t.Fatalf("tandem setup: %v\n%s", err, out)
	}
	e.startHub()
	for _, n := range []struct{ id, body string }{
		{"n1", "plain"}, {"n2", "\xc3\x28\xff"}, {"n3", "a\x00b"}, {"n4", "héllo"},
	} {
		// CAST keeps the bytes as they are: SQLite stores them as TEXT.
		if _, err := lite.ExecContext(ctx, `INSERT INTO notes (id, body) VALUES (?, CAST(? AS TEXT))`, n.id, []byte(n.body)); err != nil {
			t.Fatal(err)
		}
	}
	var dead []deadLetter
	e.eventually(60*time.Second, "n1 and n4 reach pg, n2 and n3 are dead letters", func() error {
		got, err := noteBodies(ctx, pg)
		if err != nil {
			return err
		}
		if !slices.Equal(got, []string{"héllo", "plain"}) {
			return fmt.Errorf("pg holds %q", got)
		}
		if dead, err = e.deadLetters("open"); err != nil {
			return err
		}
		if len(dead) != 2 {
			return fmt.Errorf("%d open dead letters: %+v", len(dead), dead)
		}
		return nil
	})
	slices.SortFunc(dead, func(a, b deadLetter) int { return strings.Compare(a.Key+a.System, b.Key+b.System) })
	for _, d := range dead {
		if d.Entity != "note" || d.Field != "body" {
			t.Errorf("dead letter %+v does not name entity note and field body", d)
		}
	}
	if d := dead[0]; d.System != "lite" || d.Key != "n2" || !strings.Contains(d.Error, "not valid UTF-8") {
		t.Errorf("the bad bytes' dead letter: %+v; want lite's n2, saying the text is not valid UTF-8", d)
	}
	if d := dead[1]; d.System != "pg" || !strings.Contains(d.Error, "NUL") {
		t.Errorf("the NUL's dead letter: %+v; want pg's, saying PostgreSQL cannot store a NUL", d)
	}
}

// noteBodies reads the bodies of db's notes, in order.
func noteBodies(ctx context.Context, db *sql.DB) ([]string, error) {
	rows, err := db.QueryContext(ctx, `SELECT body FROM notes ORDER BY body`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var b string
		if err := rows.Scan(&b); err != nil {
			return nil, err
		}
		got = append(got, b)
	}
	return got, rows.Err()
}

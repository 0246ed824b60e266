package mysql

import (
	"context"
	"database/sql"
	"log/slog"
	"strings"
	"testing"

	"github.com/tandemhub/tandem/internal/config"
	"github.com/tandemhub/tandem/internal/connector"
	"github.com/tandemhub/tandem/internal/connector/sqldb"
	"github.com/tandemhub/tandem/internal/testenv"
)

// Setup on an installed database must find its triggers unchanged and
// leave them alone: MySQL cannot replace a trigger without a moment in
// which the table has none.
func TestSetupKeepsTriggers(t *testing.T) {
	ctx := context.Background()
	dsn := testenv.MySQL(t)
	app, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	if _, err := app.ExecContext(ctx, "CREATE TABLE tags (code VARCHAR(64) PRIMARY KEY, label TEXT)"); err != nil {
		t.Fatal(err)
	}
	s, err := New(ctx, "my", &config.System{DSN: dsn}, []connector.Table{{Entity: "tag", Name: "tags", Key: "code"}}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(ctx)
	if err := s.Setup(ctx); err != nil {
		t.Fatal(err)
	}
	conn, err := app.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	d := &dialect{schema: dbName(t, app)}
	all, err := d.triggers(ctx, conn)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{} // this test's; other databases on the server have theirs
	for _, x := range all {
		if strings.HasPrefix(x.quoted, d.Quote(d.schema)+".") {
			got[x.quoted] = x.body
		}
	}
	want := d.capture(sqldbCapture("tags", "code"))
	if len(got) != len(want) {
		t.Fatalf("%d tandem triggers installed, want %d", len(got), len(want))
	}
	for _, tr := range want {
		if body := got[d.Quote(d.schema+"."+tr.name)]; body != tr.body {
			t.Errorf("trigger %s is stored as\n%s\nnot as written\n%s\nso every Setup would replace it", tr.name, body, tr.body)
		}
	}
}

func dbName(t *testing.T, db *sql.DB) string {
	var name string
	if err := db.QueryRow("SELECT DATABASE()").Scan(&name); err != nil {
		t.Fatal(err)
	}
	return name
}

func sqldbCapture(table, key string) sqldb.Capture {
	return sqldb.Capture{Table: table, Key: sqldb.Column{Name: key}}
}

// Setup indexes the outbox of an installation made before it had the
// index, and leaves an indexed one alone.
func TestSetupIndexesTheOutbox(t *testing.T) {
	ctx := context.Background()
	dsn := testenv.MySQL(t)
	app, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	if _, err := app.ExecContext(ctx, "CREATE TABLE tags (code VARCHAR(64) PRIMARY KEY, label TEXT)"); err != nil {
		t.Fatal(err)
	}
	s, err := New(ctx, "my", &config.System{DSN: dsn}, []connector.Table{{Entity: "tag", Name: "tags", Key: "code"}}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(ctx)
	if err := s.Setup(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := app.ExecContext(ctx, "ALTER TABLE tandem_outbox DROP INDEX tandem_outbox_k"); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := s.Setup(ctx); err != nil {
			t.Fatal(err)
		}
		var cols string
		if err := app.QueryRowContext(ctx, `SELECT GROUP_CONCAT(COLUMN_NAME ORDER BY SEQ_IN_INDEX) FROM information_schema.STATISTICS
			WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'tandem_outbox' AND INDEX_NAME = 'tandem_outbox_k'`).Scan(&cols); err != nil {
			t.Fatal(err)
		}
		if cols != "tbl,k" {
			t.Fatalf("outbox index tandem_outbox_k has columns %q, want tbl,k", cols)
		}
	}
}

// A setup that fails part way (here at a view, which takes no trigger)
// leaves capture as it was: the triggers it had made are gone again, and
// the ones it meant to replace are still there, unchanged.
func TestFailedSetupLeavesCaptureAsItWas(t *testing.T) {
	ctx := context.Background()
	dsn := testenv.MySQL(t)
	app, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	for _, q := range []string{
		"CREATE TABLE tags (code VARCHAR(64) PRIMARY KEY, label TEXT, note TEXT)",
		"CREATE VIEW tagview AS SELECT code, label FROM tags",
	} {
		if _, err := app.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	open := func(tables ...connector.Table) *System {
		t.Helper()
		s, err := New(ctx, "my", &config.System{DSN: dsn}, tables, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close(ctx) })
		return s
	}
	before := connector.Table{Entity: "tag", Name: "tags", Key: "code", Columns: []string{"label"}}
	s := open(before)
	if err := s.Setup(ctx); err != nil {
		t.Fatal(err)
	}
	installed := func() map[string]string {
		t.Helper()
		conn, err := app.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		d := &dialect{schema: dbName(t, app)}
		all, err := d.triggers(ctx, conn)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, x := range all {
			if x.schema == d.schema {
				out[x.quoted] = x.body
			}
		}
		return out
	}
	want := installed()
	if len(want) != 3 {
		t.Fatalf("%d triggers after the first setup, want 3", len(want))
	}

	after := before
	after.Columns = []string{"label", "note"}
	view := connector.Table{Entity: "tagv", Name: "tagview", Key: "code", Columns: []string{"label"}}
	if err := open(after, view).Setup(ctx); err == nil || !strings.Contains(err.Error(), "tagview") {
		t.Fatalf("setup with a view to capture: %v; want it to fail at the view", err)
	}
	if got := installed(); len(got) != 3 {
		t.Fatalf("%d triggers after the failed setup", len(got))
	}
	got := installed()
	if len(got) != len(want) {
		t.Fatalf("after the failed setup %d triggers are installed, want the %d from before: %v", len(got), len(want), got)
	}
	for q, body := range want {
		if got[q] != body {
			t.Errorf("trigger %s changed by the failed setup:\n%s\nwas\n%s", q, got[q], body)
		}
	}
	if err := s.Check(ctx); err != nil {
		t.Errorf("capture for the mapping from before the failed setup: %v", err)
	}
	if err := open(after).Check(ctx); err == nil {
		t.Error("Check of the mapping the failed setup was for passes")
	}
	if err := open(after).Setup(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(installed()); n != 3 {
		t.Errorf("%d triggers after a setup that changed them, want 3: the replaced ones are dropped", n)
	}
}

package registry_test

import (
	"context"
	"database/sql"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tandemhub/tandem/internal/config"
	"github.com/tandemhub/tandem/internal/connector"
	"github.com/tandemhub/tandem/internal/connector/connectortest"
	"github.com/tandemhub/tandem/internal/connector/registry"
	"github.com/tandemhub/tandem/internal/connector/sqlite"
	"github.com/tandemhub/tandem/internal/record"
	"github.com/tandemhub/tandem/internal/testenv"
)

func TestTypes(t *testing.T) {
	if diff := cmp.Diff([]string{"http", "hubspot", "mysql", "postgres", "queue", "salesforce", "sqlite"}, registry.Types()); diff != "" {
		t.Errorf("Types (-want +got):\n%s", diff)
	}
}

// Every API and queue type's settings block is known once the registry
// is linked: a file that sets one loads, and one under the wrong type is
// refused by the section its connector registered.
func TestSectionsRegistered(t *testing.T) {
	for typ, block := range map[string]string{"http": "http", "salesforce": "salesforce", "hubspot": "hubspot", "queue": "queue"} {
		src := "version: 1\nsystems:\n  a: {type: sqlite, dsn: a.db, " + block + ": {}}\n"
		_, err := config.Read("tandem.yaml", []byte(src), func(string) (string, bool) { return "", false }, nil)
		if err == nil || !strings.Contains(err.Error(), "systems.a."+block+": is only for systems of type "+typ) {
			t.Errorf("%s block under a sqlite system: %v", block, err)
		}
	}
}

func TestOpenUnknownType(t *testing.T) {
	_, err := registry.Open(context.Background(), "crm", &config.System{Type: "oracle"}, nil, nil)
	if err == nil || !strings.Contains(err.Error(), `"oracle"`) || !strings.Contains(err.Error(), "postgres") {
		t.Errorf("Open of an unknown type: %v; want an error naming the type and the known ones", err)
	}
}

func TestOpenUnreachable(t *testing.T) {
	sys := &config.System{Type: "postgres", DSN: "postgres://nobody@127.0.0.1:1/none?connect_timeout=2"}
	_, err := registry.Open(context.Background(), "crm", sys, []connector.Table{connectortest.Tags}, nil)
	if err == nil || !strings.Contains(err.Error(), `"crm"`) || !strings.Contains(err.Error(), "unreachable") {
		t.Errorf("Open of an unreachable server: %v; want an error naming the system", err)
	}
}

// TestRoundTrip copies a record sqlite → postgres → mysql → sqlite and
// checks that every value survives.
func TestRoundTrip(t *testing.T) {
	ctx := context.Background()
	lite := testenv.SQLite(t)
	systems := []struct {
		sys *config.System
		ddl string
	}{
		{&config.System{Type: "sqlite", DSN: lite}, `CREATE TABLE items (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL,
			qty INTEGER, big BIGINT, price DOUBLE, active BOOLEAN, at DATETIME, note TEXT)`},
		{&config.System{Type: "postgres", DSN: testenv.Postgres(t)}, `CREATE TABLE items (id serial PRIMARY KEY, name text NOT NULL,
			qty integer, big bigint, price double precision, active boolean, at timestamp, note text)`},
		{&config.System{Type: "mysql", DSN: testenv.MySQL(t)}, `CREATE TABLE items (id INT AUTO_INCREMENT PRIMARY KEY,
			name VARCHAR(100) NOT NULL, qty INT, big BIGINT, price DOUBLE, active TINYINT(1), at DATETIME(6), note TEXT)`},
	}
	var open []registry.System
	for _, s := range systems {
		driver, dsn := s.sys.Type, s.sys.DSN
		switch driver {
		case "postgres":
			driver = "pgx"
		case "sqlite":
			dsn = sqlite.DSN(dsn)
		}
		db, err := sql.Open(driver, dsn)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.ExecContext(ctx, s.ddl); err != nil {
			t.Fatalf("%s: %v", s.sys.Type, err)
		}
		_ = db.Close()
		sys, err := registry.Open(ctx, s.sys.Type, s.sys, []connector.Table{connectortest.Items}, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = sys.Close(ctx) })
		if err := sys.Setup(ctx); err != nil {
			t.Fatal(err)
		}
		open = append(open, sys)
	}

	// The record starts as the application wrote it into SQLite, in SQLite's usual text forms.
	app, err := sql.Open("sqlite", sqlite.DSN(lite))
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	if _, err := app.ExecContext(ctx, `INSERT INTO items (name, qty, big, price, active, at, note)
		VALUES ('Ünïcode ✓ ''q''', -7, 1099511627777, 0.1, 1, '2024-05-06 07:08:09.123456', NULL)`); err != nil {
		t.Fatal(err)
	}
	rows, _, err := open[0].Snapshot(ctx, "item", "", 10)
	if err != nil || len(rows) != 1 {
		t.Fatalf("snapshot: %v %v", rows, err)
	}
	want := record.Fields{"name": "Ünïcode ✓ 'q'", "qty": int64(-7), "big": int64(1099511627777), "price": 0.1,
		"active": true, "at": "2024-05-06T07:08:09.123456Z", "note": nil}
	if diff := cmp.Diff(want, rows[0].Fields); diff != "" {
		t.Fatalf("read from sqlite (-want +got):\n%s", diff)
	}
	fields := rows[0].Fields
	for _, dst := range append(open[1:], open[0]) {
		res, err := dst.Apply(ctx, "item", []record.Write{{Op: record.Upsert, GID: "g-1", Fields: fields}})
		if err != nil {
			t.Fatal(err)
		}
		got, err := dst.Fetch(ctx, "item", []string{res[0].Key})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got[0].Fields); diff != "" {
			t.Fatalf("copied into %T (-want +got):\n%s", dst, diff)
		}
		fields = got[0].Fields
	}
}

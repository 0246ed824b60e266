package postgres_test

import (
	"context"
	"database/sql"
	"log/slog"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/tandemhub/tandem/internal/config"
	"github.com/tandemhub/tandem/internal/connector"
	"github.com/tandemhub/tandem/internal/connector/connectortest"
	"github.com/tandemhub/tandem/internal/connector/postgres"
	"github.com/tandemhub/tandem/internal/record"
	"github.com/tandemhub/tandem/internal/testenv"
)

func harness() connectortest.Harness {
	return connectortest.Harness{
		Database: func(t *testing.T) connectortest.Database {
			dsn := testenv.Postgres(t)
			app, err := sql.Open("pgx", dsn)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = app.Close() })
			return connectortest.Database{App: app, Dollar: true, Open: func(ctx context.Context, tables []connector.Table) (connectortest.System, error) {
				s, err := postgres.New(ctx, "pg", &config.System{Type: "postgres", DSN: dsn}, tables, slog.New(slog.DiscardHandler))
				if err != nil {
					return nil, err
				}
				return s, nil
			}}
		},
		Items: `CREATE TABLE items (id bigserial PRIMARY KEY, name text NOT NULL, qty integer,
			big bigint, price double precision, active boolean, at timestamptz, note text)`,
		Tags:  `CREATE TABLE tags (code varchar(64) PRIMARY KEY, label text)`,
		Quote: func(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` },
	}
}

func TestConnector(t *testing.T) {
	connectortest.Run(t, harness())
}

func TestLocks(t *testing.T) {
	connectortest.RunLocks(t, harness())
}

// tandem locks the rows it writes without waiting, but a foreign key
// makes it lock the parent row too. When an application's transaction
// holds that row, tandem gives up after lock_timeout and reports the
// batch busy, long before the deadlock detector could pick either
// transaction as a victim.
func TestForeignKeyHeldIsBusy(t *testing.T) {
	dsn := testenv.Postgres(t)
	ctx := context.Background()
	app, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	for _, q := range []string{
		"CREATE TABLE accounts (id text PRIMARY KEY, name text)",
		"CREATE TABLE contacts (id bigserial PRIMARY KEY, name text, account_id text REFERENCES accounts (id))",
		"INSERT INTO accounts VALUES ('a1', 'held')",
	} {
		if _, err := app.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	sys, err := postgres.New(ctx, "pg", &config.System{Type: "postgres", DSN: dsn}, []connector.Table{
		{Entity: "contact", Name: "contacts", Key: "id", KeyGenerated: true, Columns: []string{"name", "account_id"}},
	}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer sys.Close(ctx)
	if err := sys.Setup(ctx); err != nil {
		t.Fatal(err)
	}
	tx, err := app.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback() //nolint:errcheck // committed below; this is for a failed test
	if _, err := tx.ExecContext(ctx, "SELECT 1 FROM accounts WHERE id = 'a1' FOR UPDATE"); err != nil {
		t.Fatal(err)
	}
	// A guard, not a measure: without lock_timeout the create would
	// wait for as long as the application's transaction lasts.
	actx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	ws := []record.Write{{Op: record.Upsert, GID: "g1", Fields: record.Fields{"name": "Kid", "account_id": "a1"}}}
	if _, err := sys.Apply(actx, "contact", ws); !connector.IsBusy(err) {
		t.Fatalf("Apply of a child whose parent an application holds: %v; want a busy error", err)
	}
	if _, err := tx.ExecContext(ctx, "UPDATE accounts SET name = 'still the application''s' WHERE id = 'a1'"); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatalf("the application's transaction failed: %v", err)
	}
	if res, err := sys.Apply(ctx, "contact", ws); err != nil || res[0].Err != nil {
		t.Fatalf("Apply once the application committed: %+v, %v", res, err)
	}
}

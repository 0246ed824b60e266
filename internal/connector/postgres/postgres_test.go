package postgres_test

import (
	"context"
	"database/sql"
	"log/slog"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib"

	"tandem/internal/config"
	"tandem/internal/connector"
	"tandem/internal/connector/connectortest"
	"tandem/internal/connector/postgres"
	"tandem/internal/testenv"
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
		Tags: `CREATE TABLE tags (code varchar(64) PRIMARY KEY, label text)`,
	}
}

func TestConnector(t *testing.T) {
	connectortest.Run(t, harness())
}

func TestContention(t *testing.T) {
	connectortest.Contention(t, harness())
}

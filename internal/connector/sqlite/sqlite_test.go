package sqlite_test

import (
	"context"
	"database/sql"
	"log/slog"
	"strings"
	"testing"

	"github.com/tandemhub/tandem/internal/config"
	"github.com/tandemhub/tandem/internal/connector"
	"github.com/tandemhub/tandem/internal/connector/connectortest"
	"github.com/tandemhub/tandem/internal/connector/sqlite"
	"github.com/tandemhub/tandem/internal/testenv"
)

func harness() connectortest.Harness {
	return connectortest.Harness{
		Database: func(t *testing.T) connectortest.Database {
			path := testenv.SQLite(t)
			app, err := sql.Open("sqlite", sqlite.DSN(path))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = app.Close() })
			return connectortest.Database{App: app, Open: func(ctx context.Context, tables []connector.Table) (connectortest.System, error) {
				s, err := sqlite.New(ctx, "lite", &config.System{Type: "sqlite", DSN: path}, tables, slog.New(slog.DiscardHandler))
				if err != nil {
					return nil, err
				}
				return s, nil
			}}
		},
		Items: `CREATE TABLE items (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, qty INTEGER,
			big BIGINT, price DOUBLE PRECISION, active BOOLEAN, at DATETIME, note TEXT)`,
		Tags:  `CREATE TABLE tags (code VARCHAR(64) PRIMARY KEY, label TEXT)`,
		Quote: func(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` },
	}
}

func TestConnector(t *testing.T) {
	connectortest.Run(t, harness())
}

package mysql_test

import (
	"context"
	"database/sql"
	"log/slog"
	"testing"

	_ "github.com/go-sql-driver/mysql"

	"tandem/internal/config"
	"tandem/internal/connector"
	"tandem/internal/connector/connectortest"
	"tandem/internal/connector/mysql"
	"tandem/internal/testenv"
)

func harness() connectortest.Harness {
	return connectortest.Harness{
		Database: func(t *testing.T) connectortest.Database {
			dsn := testenv.MySQL(t)
			app, err := sql.Open("mysql", dsn)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = app.Close() })
			return connectortest.Database{App: app, Open: func(ctx context.Context, tables []connector.Table) (connectortest.System, error) {
				s, err := mysql.New(ctx, "my", &config.System{Type: "mysql", DSN: dsn}, tables, slog.New(slog.DiscardHandler))
				if err != nil {
					return nil, err
				}
				return s, nil
			}}
		},
		Items: "CREATE TABLE items (id BIGINT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(200) NOT NULL, qty INT, " +
			"big BIGINT, price DOUBLE, active BOOLEAN, at DATETIME(6), note TEXT)",
		Tags: "CREATE TABLE tags (code VARCHAR(64) PRIMARY KEY, label TEXT)",
	}
}

func TestConnector(t *testing.T) {
	connectortest.Run(t, harness())
}

func TestContention(t *testing.T) {
	connectortest.Contention(t, harness())
}

package testenv

import (
	"context"
	"database/sql"
	"net/url"
	"os"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
)

// PostgresStart is the command that starts the loopback PostgreSQL.
const PostgresStart = "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"

// Postgres creates a database with a random name on the server named by
// TANDEM_TEST_POSTGRES (default postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable)
// and returns its URL. The database is dropped, its sessions ended, when the test ends.
func Postgres(t testing.TB) string {
	t.Helper()
	admin := PostgresServer(t)
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatalf("TANDEM_TEST_POSTGRES: %v", err)
	}
	db, err := sql.Open("pgx", admin)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	c, cancel := ctx(t)
	defer cancel()
	if err := db.PingContext(c); err != nil {
		unreachable(t, "PostgreSQL", "TANDEM_TEST_POSTGRES", u.Host, PostgresStart, err)
	}
	name := Name()
	if _, err := db.ExecContext(c, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		db, err := sql.Open("pgx", admin)
		if err != nil {
			t.Error(err)
			return
		}
		defer db.Close()
		c, cancel := context.WithTimeout(context.Background(), 30e9)
		defer cancel()
		if _, err := db.ExecContext(c, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop test database %s: %v", name, err)
		}
	})
	u.Path = "/" + name
	return u.String()
}

// PostgresServer is the URL of the server TANDEM_TEST_POSTGRES names
// (the loopback one by default), for a program under test that makes
// databases of its own there and drops them.
func PostgresServer(t testing.TB) string {
	t.Helper()
	admin := os.Getenv("TANDEM_TEST_POSTGRES")
	if admin == "" {
		admin = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
	}
	return admin
}

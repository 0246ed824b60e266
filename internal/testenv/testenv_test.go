package testenv

import (
	"context"
	"database/sql"
	"os"
	"strings"
	"testing"
)

func TestPostgres(t *testing.T) {
	var dsn string
	t.Run("make", func(t *testing.T) {
		dsn = Postgres(t)
		ping(t, "pgx", dsn)
	})
	if dsn == "" {
		t.Skip("PostgreSQL unreachable")
	}
	// The database is gone once the test that made it ended.
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Ping(); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("database of a finished test: %v; want it dropped", err)
	}
}

func TestMySQL(t *testing.T) {
	var dsn string
	t.Run("make", func(t *testing.T) {
		dsn = MySQL(t)
		ping(t, "mysql", dsn)
	})
	if dsn == "" {
		t.Skip("MySQL unreachable")
	}
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Ping(); err == nil || !strings.Contains(err.Error(), "Unknown database") {
		t.Errorf("database of a finished test: %v; want it dropped", err)
	}
}

func TestUnreachableSkips(t *testing.T) {
	t.Setenv("CI", "")
	t.Setenv("TANDEM_TEST_POSTGRES", "postgres://postgres@127.0.0.1:1/postgres?sslmode=disable&connect_timeout=2")
	t.Setenv("TANDEM_TEST_MYSQL", "root@tcp(127.0.0.1:1)/?timeout=2s")
	for name, open := range map[string]func(testing.TB) string{"postgres": func(t testing.TB) string { return Postgres(t) }, "mysql": func(t testing.TB) string { return MySQL(t) }} {
		var ran bool
		sub := t.Run(name, func(t *testing.T) {
			defer func() { ran = t.Skipped() }()
			open(t)
		})
		if !sub || !ran {
			t.Errorf("%s: an unreachable server must skip the test when CI is not set", name)
		}
	}
}

func TestSQLite(t *testing.T) {
	p := SQLite(t)
	if _, err := os.Stat(p); err != nil {
		t.Fatal(err)
	}
}

func ping(t *testing.T, driver, dsn string) {
	t.Helper()
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.PingContext(context.Background()); err != nil {
		t.Fatalf("fresh database: %v", err)
	}
}

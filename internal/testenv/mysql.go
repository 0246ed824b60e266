package testenv

import (
	"context"
	"database/sql"
	"os"
	"testing"

	"github.com/go-sql-driver/mysql"
)

// MySQLServer returns the DSN of the server TANDEM_TEST_MYSQL names
// (default root@tcp(127.0.0.1:3306)/), once it answers, for a test that
// makes its own databases there and drops them.
func MySQLServer(t testing.TB) string {
	t.Helper()
	admin, _, db := mysqlAdmin(t)
	db.Close()
	return admin
}

// mysqlAdmin connects to the server TANDEM_TEST_MYSQL names, once it
// answers, and returns its DSN, parsed and open; the caller closes db.
func mysqlAdmin(t testing.TB) (string, *mysql.Config, *sql.DB) {
	t.Helper()
	admin := os.Getenv("TANDEM_TEST_MYSQL")
	if admin == "" {
		admin = "root@tcp(127.0.0.1:3306)/"
	}
	cfg, err := mysql.ParseDSN(admin)
	if err != nil {
		t.Fatalf("TANDEM_TEST_MYSQL: %v", err)
	}
	db, err := sql.Open("mysql", admin)
	if err != nil {
		t.Fatal(err)
	}
	c, cancel := ctx(t)
	defer cancel()
	if err := db.PingContext(c); err != nil {
		db.Close()
		unreachable(t, "MySQL", "TANDEM_TEST_MYSQL", cfg.Addr, MySQLStart, err)
	}
	return admin, cfg, db
}

// MySQLStart is the command that starts the loopback MariaDB.
const MySQLStart = "start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd"

// MySQL creates a database with a random name on the server named by
// TANDEM_TEST_MYSQL (default root@tcp(127.0.0.1:3306)/) and returns a DSN
// for it. The database is dropped when the test ends.
func MySQL(t testing.TB) string {
	t.Helper()
	admin, cfg, db := mysqlAdmin(t)
	defer db.Close()
	c, cancel := ctx(t)
	defer cancel()
	name := Name()
	if _, err := db.ExecContext(c, "CREATE DATABASE "+name+" CHARACTER SET utf8mb4"); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		db, err := sql.Open("mysql", admin)
		if err != nil {
			t.Error(err)
			return
		}
		defer db.Close()
		c, cancel := context.WithTimeout(context.Background(), 30e9)
		defer cancel()
		if _, err := db.ExecContext(c, "DROP DATABASE IF EXISTS "+name); err != nil {
			t.Errorf("drop test database %s: %v", name, err)
		}
	})
	cfg.DBName = name
	return cfg.FormatDSN()
}

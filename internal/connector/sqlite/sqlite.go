package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"strings"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/tandemhub/tandem/internal/config"
	"github.com/tandemhub/tandem/internal/connector"
	"github.com/tandemhub/tandem/internal/connector/sqldb"
)

// System is a SQLite database file as a tandem source and destination.
type System struct {
	*sqldb.Engine
}

// New opens the database file sys.DSN (a path, optionally followed by
// ?query parameters of the modernc.org/sqlite driver) and learns the
// columns of tables. The file must exist: tandem never creates the
// application's database.
func New(ctx context.Context, name string, sys *config.System, tables []connector.Table, log *slog.Logger) (*System, error) {
	path, _, _ := strings.Cut(strings.TrimPrefix(sys.DSN, "file:"), "?")
	if path == "" {
		return nil, fmt.Errorf("sqlite system %q: dsn is empty; write the path of the database file", name)
	}
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("sqlite system %q: database file %q does not exist", name, path)
	}
	db, err := sql.Open("sqlite", DSN(sys.DSN))
	if err != nil {
		return nil, fmt.Errorf("sqlite system %q: %w", name, err)
	}
	e, err := sqldb.New(ctx, sqldb.Options{System: name, DB: db, Dialect: dialect{}, Tables: tables, Log: log, Where: path})
	if err != nil {
		return nil, err
	}
	return &System{Engine: e}, nil
}

// DSN adds to a database path the driver settings tandem relies on, unless
// the path sets them already: WAL and a busy timeout (other processes
// write the same file), foreign keys on, and write transactions that take
// the write lock when they begin.
func DSN(dsn string) string {
	add := []struct{ has, param string }{
		{"busy_timeout", "_pragma=busy_timeout(10000)"},
		{"journal_mode", "_pragma=journal_mode(WAL)"},
		{"foreign_keys", "_pragma=foreign_keys(1)"},
		{"_txlock", "_txlock=immediate"},
	}
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	for _, a := range add {
		if !strings.Contains(dsn, a.has) {
			dsn += sep + a.param
			sep = "&"
		}
	}
	return dsn
}

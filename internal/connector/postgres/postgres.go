package postgres

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/tandemhub/tandem/internal/config"
	"github.com/tandemhub/tandem/internal/connector"
	"github.com/tandemhub/tandem/internal/connector/sqldb"
	"github.com/tandemhub/tandem/internal/secret"
)

// System is a PostgreSQL database as a tandem source and destination.
type System struct {
	*sqldb.Engine
}

// New connects to sys.DSN (a postgres:// URL or libpq key=value string),
// checks that the server answers and learns the columns of tables.
// tandem's own tables live in the connection's current schema. No error
// it returns holds the DSN's password.
func New(ctx context.Context, name string, sys *config.System, tables []connector.Table, log *slog.Logger) (*System, error) {
	cfg, err := pgx.ParseConfig(escapeAt(sys.DSN))
	if err != nil {
		return nil, secret.New(secret.Passwords(sys.DSN)...).Error(fmt.Errorf("postgres system %q: dsn: %w", name, err))
	}
	if _, ok := cfg.RuntimeParams["application_name"]; !ok {
		cfg.RuntimeParams["application_name"] = "tandem"
	}
	// Statements stay prepared, but are planned for each execution: a
	// generic plan made while tandem_ids or a table was small would keep
	// scanning it whole as it grows.
	if _, ok := cfg.RuntimeParams["plan_cache_mode"]; !ok {
		cfg.RuntimeParams["plan_cache_mode"] = "force_custom_plan"
	}
	where := net.JoinHostPort(cfg.Host, strconv.Itoa(int(cfg.Port))) + "/" + cfg.Database
	tc, err := sys.TLS.Config()
	if err != nil {
		return nil, fmt.Errorf("postgres system %q: %w", name, err)
	}
	if tc != nil {
		// tls: replaces the DSN's sslmode, with no plain fallback.
		if tc.ServerName == "" {
			tc.ServerName = cfg.Host
		}
		cfg.TLSConfig, cfg.Fallbacks = tc, nil
	}
	db := stdlib.OpenDB(*cfg)
	d := &dialect{}
	e, err := sqldb.New(ctx, sqldb.Options{System: name, DB: db, Dialect: d, Tables: tables, Log: log, Where: where})
	if err != nil {
		return nil, err
	}
	var schema sql.NullString
	if err := db.QueryRowContext(ctx, "SELECT current_schema()").Scan(&schema); err != nil || !schema.Valid {
		_ = e.Close(ctx)
		if err == nil {
			err = fmt.Errorf("no schema of the search_path exists")
		}
		return nil, fmt.Errorf("postgres system %q: find the schema for tandem's tables: %w", name, err)
	}
	d.schema = schema.String
	return &System{Engine: e}, nil
}

// escapeAt percent-encodes the @ of a password written unescaped in a
// URL (postgres://u:p@ss@host/db). The driver splits at the first @, so
// it would take the password's tail for the host, and print it. A
// userinfo holding a / is left alone: there the @ may be the path's.
func escapeAt(dsn string) string {
	i, j, ok := secret.URLUserinfo(dsn)
	if !ok || !strings.Contains(dsn[i:j], "@") || strings.Contains(dsn[i:j], "/") {
		return dsn
	}
	return dsn[:i] + strings.ReplaceAll(dsn[i:j], "@", "%40") + dsn[j:]
}

package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/url"

	"github.com/jackc/pgx/v5"

	"github.com/tandemhub/tandem/internal/secret"
)

// createTable makes the destination table fresh.
func createTable(ctx context.Context, dsn string) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return fmt.Errorf("bench destination %s: %w", secret.DSN(dsn), err)
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, `DROP TABLE IF EXISTS bench_items;
		CREATE TABLE bench_items (id bigserial PRIMARY KEY, title text NOT NULL, quantity integer,
		price double precision, seq bigint)`)
	return err
}

// TempDatabase creates a fresh database on the server of serverDSN and
// returns its DSN and a function that drops it.
func TempDatabase(ctx context.Context, serverDSN string) (string, func(), error) {
	cfg, err := pgx.ParseConfig(serverDSN)
	if err != nil {
		return "", nil, fmt.Errorf("parse %q: %w", secret.DSN(serverDSN), err)
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return "", nil, fmt.Errorf("connect to PostgreSQL for the benchmark: %w", err)
	}
	name := fmt.Sprintf("tandem_bench_%08x", rand.Uint32())
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		conn.Close(ctx)
		return "", nil, fmt.Errorf("create benchmark database: %w", err)
	}
	conn.Close(ctx)
	drop := func() {
		c, err := pgx.ConnectConfig(context.Background(), cfg)
		if err != nil {
			return
		}
		defer c.Close(context.Background())
		_, _ = c.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	}
	return withDatabase(serverDSN, name), drop, nil
}

// withDatabase is dsn (a URL or keyword=value settings) naming database
// name instead of its own, with its user, password and options kept.
func withDatabase(dsn, name string) string {
	if u, err := url.Parse(dsn); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		u.Path, u.RawPath = "/"+name, ""
		return u.String()
	}
	return dsn + " dbname=" + name
}

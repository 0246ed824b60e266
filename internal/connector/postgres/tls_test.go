package postgres_test

import (
	"context"
	"database/sql"
	"log/slog"
	"strings"
	"testing"

	"github.com/tandemhub/tandem/internal/config"
	"github.com/tandemhub/tandem/internal/connector"
	"github.com/tandemhub/tandem/internal/connector/postgres"
	"github.com/tandemhub/tandem/internal/testenv"
)

// A system's tls block decides how tandem connects, whatever the DSN's
// sslmode says: over TLS, checked against the authorities it names.
// (The loopback server has TLS on, with a certificate signed by nobody
// tandem trusts.)
func TestTLSBlockSecuresTheConnection(t *testing.T) {
	ctx := context.Background()
	dsn := testenv.Postgres(t)
	app, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	if _, err := app.ExecContext(ctx, `CREATE TABLE tags (code text PRIMARY KEY, label text)`); err != nil {
		t.Fatal(err)
	}
	tables := []connector.Table{{Entity: "tag", Name: "tags", Key: "code", Columns: []string{"label"}}}
	plain := dsn + map[bool]string{true: "&", false: "?"}[strings.Contains(dsn, "?")] + "sslmode=disable"
	open := func(tc *config.TLS) (*postgres.System, error) {
		return postgres.New(ctx, "pg", &config.System{Type: "postgres", DSN: plain, TLS: tc}, tables, slog.New(slog.DiscardHandler))
	}
	if _, err := open(&config.TLS{}); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("tls with the full check, against a certificate nobody signed: %v; want a certificate error", err)
	}
	s, err := open(&config.TLS{Verify: "none"})
	if err != nil {
		t.Fatalf("tls without a check: %v", err)
	}
	defer s.Close(ctx)
	var n int
	var all bool
	if err := app.QueryRowContext(ctx, `SELECT count(*), coalesce(bool_and(s.ssl), false) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid)
		WHERE a.application_name = 'tandem' AND a.datname = current_database()`).Scan(&n, &all); err != nil {
		t.Fatal(err)
	}
	if n == 0 || !all {
		t.Errorf("%d tandem connections, all over TLS %v; want tandem's connections over TLS though the DSN says sslmode=disable", n, all)
	}
}

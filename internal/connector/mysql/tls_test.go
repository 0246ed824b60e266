package mysql

import (
	"context"
	"database/sql"
	"log/slog"
	"strings"
	"testing"

	"github.com/tandemhub/tandem/internal/config"
	"github.com/tandemhub/tandem/internal/connector"
	"github.com/tandemhub/tandem/internal/testenv"
)

// A system's tls block makes tandem connect over TLS or not at all: the
// loopback server has TLS off, so the connection is refused, saying so,
// rather than made in the clear.
func TestTLSBlockRefusesAPlainServer(t *testing.T) {
	ctx := context.Background()
	dsn := testenv.MySQL(t)
	app, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	var have string
	if err := app.QueryRowContext(ctx, `SELECT @@have_ssl`).Scan(&have); err != nil {
		t.Fatal(err)
	}
	if have == "YES" {
		t.Fatalf("the loopback server has TLS on (have_ssl %s); this test expects it off", have)
	}
	if _, err := app.ExecContext(ctx, `CREATE TABLE tags (code VARCHAR(64) PRIMARY KEY, label TEXT)`); err != nil {
		t.Fatal(err)
	}
	tables := []connector.Table{{Entity: "tag", Name: "tags", Key: "code", Columns: []string{"label"}}}
	s, err := New(ctx, "my", &config.System{Type: "mysql", DSN: dsn, TLS: &config.TLS{Verify: "none"}}, tables, slog.New(slog.DiscardHandler))
	if err == nil {
		s.Close(ctx)
		t.Fatal("tls against a server without TLS connected")
	}
	if !strings.Contains(err.Error(), "TLS") || !strings.Contains(err.Error(), `mysql system "my"`) {
		t.Errorf("refusal %q does not say TLS and the system", err)
	}
}

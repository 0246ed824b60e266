package mysql_test

import (
	"context"
	"database/sql"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql"

	"github.com/tandemhub/tandem/internal/config"
	"github.com/tandemhub/tandem/internal/connector"
	"github.com/tandemhub/tandem/internal/connector/connectortest"
	"github.com/tandemhub/tandem/internal/connector/mysql"
	"github.com/tandemhub/tandem/internal/record"
	"github.com/tandemhub/tandem/internal/testenv"
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
		Tags:  "CREATE TABLE tags (code VARCHAR(64) PRIMARY KEY, label TEXT)",
		Quote: func(s string) string { return "`" + strings.ReplaceAll(s, "`", "``") + "`" },
	}
}

func TestConnector(t *testing.T) {
	connectortest.Run(t, harness())
}

func TestLocks(t *testing.T) {
	connectortest.RunLocks(t, harness())
}

// An application's REPEATABLE READ transaction that locks the gap where
// new rows go makes tandem's create fail busy at once, instead of
// waiting for the gap while holding a row the application wants next.
func TestCreateIntoHeldGapIsBusy(t *testing.T) {
	h := harness()
	db := h.Database(t)
	ctx := context.Background()
	if _, err := db.App.ExecContext(ctx, h.Items); err != nil {
		t.Fatal(err)
	}
	sys, err := db.Open(ctx, []connector.Table{connectortest.Items})
	if err != nil {
		t.Fatal(err)
	}
	defer sys.Close(ctx)
	if err := sys.Setup(ctx); err != nil {
		t.Fatal(err)
	}
	res, err := db.App.ExecContext(ctx, "INSERT INTO items (name, qty) VALUES ('existing', 1)")
	if err != nil {
		t.Fatal(err)
	}
	id, _ := res.LastInsertId()
	key := strconv.FormatInt(id, 10)
	app, err := db.App.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead})
	if err != nil {
		t.Fatal(err)
	}
	defer app.Rollback() //nolint:errcheck // committed below; this is for a failed test
	var n int
	if err := app.QueryRowContext(ctx, "SELECT COUNT(*) FROM items WHERE id >= ? FOR UPDATE", id).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if _, err := app.ExecContext(ctx, "UPDATE items SET note = 'app' WHERE id = ?", id); err != nil {
		t.Fatal(err)
	}
	// A guard, not a measure: a create that waited for the gap would
	// wait innodb_lock_wait_timeout (50 s by default).
	actx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	ws := []record.Write{
		{Op: record.Upsert, Key: key, Fields: record.Fields{"qty": int64(3)}},
		{Op: record.Upsert, GID: "g1", Fields: record.Fields{"name": "made by tandem"}},
	}
	if _, err := sys.Apply(actx, "item", ws); !connector.IsBusy(err) {
		t.Fatalf("Apply of a create into a gap an application holds: %v; want a busy error", err)
	}
	if err := app.Commit(); err != nil {
		t.Fatalf("the application's transaction failed: %v", err)
	}
	// The update waits until tandem has captured the application's edit
	// of the same row; the create goes through.
	out, err := sys.Apply(ctx, "item", ws)
	if err != nil || !connector.IsBusy(out[0].Err) || out[1].Err != nil || out[1].Key == "" {
		t.Fatalf("Apply once the application committed: %+v, %v; want the update busy behind the edit and the create made", out, err)
	}
}

package connectortest

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
	"testing"

	"github.com/tandemhub/tandem/internal/connector"
)

// System is what a connector gives the hub.
type System interface {
	connector.Source
	connector.Destination
	connector.Installer
}

// Harness adapts one connector type to the suite.
type Harness struct {
	// Database makes a fresh, empty database for one test, dropped when
	// the test ends.
	Database func(t *testing.T) Database
	// Items creates, in the database's dialect, the table
	//   items(id generated integer primary key, name text NOT NULL,
	//         qty integer, big bigint, price double, active boolean,
	//         at timestamp with microseconds, note text)
	// with every column but id and name nullable.
	Items string
	// Tags creates the table tags(code text primary key, label text);
	// code holds up to 64 characters and is not generated.
	Tags string
	// Quote quotes an identifier as the database's SQL does.
	Quote func(name string) string
}

// Database is one fresh database.
type Database struct {
	// App is the application's own connection, outside tandem.
	App *sql.DB
	// Dollar says the database numbers placeholders ($1, $2) instead of
	// writing ?; the suite writes its SQL with ? and rewrites it.
	Dollar bool
	// Open opens the connector on this database with the given tables.
	Open func(ctx context.Context, tables []connector.Table) (System, error)
}

// bind rewrites ? placeholders for db.
func (db Database) bind(q string) string {
	if !db.Dollar {
		return q
	}
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// exec runs a statement as the application.
func (db Database) exec(t *testing.T, q string, args ...any) {
	t.Helper()
	if _, err := db.App.ExecContext(context.Background(), db.bind(q), args...); err != nil {
		t.Fatalf("application: %s: %v", q, err)
	}
}

// count returns the number of rows of a query "SELECT COUNT(*) …".
func (db Database) count(t *testing.T, q string, args ...any) int {
	t.Helper()
	var n int
	if err := db.App.QueryRowContext(context.Background(), db.bind(q), args...).Scan(&n); err != nil {
		t.Fatalf("application: %s: %v", q, err)
	}
	return n
}

// insertItem inserts an item as the application and returns its key.
func (db Database) insertItem(t *testing.T, name string, qty int64) string {
	t.Helper()
	db.exec(t, "INSERT INTO items (name, qty) VALUES (?, ?)", name, qty)
	var id int64
	if err := db.App.QueryRowContext(context.Background(), db.bind("SELECT MAX(id) FROM items WHERE name = ?"), name).Scan(&id); err != nil {
		t.Fatalf("application: read new item id: %v", err)
	}
	return strconv.FormatInt(id, 10)
}

// Items and Tags are how the suite maps its tables.
var (
	Items = connector.Table{Entity: "item", Name: "items", Key: "id", KeyGenerated: true,
		Columns: []string{"name", "qty", "big", "price", "active", "at", "note"}}
	Tags = connector.Table{Entity: "tag", Name: "tags", Key: "code", Columns: []string{"label"}}
)

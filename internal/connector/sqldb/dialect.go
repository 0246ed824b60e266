package sqldb

import (
	"context"
	"database/sql"
)

// Kind says how values of a column are converted on the way in and out.
type Kind uint8

const (
	// Other columns (numeric, uuid, json, enums, …) are written as text and
	// read back as the driver returns them.
	Other Kind = iota
	// Text columns hold strings.
	Text
	// Int columns hold whole numbers.
	Int
	// Float columns hold floating-point numbers.
	Float
	// Bool columns hold booleans (MySQL's tinyint(1), SQLite's BOOLEAN).
	Bool
	// Time columns hold points in time; they are read as RFC 3339 strings in UTC.
	Time
)

func (k Kind) String() string {
	switch k {
	case Text:
		return "text"
	case Int:
		return "integer"
	case Float:
		return "float"
	case Bool:
		return "boolean"
	case Time:
		return "timestamp"
	}
	return "other"
}

// Column is one column as the database declares it.
type Column struct {
	Name string
	// Type is the database's name of the column type, usable in a cast.
	Type string
	Kind Kind
	// Required columns are NOT NULL without a default: an insert must
	// give them a value.
	Required bool
}

// Capture is one table whose changes the triggers record.
type Capture struct {
	Table string // the name as configured; also the outbox's tbl value
	Key   Column
	// Columns are the columns tandem maps, key excluded: an update
	// records which of them it changed.
	Columns []string
}

// Stmt is one statement of a write transaction.
type Stmt struct {
	SQL  string
	Args []any
	// Keys receive, in row order, the keys the statement generated: the
	// first column of each row it returns or, when IDStep > 0, the driver's
	// last insert id plus IDStep for every further row.
	Keys   []*string
	IDStep int64
}

// Tx runs the statements of one write transaction.
type Tx interface {
	// Query returns every row of a query, values as the driver gives them.
	Query(ctx context.Context, query string, args ...any) ([][]any, error)
	// Run executes stmts in order, in as few round trips as the driver allows.
	Run(ctx context.Context, stmts []Stmt) error
}

// Dialect is what differs between databases. Values handed to its
// statement builders are already converted for their column by Encode:
// nil, string, int64, float64, bool or time.Time.
type Dialect interface {
	// Name is the connector type, for messages ("postgres").
	Name() string
	// Quote quotes an identifier; dots separate schema and table.
	Quote(name string) string
	// Param appends v to args and returns its placeholder.
	Param(args *[]any, v any) string
	// In returns the condition "expr is one of vals", appending to args.
	// vals are converted for c, which describes expr.
	In(args *[]any, expr string, c Column, vals []any) string
	// KeyText converts the SQL expression expr to text exactly as the
	// capture triggers store keys in the outbox.
	KeyText(expr string) string
	// Outbox and IDs are the quoted names of tandem's outbox and id tables.
	Outbox() string
	IDs() string
	// LookupIDs returns a query giving (gid, k) of those gids the id table
	// holds for entity, appending to args; rows with a NULL k are skipped.
	LookupIDs(args *[]any, entity string, gids []any) string

	// Snapshot is how to begin a read-only transaction whose statements
	// all see the database as of one moment.
	Snapshot() *sql.TxOptions

	// Columns returns the columns of table; an error if it does not exist.
	Columns(ctx context.Context, db *sql.DB, table string) ([]Column, error)
	// Setup installs tandem's tables and the capture triggers of tables.
	// Running it again changes nothing.
	Setup(ctx context.Context, db *sql.DB, tables []Capture) error
	// Installed says what of the capture of tables is missing or differs
	// from what Setup would install now, one line per table; none when
	// all is in place.
	Installed(ctx context.Context, db *sql.DB, tables []Capture) ([]string, error)
	// Write runs fn in one transaction whose writes the triggers do not
	// capture (the echo marker). fn's error rolls everything back. Each
	// statement of the transaction reads the latest commits (READ
	// COMMITTED, or a single writer), and on a database that locks rows
	// none waits for a lock another transaction holds, where the database
	// can refuse to wait: it fails instead (see Classify).
	Write(ctx context.Context, db *sql.DB, fn func(Tx) error) error

	// Upsert writes rows (values of keys, then of cols) to table (quoted):
	// inserted, or on a conflict of keys, cols updated. No key repeats.
	// Without keys it is a plain INSERT.
	Upsert(table string, keys, cols []Column, rows [][]any) []Stmt
	// Merge writes rows (values of key, then of cols) like Upsert, for
	// writes that lack the required columns absent: rows whose key exists
	// are updated without ever being offered to INSERT (which checks NOT
	// NULL before conflicts and would fail), the others inserted, with
	// NULL for absent so that the database names them in its error.
	Merge(table string, key Column, cols []Column, rows [][]any, absent []Column) []Stmt
	// Insert inserts rows of cols and lets the database make the key;
	// keys[i] receives the key of rows[i] as text (see KeyText).
	Insert(table string, key Column, cols []Column, rows [][]any, keys []*string) []Stmt
	// Delete deletes the rows of table with the given keys.
	Delete(table string, key Column, keys []any) []Stmt
	// Classify returns err marked *connector.Permanent, naming the column
	// when the database says it, if retrying cannot fix it (constraint and
	// data errors); marked *connector.Busy if a statement gave up, or
	// lost, a lock another transaction holds (lock timeout, deadlock,
	// serialization failure); other errors come back unchanged.
	Classify(err error) error
}

// TextChecker is a Dialect whose text columns cannot hold every string
// (PostgreSQL's hold no NUL). CheckText says why s cannot be written, so
// that the write fails naming its column instead of being cut or
// rewritten by the database or its driver.
type TextChecker interface {
	CheckText(s string) error
}

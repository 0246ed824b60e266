package sqlite

import (
	"database/sql"
	"strconv"
	"strings"
	"time"

	"github.com/tandemhub/tandem/internal/connector/sqldb"
)

// SQLite's default limit is 32,766 parameters per statement.
const (
	maxParams = 30000
	maxRows   = 500
)

const (
	outbox  = `"tandem_outbox"`
	ids     = `"tandem_ids"`
	control = `"tandem_control"`
)

type dialect struct{}

func (dialect) Name() string               { return "sqlite" }
func (dialect) Quote(name string) string   { return sqldb.QuoteIdent(name, `"`) }
func (dialect) KeyText(expr string) string { return "CAST(" + expr + " AS TEXT)" }
func (dialect) Outbox() string             { return outbox }
func (dialect) IDs() string                { return ids }

func (d dialect) LookupIDs(args *[]any, entity string, gids []any) string {
	return sqldb.LookupIDs(d, args, entity, gids)
}

func (dialect) Param(args *[]any, v any) string {
	*args = append(*args, v)
	return "?"
}

func (d dialect) In(args *[]any, expr string, c sqldb.Column, vals []any) string {
	return expr + " IN (" + sqldb.Placeholders(d, args, vals, value) + ")"
}

// value converts an encoded value for the driver: times are stored as
// RFC 3339 text in UTC, which sorts and which SQLite's date functions read.
func value(v any) any {
	if t, ok := v.(time.Time); ok {
		return t.UTC().Format(time.RFC3339Nano)
	}
	return v
}

func (d dialect) Upsert(table string, keys, cols []sqldb.Column, rows [][]any) []sqldb.Stmt {
	head := "INSERT INTO " + table + " (" + sqldb.Names(d, append(keys[:len(keys):len(keys)], cols...)) + ") VALUES "
	var tail string
	switch {
	case len(keys) == 0:
	case len(cols) == 0:
		tail = " ON CONFLICT (" + sqldb.Names(d, keys) + ") DO NOTHING"
	default:
		set := make([]string, len(cols))
		for i, c := range cols {
			set[i] = d.Quote(c.Name) + " = excluded." + d.Quote(c.Name)
		}
		tail = " ON CONFLICT (" + sqldb.Names(d, keys) + ") DO UPDATE SET " + strings.Join(set, ", ")
	}
	var out []sqldb.Stmt
	for _, part := range sqldb.Chunks(rows, maxParams, maxRows) {
		var args []any
		out = append(out, sqldb.Stmt{SQL: head + sqldb.Values(d, &args, part, value) + tail, Args: args})
	}
	return out
}

// Merge updates the rows that exist from a VALUES list, then inserts
// the rest.
func (d dialect) Merge(table string, key sqldb.Column, cols []sqldb.Column, rows [][]any, _ []sqldb.Column) []sqldb.Stmt {
	set := make([]string, len(cols))
	for i, c := range cols {
		set[i] = d.Quote(c.Name) + " = u.column" + strconv.Itoa(i+2)
	}
	names := sqldb.Names(d, append([]sqldb.Column{key}, cols...))
	sel := make([]string, len(cols)+1)
	for i := range sel {
		sel[i] = "u.column" + strconv.Itoa(i+1)
	}
	k := d.Quote(key.Name)
	var out []sqldb.Stmt
	for _, part := range sqldb.Chunks(rows, maxParams, maxRows) {
		var a1, a2 []any
		v1 := sqldb.Values(d, &a1, part, value)
		v2 := sqldb.Values(d, &a2, part, value)
		if len(cols) > 0 {
			out = append(out, sqldb.Stmt{Args: a1, SQL: "UPDATE " + table + " SET " + strings.Join(set, ", ") +
				" FROM (VALUES " + v1 + ") AS u WHERE " + table + "." + k + " = u.column1"})
		}
		out = append(out, sqldb.Stmt{Args: a2, SQL: "INSERT INTO " + table + " (" + names + ") SELECT " + strings.Join(sel, ", ") +
			" FROM (VALUES " + v2 + ") AS u WHERE NOT EXISTS (SELECT 1 FROM " + table + " AS x WHERE x." + k + " = u.column1)"})
	}
	return out
}

// Insert inserts one row per statement: SQLite does not promise that
// RETURNING gives the rows of a multi-row insert in order. In-process,
// with the statement prepared once, that costs little.
func (d dialect) Insert(table string, key sqldb.Column, cols []sqldb.Column, rows [][]any, keys []*string) []sqldb.Stmt {
	ret := " RETURNING " + d.KeyText(d.Quote(key.Name))
	out := make([]sqldb.Stmt, len(rows))
	for i, r := range rows {
		var args []any
		q := "INSERT INTO " + table + " DEFAULT VALUES" + ret
		if len(cols) > 0 {
			q = "INSERT INTO " + table + " (" + sqldb.Names(d, cols) + ") VALUES " + sqldb.Values(d, &args, [][]any{r}, value) + ret
		}
		out[i] = sqldb.Stmt{SQL: q, Args: args, Keys: []*string{keys[i]}}
	}
	return out
}

func (d dialect) Delete(table string, key sqldb.Column, keys []any) []sqldb.Stmt {
	var out []sqldb.Stmt
	for len(keys) > 0 {
		n := min(len(keys), maxParams)
		var args []any
		q := "DELETE FROM " + table + " WHERE " + d.In(&args, d.Quote(key.Name), key, keys[:n])
		out = append(out, sqldb.Stmt{SQL: q, Args: args})
		keys = keys[n:]
	}
	return out
}

// Snapshot implements sqldb.Dialect: a SQLite read transaction (in WAL
// mode) sees the database as of its first read, whatever commits after.
func (dialect) Snapshot() *sql.TxOptions { return &sql.TxOptions{ReadOnly: true} }

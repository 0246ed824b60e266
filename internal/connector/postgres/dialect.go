package postgres

import (
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/tandemhub/tandem/internal/connector/sqldb"
	"github.com/tandemhub/tandem/internal/record"
)

// dialect is PostgreSQL's SQL. schema is where tandem's tables live.
type dialect struct {
	schema string
	// keygens holds, by quoted table and column, the expression that makes
	// a column's default (a sequence's nextval, gen_random_uuid(), …).
	// Written while the engine is made, read-only after.
	keygens map[[2]string]keygen
}

// keygen makes new keys for a column.
type keygen struct {
	expr   string
	always bool // GENERATED ALWAYS AS IDENTITY: inserting a key needs OVERRIDING SYSTEM VALUE
}

// LockRows locks the rows to write, leaving out rows that the
// applications' transactions hold instead of waiting for them.
func (*dialect) LockRows() string { return " FOR UPDATE SKIP LOCKED" }

func (*dialect) Name() string               { return "postgres" }
func (*dialect) Quote(name string) string   { return sqldb.QuoteIdent(name, `"`) }
func (*dialect) KeyText(expr string) string { return "(" + expr + ")::text" }
func (d *dialect) Outbox() string           { return sqldb.QuoteIdent(d.schema+".tandem_outbox", `"`) }
func (d *dialect) IDs() string              { return sqldb.QuoteIdent(d.schema+".tandem_ids", `"`) }

func (*dialect) Param(args *[]any, v any) string {
	*args = append(*args, v)
	return "$" + strconv.Itoa(len(*args))
}

// LookupIDs probes the primary key once per global id. The plain
// "entity = $1 AND gid = ANY($2)" lets a planner without statistics on a
// young tandem_ids (one entity in every row) scan all of the entity's rows.
func (d *dialect) LookupIDs(args *[]any, entity string, gids []any) string {
	return "SELECT g.gid, (SELECT i.k FROM " + d.IDs() + " i WHERE i.entity = " + d.Param(args, entity) +
		" AND i.gid = g.gid) FROM unnest(" + d.Param(args, texts(gids)) + "::text[]) AS g(gid)"
}

// In passes the values as one text array, cast to the column's type, so
// that the SQL is the same whatever their number.
func (d *dialect) In(args *[]any, expr string, c sqldb.Column, vals []any) string {
	return expr + " = ANY(" + d.Param(args, texts(vals)) + "::text[]::" + c.Type + "[])"
}

// texts writes encoded values as text for PostgreSQL to parse.
func texts(vals []any) []pgtype.Text {
	out := make([]pgtype.Text, len(vals))
	for i, v := range vals {
		if v != nil {
			out[i] = pgtype.Text{String: sqldb.Format(v), Valid: true}
		}
	}
	return out
}

func text(v any) any {
	if v == nil {
		return nil
	}
	return sqldb.Format(v)
}

// unnest renders "SELECT u.c0::T0, … FROM unnest($1::text[], …) AS u(c0, …)"
// for rows of cols, appending one text array per column to args.
func (d *dialect) unnest(args *[]any, cols []sqldb.Column, rows [][]any) string {
	sel := make([]string, len(cols))
	arrs := make([]string, len(cols))
	names := make([]string, len(cols))
	for j, c := range cols {
		col := make([]any, len(rows))
		for i, r := range rows {
			col[i] = r[j]
		}
		names[j] = "c" + strconv.Itoa(j)
		sel[j] = "u." + names[j] + "::" + c.Type
		arrs[j] = d.Param(args, texts(col)) + "::text[]"
	}
	return "SELECT " + strings.Join(sel, ", ") + " FROM unnest(" + strings.Join(arrs, ", ") + ") AS u(" + strings.Join(names, ", ") + ")"
}

func (d *dialect) Upsert(table string, keys, cols []sqldb.Column, rows [][]any) []sqldb.Stmt {
	all := append(keys[:len(keys):len(keys)], cols...)
	var args []any
	q := "INSERT INTO " + table + " (" + sqldb.Names(d, all) + ")" + d.override(table, keys) + " " + d.unnest(&args, all, rows)
	switch {
	case len(keys) == 0:
	case len(cols) == 0:
		q += " ON CONFLICT (" + sqldb.Names(d, keys) + ") DO NOTHING"
	default:
		set := make([]string, len(cols))
		for i, c := range cols {
			set[i] = d.Quote(c.Name) + " = EXCLUDED." + d.Quote(c.Name)
		}
		q += " ON CONFLICT (" + sqldb.Names(d, keys) + ") DO UPDATE SET " + strings.Join(set, ", ")
	}
	return []sqldb.Stmt{{SQL: q, Args: args}}
}

func (d *dialect) Merge(table string, key sqldb.Column, cols []sqldb.Column, rows [][]any, _ []sqldb.Column) []sqldb.Stmt {
	all := append([]sqldb.Column{key}, cols...)
	k := d.Quote(key.Name)
	var out []sqldb.Stmt
	if len(cols) > 0 {
		set := make([]string, len(cols))
		for i, c := range cols {
			set[i] = d.Quote(c.Name) + " = u.c" + strconv.Itoa(i+1)
		}
		var args []any
		q := "UPDATE " + table + " AS r SET " + strings.Join(set, ", ") + " FROM (" + d.unnest(&args, all, rows) +
			") AS u WHERE r." + k + " = u.c0"
		out = append(out, sqldb.Stmt{SQL: q, Args: args})
	}
	var args []any
	q := "INSERT INTO " + table + " (" + sqldb.Names(d, all) + ")" + d.override(table, all[:1]) + " SELECT * FROM (" + d.unnest(&args, all, rows) +
		") AS u WHERE NOT EXISTS (SELECT 1 FROM " + table + " AS x WHERE x." + k + " = u.c0)"
	return append(out, sqldb.Stmt{SQL: q, Args: args})
}

// override is the clause that lets an INSERT write the key of a
// GENERATED ALWAYS identity column.
func (d *dialect) override(table string, keys []sqldb.Column) string {
	if len(keys) == 1 && d.keygens[[2]string{table, keys[0].Name}].always {
		return " OVERRIDING SYSTEM VALUE"
	}
	return ""
}

// Insert makes the keys of all rows in one statement when the key column
// has a default (a serial or identity column's sequence, a uuid function):
// it evaluates the default once per row, inserts the rows with their keys
// and returns the keys in input order,
//
//	WITH src AS MATERIALIZED (SELECT <default> AS k, u.* FROM unnest(…) WITH ORDINALITY AS u(…, ord)),
//	ins AS (INSERT INTO t (key, …) SELECT k, … FROM src)
//	SELECT k::text FROM src ORDER BY ord
//
// since PostgreSQL does not promise the order of a multi-row INSERT's
// RETURNING. Otherwise it inserts one row per statement, all pipelined in
// one round trip.
func (d *dialect) Insert(table string, key sqldb.Column, cols []sqldb.Column, rows [][]any, keys []*string) []sqldb.Stmt {
	if kg, ok := d.keygens[[2]string{table, key.Name}]; ok && len(cols) > 0 {
		return []sqldb.Stmt{d.insertWithKeys(table, key, kg, cols, rows, keys)}
	}
	q := "INSERT INTO " + table + " DEFAULT VALUES"
	if len(cols) > 0 {
		ps := make([]string, len(cols))
		for i, c := range cols {
			ps[i] = "$" + strconv.Itoa(i+1) + "::text::" + c.Type
		}
		q = "INSERT INTO " + table + " (" + sqldb.Names(d, cols) + ") VALUES (" + strings.Join(ps, ", ") + ")"
	}
	q += " RETURNING " + d.KeyText(d.Quote(key.Name))
	out := make([]sqldb.Stmt, len(rows))
	for i, r := range rows {
		args := make([]any, len(r))
		for j, v := range r {
			args[j] = text(v)
		}
		out[i] = sqldb.Stmt{SQL: q, Args: args, Keys: []*string{keys[i]}}
	}
	return out
}

func (d *dialect) insertWithKeys(table string, key sqldb.Column, kg keygen, cols []sqldb.Column, rows [][]any, keys []*string) sqldb.Stmt {
	var args []any
	arrs := make([]string, len(cols))
	names := make([]string, len(cols))
	sel := make([]string, len(cols))
	for j, c := range cols {
		col := make([]any, len(rows))
		for i, r := range rows {
			col[i] = r[j]
		}
		arrs[j] = d.Param(&args, texts(col)) + "::text[]"
		names[j] = "c" + strconv.Itoa(j)
		sel[j] = names[j] + "::" + c.Type
	}
	override := d.override(table, []sqldb.Column{key})
	q := "WITH src AS MATERIALIZED (SELECT " + kg.expr + " AS k, u.* FROM unnest(" + strings.Join(arrs, ", ") +
		") WITH ORDINALITY AS u(" + strings.Join(names, ", ") + ", ord)), " +
		"ins AS (INSERT INTO " + table + " (" + d.Quote(key.Name) + ", " + sqldb.Names(d, cols) + ")" + override +
		" SELECT k, " + strings.Join(sel, ", ") + " FROM src) " +
		"SELECT (k)::text FROM src ORDER BY ord"
	return sqldb.Stmt{SQL: q, Args: args, Keys: keys}
}

func (d *dialect) Delete(table string, key sqldb.Column, keys []any) []sqldb.Stmt {
	var args []any
	q := "DELETE FROM " + table + " WHERE " + d.In(&args, d.Quote(key.Name), key, keys)
	return []sqldb.Stmt{{SQL: q, Args: args}}
}

// CheckText implements sqldb.TextChecker: PostgreSQL text holds valid
// UTF-8 without NUL bytes, in a UTF8 database.
func (*dialect) CheckText(s string) error {
	if i := strings.IndexByte(s, 0); i >= 0 {
		return fmt.Errorf("text holds a NUL byte at offset %d, which PostgreSQL text cannot store", i)
	}
	if !utf8.ValidString(s) {
		return fmt.Errorf("text is not valid UTF-8 (%s), which PostgreSQL text cannot store", record.BadUTF8(s))
	}
	return nil
}

// Snapshot implements sqldb.Dialect: REPEATABLE READ takes its snapshot
// at the first statement, and every later one reads it.
func (*dialect) Snapshot() *sql.TxOptions {
	return &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true}
}

package mysql

import (
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tandemhub/tandem/internal/connector/sqldb"
	"github.com/tandemhub/tandem/internal/record"
)

// MySQL allows 65,535 placeholders per statement; the rows also have to
// fit max_allowed_packet.
const (
	maxParams = 20000
	maxRows   = 500
)

// dialect is MySQL's and MariaDB's SQL. schema is the DSN's database,
// where tandem's tables live. idStep > 0 means a multi-row INSERT gets
// keys first, first+idStep, …
type dialect struct {
	schema string
	idStep int64
	// lock is the clause that locks the rows tandem writes (see LockRows),
	// and mariadb says whether the server is MariaDB; both learned from
	// the server's version (see locking).
	lock    string
	mariadb bool
}

// LockRows locks the rows to write without waiting for rows that the
// applications' transactions hold: SKIP LOCKED leaves them out (MariaDB
// 10.6, MySQL 8), NOWAIT fails at once (MariaDB 10.3 to 10.5).
func (d *dialect) LockRows() string { return d.lock }

// locking returns the clause that locks rows for a server of version
// (as VERSION() gives it), and whether the server is MariaDB.
func locking(version string) (lock string, mariadb bool) {
	mariadb = strings.Contains(version, "MariaDB")
	num, _, _ := strings.Cut(version, "-")
	parts := strings.Split(num, ".")
	var v [2]int // major, minor
	for i := 0; i < len(v) && i < len(parts); i++ {
		v[i], _ = strconv.Atoi(parts[i])
	}
	at := func(major, minor int) bool { return v[0] > major || v[0] == major && v[1] >= minor }
	switch {
	case mariadb && at(10, 6), !mariadb && at(8, 0):
		return " FOR UPDATE SKIP LOCKED", mariadb
	case mariadb && at(10, 3):
		return " FOR UPDATE NOWAIT", mariadb
	}
	return " FOR UPDATE", mariadb // MySQL 5.7: waits, at most innodb_lock_wait_timeout
}

func (*dialect) Name() string             { return "mysql" }
func (*dialect) Quote(name string) string { return sqldb.QuoteIdent(name, "`") }
func (d *dialect) Outbox() string         { return sqldb.QuoteIdent(d.schema+".tandem_outbox", "`") }
func (d *dialect) IDs() string            { return sqldb.QuoteIdent(d.schema+".tandem_ids", "`") }

// KeyText compares exactly, byte for byte, like the id table's columns.
func (*dialect) KeyText(expr string) string {
	return "CAST(" + expr + " AS CHAR CHARACTER SET utf8mb4) COLLATE utf8mb4_bin"
}

func (d *dialect) LookupIDs(args *[]any, entity string, gids []any) string {
	return sqldb.LookupIDs(d, args, entity, gids)
}

func (*dialect) Param(args *[]any, v any) string {
	*args = append(*args, v)
	return "?"
}

func (d *dialect) In(args *[]any, expr string, c sqldb.Column, vals []any) string {
	return expr + " IN (" + sqldb.Placeholders(d, args, vals, value) + ")"
}

// value converts an encoded value for the driver, which writes times in
// UTC (the session's time zone).
func value(v any) any {
	if t, ok := v.(time.Time); ok {
		return t.UTC()
	}
	return v
}

func (d *dialect) Upsert(table string, keys, cols []sqldb.Column, rows [][]any) []sqldb.Stmt {
	head := "INSERT INTO " + table + " (" + sqldb.Names(d, append(keys[:len(keys):len(keys)], cols...)) + ") VALUES "
	set := make([]string, len(cols))
	for i, c := range cols {
		set[i] = d.Quote(c.Name) + " = VALUES(" + d.Quote(c.Name) + ")"
	}
	if len(cols) == 0 && len(keys) > 0 {
		set = []string{d.Quote(keys[0].Name) + " = " + d.Quote(keys[0].Name)}
	}
	var tail string
	if len(keys) > 0 {
		tail = " ON DUPLICATE KEY UPDATE " + strings.Join(set, ", ")
	}
	var out []sqldb.Stmt
	for _, part := range sqldb.Chunks(rows, maxParams, maxRows) {
		var args []any
		out = append(out, sqldb.Stmt{SQL: head + sqldb.Values(d, &args, part, value) + tail, Args: args})
	}
	return out
}

// derived renders rows as a derived table "(SELECT ? AS c0, … UNION ALL SELECT ?, …) AS u".
func (d *dialect) derived(args *[]any, rows [][]any) string {
	var b strings.Builder
	b.WriteByte('(')
	for i, r := range rows {
		if i > 0 {
			b.WriteString(" UNION ALL ")
		}
		b.WriteString("SELECT ")
		for j, v := range r {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString(d.Param(args, value(v)))
			if i == 0 {
				b.WriteString(" AS c" + strconv.Itoa(j))
			}
		}
	}
	b.WriteString(") AS u")
	return b.String()
}

// Merge names the absent required columns in its INSERT with NULL:
// MySQL checks that every NOT NULL column without a default is named
// when it prepares an INSERT … SELECT, even one that inserts nothing.
func (d *dialect) Merge(table string, key sqldb.Column, cols []sqldb.Column, rows [][]any, absent []sqldb.Column) []sqldb.Stmt {
	k := d.Quote(key.Name)
	sel := make([]string, len(cols)+1, len(cols)+1+len(absent))
	for i := range sel {
		sel[i] = "u.c" + strconv.Itoa(i)
	}
	for range absent {
		sel = append(sel, "NULL")
	}
	names := sqldb.Names(d, append(append([]sqldb.Column{key}, cols...), absent...))
	var out []sqldb.Stmt
	for _, part := range sqldb.Chunks(rows, maxParams, maxRows) {
		if len(cols) > 0 {
			set := make([]string, len(cols))
			for i, c := range cols {
				set[i] = "r." + d.Quote(c.Name) + " = u.c" + strconv.Itoa(i+1)
			}
			var args []any
			q := "UPDATE " + table + " AS r JOIN " + d.derived(&args, part) + " ON r." + k + " = u.c0 SET " + strings.Join(set, ", ")
			out = append(out, sqldb.Stmt{SQL: q, Args: args})
		}
		var args []any
		q := "INSERT INTO " + table + " (" + names + ") SELECT " + strings.Join(sel, ", ") + " FROM " + d.derived(&args, part) +
			" WHERE NOT EXISTS (SELECT 1 FROM " + table + " AS x WHERE x." + k + " = u.c0)"
		out = append(out, sqldb.Stmt{SQL: q, Args: args})
	}
	return out
}

// Insert makes keys with AUTO_INCREMENT. Where the server hands one
// multi-row INSERT consecutive keys it sends one statement per chunk and
// derives the keys from the first; otherwise one statement per row.
func (d *dialect) Insert(table string, key sqldb.Column, cols []sqldb.Column, rows [][]any, keys []*string) []sqldb.Stmt {
	head := "INSERT INTO " + table + " (" + sqldb.Names(d, cols) + ") VALUES "
	per := maxRows
	if d.idStep == 0 {
		per = 1
	}
	var out []sqldb.Stmt
	first := 0
	for _, part := range sqldb.Chunks(rows, maxParams, per) {
		var args []any
		vals := sqldb.Values(d, &args, part, value)
		if len(cols) == 0 {
			vals = strings.TrimSuffix(strings.Repeat("(), ", len(part)), ", ")
		}
		out = append(out, sqldb.Stmt{SQL: head + vals, Args: args, Keys: keys[first : first+len(part)], IDStep: max(d.idStep, 1)})
		first += len(part)
	}
	return out
}

func (d *dialect) Delete(table string, key sqldb.Column, keys []any) []sqldb.Stmt {
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

// CheckText implements sqldb.TextChecker: tandem's MySQL columns are
// utf8mb4, which holds valid UTF-8 only.
func (*dialect) CheckText(s string) error {
	if !utf8.ValidString(s) {
		return fmt.Errorf("text is not valid UTF-8 (%s), which a utf8mb4 column cannot store", record.BadUTF8(s))
	}
	return nil
}

// Snapshot implements sqldb.Dialect: InnoDB's REPEATABLE READ reads every
// statement from the snapshot its first read took.
func (*dialect) Snapshot() *sql.TxOptions {
	return &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true}
}

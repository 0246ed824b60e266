package mysql

import (
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"strings"

	"github.com/tandemhub/tandem/internal/connector/sqldb"
)

// Setup creates tandem's tables and, per table, three AFTER row triggers.
// MySQL commits DDL at once and cannot replace a trigger in place, so a
// trigger is only dropped and made again when its body changed; running
// Setup again on an installed database changes nothing.
func (d *dialect) Setup(ctx context.Context, db *sql.DB, caps []sqldb.Capture) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	var got sql.NullInt64
	if err := conn.QueryRowContext(ctx, "SELECT GET_LOCK('tandem setup', 60)").Scan(&got); err != nil {
		return fmt.Errorf("take the setup lock: %w", err)
	}
	if got.Int64 != 1 {
		return errors.New("another tandem setup is running (lock not granted)")
	}
	defer func() { _, _ = conn.ExecContext(context.WithoutCancel(ctx), "DO RELEASE_LOCK('tandem setup')") }()
	if err := d.tables(ctx, conn); err != nil {
		return err
	}
	return d.install(ctx, conn, caps)
}

// tables creates the outbox and the id table, and brings an outbox made
// by an older tandem up to date.
func (d *dialect) tables(ctx context.Context, conn *sql.Conn) error {
	stmts := []string{
		`CREATE TABLE IF NOT EXISTS ` + d.Outbox() + ` (
			seq BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
			tbl VARCHAR(255) NOT NULL,
			k   VARCHAR(255) NOT NULL,
			op  CHAR(1) NOT NULL,
			at  TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)
		) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
		`CREATE TABLE IF NOT EXISTS ` + d.IDs() + ` (
			entity VARCHAR(191) NOT NULL,
			gid    VARCHAR(191) NOT NULL,
			k      VARCHAR(255) NOT NULL,
			PRIMARY KEY (entity, gid),
			KEY tandem_ids_k (entity, k)
		) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
	}
	for _, s := range stmts {
		if _, err := conn.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("%w; statement: %s", err, s)
		}
	}
	// Which columns an update changed (NULL: all, for inserts and deletes).
	var hasCols int
	if err := conn.QueryRowContext(ctx, `SELECT COUNT(*) FROM information_schema.COLUMNS
		WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 'tandem_outbox' AND COLUMN_NAME = 'cols'`, d.schema).Scan(&hasCols); err != nil {
		return fmt.Errorf("look at the outbox: %w", err)
	}
	if hasCols == 0 {
		if _, err := conn.ExecContext(ctx, "ALTER TABLE "+d.Outbox()+" ADD COLUMN cols TEXT NULL"); err != nil {
			return fmt.Errorf("add cols to the outbox: %w", err)
		}
	}
	// Apply looks up the outbox rows of the keys it writes.
	var hasIndex int
	if err := conn.QueryRowContext(ctx, `SELECT COUNT(*) FROM information_schema.STATISTICS
		WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 'tandem_outbox' AND INDEX_NAME = 'tandem_outbox_k'`, d.schema).Scan(&hasIndex); err != nil {
		return fmt.Errorf("look at the outbox: %w", err)
	}
	if hasIndex == 0 {
		if _, err := conn.ExecContext(ctx, "ALTER TABLE "+d.Outbox()+" ADD INDEX tandem_outbox_k (tbl, k)"); err != nil {
			return fmt.Errorf("index the outbox: %w", err)
		}
	}
	return nil
}

// install makes the capture triggers of caps that are not in place as
// they should be, and drops those they replace.
//
// MySQL cannot make triggers in a transaction. So that a failure
// leaves capture as it was, each new trigger is made under a name of
// its own beside the one it replaces, and the old ones are dropped
// only once every new one is in (a moment with both only writes an
// outbox row twice, which capture reads as one change).
func (d *dialect) install(ctx context.Context, conn *sql.Conn, caps []sqldb.Capture) error {
	existing, err := d.triggers(ctx, conn)
	if err != nil {
		return fmt.Errorf("read existing triggers: %w", err)
	}
	var made, old []string
	undo := func(err error) error {
		for _, q := range made {
			if _, derr := conn.ExecContext(context.WithoutCancel(ctx), "DROP TRIGGER IF EXISTS "+q); derr != nil {
				return fmt.Errorf("%w; and dropping the trigger %s made before it failed: %w", err, q, derr)
			}
		}
		return err
	}
	for _, c := range caps {
		schema, name := d.split(c.Table)
		for _, t := range d.capture(c) {
			kept, replaced := keep(existing, schema, name, t)
			old = append(old, replaced...)
			if kept {
				continue
			}
			q := d.Quote(schema + "." + t.name)
			s := "CREATE TRIGGER " + q + " AFTER " + t.event + " ON " + d.table(c.Table) + " FOR EACH ROW " + t.body
			if _, err := conn.ExecContext(ctx, s); err != nil {
				return undo(fmt.Errorf("%w; statement: %s", err, s))
			}
			made = append(made, q)
		}
	}
	for _, q := range old {
		if _, err := conn.ExecContext(ctx, "DROP TRIGGER IF EXISTS "+q); err != nil {
			return fmt.Errorf("drop the replaced trigger %s: %w", q, err)
		}
	}
	return nil
}

// keep reports whether one of the existing triggers on schema.table is
// t as it should be (kept), and returns the quoted names of the others
// for t's event, which a new trigger replaces.
func keep(existing []installed, schema, table string, t trigger) (kept bool, replaced []string) {
	for _, x := range existing {
		if x.of(schema, table, t.event) {
			if x.body == t.body && !kept {
				kept = true
			} else {
				replaced = append(replaced, x.quoted)
			}
		}
	}
	return kept, replaced
}

// Installed implements sqldb.Dialect: each table needs one trigger per
// event whose body is what Setup would install.
func (d *dialect) Installed(ctx context.Context, db *sql.DB, caps []sqldb.Capture) ([]string, error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	existing, err := d.triggers(ctx, conn)
	if err != nil {
		return nil, err
	}
	var problems []string
	for _, c := range caps {
		schema, name := d.split(c.Table)
		missing, stale := 0, 0
		for _, t := range d.capture(c) {
			found, same := false, false
			for _, x := range existing {
				if x.of(schema, name, t.event) {
					found, same = true, same || x.body == t.body
				}
			}
			switch {
			case !found:
				missing++
			case !same:
				stale++
			}
		}
		if p := sqldb.Problem(c.Table, missing, stale); p != "" {
			problems = append(problems, p)
		}
	}
	return problems, nil
}

// split returns the database and name of a configured table.
func (d *dialect) split(table string) (schema, name string) {
	if s, n, ok := strings.Cut(table, "."); ok {
		return s, n // a trigger lives in its table's database
	}
	return d.schema, table
}

// table qualifies an unqualified table name with the DSN's database.
func (d *dialect) table(name string) string {
	if strings.Contains(name, ".") {
		return d.Quote(name)
	}
	return d.Quote(d.schema + "." + name)
}

type trigger struct{ name, event, body string }

// literal renders s as a string literal whose meaning does not depend on
// the session's sql_mode (NO_BACKSLASH_ESCAPES or not): plain text between
// quotes, anything else in hexadecimal, so no quote or backslash in a
// name can end the literal.
func literal(s string) string {
	if sqldb.Plain(s) {
		return "'" + s + "'"
	}
	return "CONVERT(X'" + hex.EncodeToString([]byte(s)) + "' USING utf8mb4)"
}

// capture returns the triggers of table c. Each is named for its table,
// event and body, so a changed body gets a new trigger beside the old one
// (see Setup).
func (d *dialect) capture(c sqldb.Capture) []trigger {
	name := sqldb.TriggerName(c.Table)
	tbl := literal(c.Table)
	key := d.Quote(c.Key.Name)
	ins := func(row, op string) string {
		cols := "NULL"
		if op == "U" {
			parts := []string{"','"}
			for _, c := range c.Columns {
				q := d.Quote(c)
				// Compared as bytes: a collation that ignores case would
				// take a fix of letter case for no change.
				parts = append(parts, "IF(BINARY OLD."+q+" <=> BINARY NEW."+q+", NULL, "+literal(c)+")")
			}
			cols = "''"
			if len(parts) > 1 {
				cols = "CONCAT_WS(" + strings.Join(parts, ", ") + ")"
			}
		}
		return "INSERT INTO " + d.Outbox() + " (tbl, k, op, cols) VALUES (" + tbl + ", " + d.KeyText(row+"."+key) + ", '" + op + "', " + cols + ");"
	}
	wrap := func(s string) string {
		return "BEGIN IF NOT (@tandem_origin <=> 1) THEN " + s + " END IF; END"
	}
	ts := []trigger{
		{"_i", "INSERT", wrap(ins("NEW", "I"))},
		{"_u", "UPDATE", wrap("IF NOT (BINARY OLD." + key + " <=> BINARY NEW." + key + ") THEN " + ins("OLD", "D") + " END IF; " + ins("NEW", "U"))},
		{"_d", "DELETE", wrap(ins("OLD", "D"))},
	}
	for i := range ts {
		h := fnv.New32a()
		h.Write([]byte(ts[i].body))
		ts[i].name = fmt.Sprintf("%s%s_%08x", name, ts[i].name, h.Sum32())
	}
	return ts
}

// installed is one of tandem's triggers in the database.
type installed struct {
	schema, table, event, body string
	quoted                     string // schema.name, quoted
}

// of reports whether x captures event on schema.table.
func (x installed) of(schema, table, event string) bool {
	return x.schema == schema && x.table == table && strings.EqualFold(x.event, event)
}

// triggers returns tandem's triggers, in every database the server holds.
func (d *dialect) triggers(ctx context.Context, conn *sql.Conn) ([]installed, error) {
	rows, err := conn.QueryContext(ctx, `SELECT TRIGGER_SCHEMA, TRIGGER_NAME, EVENT_OBJECT_TABLE, EVENT_MANIPULATION, ACTION_STATEMENT
		FROM information_schema.TRIGGERS WHERE TRIGGER_NAME LIKE 'tandem\_%'`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []installed
	for rows.Next() {
		var x installed
		var name string
		if err := rows.Scan(&x.schema, &name, &x.table, &x.event, &x.body); err != nil {
			return nil, err
		}
		x.quoted = d.Quote(x.schema + "." + name)
		out = append(out, x)
	}
	return out, rows.Err()
}

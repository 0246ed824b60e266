package mysql

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"tandem/internal/connector/sqldb"
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
	if err := conn.QueryRowContext(ctx, "SELECT GET_LOCK('tandem setup', 60)").Scan(&got); err != nil || got.Int64 != 1 {
		return fmt.Errorf("another tandem setup is running (lock not granted: %v)", err)
	}
	defer func() { _, _ = conn.ExecContext(context.WithoutCancel(ctx), "DO RELEASE_LOCK('tandem setup')") }()
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
	existing, err := d.triggers(ctx, conn)
	if err != nil {
		return fmt.Errorf("read existing triggers: %w", err)
	}
	for _, c := range caps {
		schema := d.schema
		if s, _, ok := strings.Cut(c.Table, "."); ok {
			schema = s // a trigger lives in its table's database
		}
		for _, t := range d.capture(c) {
			q := d.Quote(schema + "." + t.name)
			if existing[q] == t.body {
				continue
			}
			if _, err := conn.ExecContext(ctx, "DROP TRIGGER IF EXISTS "+q); err != nil {
				return err
			}
			s := "CREATE TRIGGER " + q + " AFTER " + t.event + " ON " + d.table(c.Table) + " FOR EACH ROW " + t.body
			if _, err := conn.ExecContext(ctx, s); err != nil {
				return fmt.Errorf("%w; statement: %s", err, s)
			}
		}
	}
	return nil
}

// table qualifies an unqualified table name with the DSN's database.
func (d *dialect) table(name string) string {
	if strings.Contains(name, ".") {
		return d.Quote(name)
	}
	return d.Quote(d.schema + "." + name)
}

type trigger struct{ name, event, body string }

func (d *dialect) capture(c sqldb.Capture) []trigger {
	name := sqldb.TriggerName(c.Table)
	tbl := sqldb.QuoteString(c.Table)
	key := d.Quote(c.Key.Name)
	ins := func(row, op string) string {
		cols := "NULL"
		if op == "U" {
			parts := []string{"','"}
			for _, c := range c.Columns {
				q := d.Quote(c)
				parts = append(parts, "IF(OLD."+q+" <=> NEW."+q+", NULL, "+sqldb.QuoteString(c)+")")
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
	return []trigger{
		{name + "_i", "INSERT", wrap(ins("NEW", "I"))},
		{name + "_u", "UPDATE", wrap("IF NOT (OLD." + key + " <=> NEW." + key + ") THEN " + ins("OLD", "D") + " END IF; " + ins("NEW", "U"))},
		{name + "_d", "DELETE", wrap(ins("OLD", "D"))},
	}
}

// triggers returns the bodies of tandem's triggers, by quoted schema.name.
func (d *dialect) triggers(ctx context.Context, conn *sql.Conn) (map[string]string, error) {
	rows, err := conn.QueryContext(ctx, `SELECT TRIGGER_SCHEMA, TRIGGER_NAME, ACTION_STATEMENT
		FROM information_schema.TRIGGERS WHERE TRIGGER_NAME LIKE 'tandem\_%'`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var schema, name, body string
		if err := rows.Scan(&schema, &name, &body); err != nil {
			return nil, err
		}
		out[d.Quote(schema+"."+name)] = body
	}
	return out, rows.Err()
}

package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/tandemhub/tandem/internal/connector/sqldb"
)

var tables = []string{
	`CREATE TABLE IF NOT EXISTS ` + outbox + ` (
		seq INTEGER PRIMARY KEY AUTOINCREMENT,
		tbl TEXT NOT NULL,
		k   TEXT NOT NULL,
		op  TEXT NOT NULL,
		at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')))`,
	`CREATE TABLE IF NOT EXISTS ` + ids + ` (
		entity TEXT NOT NULL,
		gid    TEXT NOT NULL,
		k      TEXT NOT NULL,
		PRIMARY KEY (entity, gid)) WITHOUT ROWID`,
	`CREATE INDEX IF NOT EXISTS "tandem_ids_k" ON ` + ids + ` (entity, k)`,
	`CREATE TABLE IF NOT EXISTS ` + control + ` (
		id       INTEGER PRIMARY KEY CHECK (id = 1),
		applying INTEGER NOT NULL DEFAULT 0)`,
	`INSERT OR IGNORE INTO ` + control + ` (id, applying) VALUES (1, 0)`,
}

// Setup creates tandem's tables and, per table, three AFTER triggers
// that record the key in the outbox unless tandem itself is writing. It
// runs in one transaction, so capture is either fully installed or not.
func (d dialect) Setup(ctx context.Context, db *sql.DB, caps []sqldb.Capture) (err error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	stmts := append([]string(nil), tables...)
	// Which columns an update changed (NULL: all, for inserts and deletes).
	var hasCols int
	for _, s := range tables[:1] { // the outbox must exist before it can be altered
		if _, err := tx.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("%w; statement: %s", err, s)
		}
	}
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM pragma_table_info('tandem_outbox') WHERE name = 'cols'`).Scan(&hasCols); err != nil {
		return fmt.Errorf("look at the outbox: %w", err)
	}
	if hasCols == 0 {
		stmts = append(stmts, `ALTER TABLE `+outbox+` ADD COLUMN cols TEXT`)
	}
	for _, c := range caps {
		for _, t := range d.triggers(c) {
			stmts = append(stmts, "DROP TRIGGER IF EXISTS "+d.Quote(t.name), t.create)
		}
	}
	for _, s := range stmts {
		if _, err := tx.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("%w; statement: %s", err, s)
		}
	}
	return tx.Commit()
}

// Installed implements sqldb.Dialect: SQLite keeps the text of each
// CREATE TRIGGER as it was run, which is compared with what Setup runs.
func (d dialect) Installed(ctx context.Context, db *sql.DB, caps []sqldb.Capture) ([]string, error) {
	var problems []string
	for _, c := range caps {
		missing, stale := 0, 0
		for _, t := range d.triggers(c) {
			var got string
			err := db.QueryRowContext(ctx, `SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ?`, t.name).Scan(&got)
			switch {
			case errors.Is(err, sql.ErrNoRows):
				missing++
			case err != nil:
				return nil, err
			case got != t.create:
				stale++
			}
		}
		if p := sqldb.Problem(c.Table, missing, stale); p != "" {
			problems = append(problems, p)
		}
	}
	return problems, nil
}

// trigger is one capture trigger: its name and the statement making it.
type trigger struct{ name, create string }

// literal quotes s as a string literal: SQLite knows no escapes in one,
// only the doubled quote.
func literal(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

func (d dialect) triggers(c sqldb.Capture) []trigger {
	name := sqldb.TriggerName(c.Table)
	tbl := literal(c.Table)
	key := d.Quote(c.Key.Name)
	when := ` WHEN coalesce((SELECT applying FROM ` + control + ` WHERE id = 1), 0) = 0`
	ins := func(row, op string) string {
		cols := "NULL"
		if op == "U" {
			var parts []string
			for _, c := range c.Columns {
				q := d.Quote(c)
				parts = append(parts, "CASE WHEN OLD."+q+" IS NOT NEW."+q+" COLLATE BINARY THEN "+literal(c+",")+" ELSE '' END")
			}
			cols = "''"
			if len(parts) > 0 {
				cols = "rtrim(" + strings.Join(parts, " || ") + ", ',')"
			}
		}
		return `INSERT INTO ` + outbox + ` (tbl, k, op, cols) VALUES (` + tbl + `, ` + d.KeyText(row+"."+key) + `, '` + op + `', ` + cols + `);`
	}
	on := " ON " + d.Quote(c.Table) + " FOR EACH ROW" + when + " BEGIN "
	out := []string{
		"AFTER INSERT" + on + ins("NEW", "I") + " END",
		"AFTER UPDATE" + on + `INSERT INTO ` + outbox + ` (tbl, k, op) SELECT ` + tbl + `, ` + d.KeyText("OLD."+key) +
			`, 'D' WHERE OLD.` + key + ` IS NOT NEW.` + key + ` COLLATE BINARY; ` + ins("NEW", "U") + " END",
		"AFTER DELETE" + on + ins("OLD", "D") + " END",
	}
	var ts []trigger
	for i, suffix := range []string{"_i", "_u", "_d"} {
		ts = append(ts, trigger{name + suffix, "CREATE TRIGGER " + d.Quote(name+suffix) + " " + out[i]})
	}
	return ts
}

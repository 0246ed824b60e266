package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"tandem/internal/connector/sqldb"
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
	for _, c := range caps {
		stmts = append(stmts, d.triggers(c)...)
	}
	for _, s := range stmts {
		if _, err := tx.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("%w; statement: %s", err, s)
		}
	}
	return tx.Commit()
}

func (d dialect) triggers(c sqldb.Capture) []string {
	name := sqldb.TriggerName(c.Table)
	tbl := sqldb.QuoteString(c.Table)
	key := d.Quote(c.Key.Name)
	when := ` WHEN coalesce((SELECT applying FROM ` + control + ` WHERE id = 1), 0) = 0`
	ins := func(row, op string) string {
		return `INSERT INTO ` + outbox + ` (tbl, k, op) VALUES (` + tbl + `, ` + d.KeyText(row+"."+key) + `, '` + op + `');`
	}
	on := " ON " + d.Quote(c.Table) + " FOR EACH ROW" + when + " BEGIN "
	out := []string{
		"AFTER INSERT" + on + ins("NEW", "I") + " END",
		"AFTER UPDATE" + on + `INSERT INTO ` + outbox + ` (tbl, k, op) SELECT ` + tbl + `, ` + d.KeyText("OLD."+key) +
			`, 'D' WHERE OLD.` + key + ` IS NOT NEW.` + key + `; ` + ins("NEW", "U") + " END",
		"AFTER DELETE" + on + ins("OLD", "D") + " END",
	}
	var stmts []string
	for i, suffix := range []string{"_i", "_u", "_d"} {
		tn := d.Quote(name + suffix)
		stmts = append(stmts, "DROP TRIGGER IF EXISTS "+tn, "CREATE TRIGGER "+tn+" "+out[i])
	}
	return stmts
}

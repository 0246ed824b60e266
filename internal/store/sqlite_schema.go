package store

import (
	"context"
	"database/sql"

	_ "modernc.org/sqlite" // the pure-Go SQLite driver
)

const schema = `
CREATE TABLE IF NOT EXISTS changes (
  seq INTEGER PRIMARY KEY,
  system TEXT NOT NULL, entity TEXT NOT NULL, key TEXT NOT NULL,
  op INTEGER NOT NULL, fields BLOB, gid TEXT NOT NULL DEFAULT '',
  version INTEGER NOT NULL DEFAULT 0, at INTEGER NOT NULL DEFAULT 0,
  state INTEGER NOT NULL, note TEXT NOT NULL DEFAULT '',
  logged INTEGER NOT NULL DEFAULT 0
);
-- No index by record: History, an operator's look, scans; keeping an
-- index would cost every captured change a second B-tree insert.
DROP INDEX IF EXISTS changes_gid;
CREATE INDEX IF NOT EXISTS changes_held ON changes(state) WHERE state = 1;
CREATE INDEX IF NOT EXISTS changes_held_key ON changes(system, entity, key) WHERE state = 1;
CREATE TABLE IF NOT EXISTS links (
  entity TEXT NOT NULL, system TEXT NOT NULL, key TEXT NOT NULL, gid TEXT NOT NULL,
  at INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (entity, system, key)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS links_gid ON links(entity, gid, system);
CREATE TABLE IF NOT EXISTS aliases (
  entity TEXT NOT NULL, old TEXT NOT NULL, gid TEXT NOT NULL,
  PRIMARY KEY (entity, old)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS gone (
  entity TEXT NOT NULL, system TEXT NOT NULL, key TEXT NOT NULL, gid TEXT NOT NULL, at INTEGER NOT NULL,
  PRIMARY KEY (entity, system, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS golden (
  entity TEXT NOT NULL, gid TEXT NOT NULL, fields BLOB, sources BLOB,
  deleted INTEGER NOT NULL DEFAULT 0, ver INTEGER NOT NULL, updated INTEGER NOT NULL,
  at INTEGER NOT NULL DEFAULT 0,
  flips INTEGER NOT NULL DEFAULT 0,
  flip_peer TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (entity, gid)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS natural (
  entity TEXT NOT NULL, value TEXT NOT NULL, gid TEXT NOT NULL,
  PRIMARY KEY (entity, value)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS outbound (
  seq INTEGER PRIMARY KEY,
  system TEXT NOT NULL, entity TEXT NOT NULL, gid TEXT NOT NULL,
  ver INTEGER NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
  next_at INTEGER NOT NULL DEFAULT 0, wait TEXT NOT NULL DEFAULT '',
  error TEXT NOT NULL DEFAULT '', created INTEGER NOT NULL,
  tried INTEGER NOT NULL DEFAULT 0,
  sent BLOB,
  gen INTEGER NOT NULL DEFAULT 0,
  UNIQUE (system, entity, gid)
);
CREATE INDEX IF NOT EXISTS outbound_due ON outbound(system, seq);
CREATE TABLE IF NOT EXISTS dead (
  id INTEGER PRIMARY KEY,
  stage TEXT NOT NULL, system TEXT NOT NULL, entity TEXT NOT NULL,
  key TEXT NOT NULL DEFAULT '', gid TEXT NOT NULL DEFAULT '', op INTEGER NOT NULL,
  fields BLOB, field TEXT NOT NULL DEFAULT '', error TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0, at INTEGER NOT NULL, state TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS dead_state ON dead(state, id);
CREATE INDEX IF NOT EXISTS dead_record ON dead(system, entity, key);
CREATE INDEX IF NOT EXISTS dead_gid ON dead(system, entity, gid);
CREATE TABLE IF NOT EXISTS cursors (
  system TEXT NOT NULL, name TEXT NOT NULL, value TEXT NOT NULL,
  PRIMARY KEY (system, name)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS counters (
  system TEXT NOT NULL, entity TEXT NOT NULL,
  captured INTEGER NOT NULL DEFAULT 0, dropped INTEGER NOT NULL DEFAULT 0,
  delivered INTEGER NOT NULL DEFAULT 0, dead INTEGER NOT NULL DEFAULT 0,
  last_capture INTEGER NOT NULL DEFAULT 0, last_delivery INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (system, entity)
) WITHOUT ROWID;
`

// migrate brings a store made by an earlier tandem up to this schema.
func migrate(ctx context.Context, db *sql.DB) error {
	for _, c := range []struct{ table, column, ddl string }{
		{"golden", "at", "ALTER TABLE golden ADD COLUMN at INTEGER NOT NULL DEFAULT 0"},
		{"golden", "flips", "ALTER TABLE golden ADD COLUMN flips INTEGER NOT NULL DEFAULT 0"},
		{"golden", "flip_peer", "ALTER TABLE golden ADD COLUMN flip_peer TEXT NOT NULL DEFAULT ''"},
		{"outbound", "tried", "ALTER TABLE outbound ADD COLUMN tried INTEGER NOT NULL DEFAULT 0"},
		{"outbound", "sent", "ALTER TABLE outbound ADD COLUMN sent BLOB"},
		{"outbound", "gen", "ALTER TABLE outbound ADD COLUMN gen INTEGER NOT NULL DEFAULT 0"},
		{"links", "at", "ALTER TABLE links ADD COLUMN at INTEGER NOT NULL DEFAULT 0"},
		{"changes", "logged", "ALTER TABLE changes ADD COLUMN logged INTEGER NOT NULL DEFAULT 0"},
	} {
		var n int
		if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM pragma_table_info(?) WHERE name = ?", c.table, c.column).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			if _, err := db.ExecContext(ctx, c.ddl); err != nil {
				return err
			}
		}
	}
	return nil
}

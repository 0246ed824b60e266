package client

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

// Dialect is the SQL dialect of the application's database.
type Dialect int

const (
	// Postgres is PostgreSQL (and databases speaking its dialect).
	Postgres Dialect = iota
	// MySQL is MySQL or MariaDB.
	MySQL
	// SQLite is SQLite 3.24 or later.
	SQLite
)

func (d Dialect) String() string {
	return [...]string{"postgres", "mysql", "sqlite"}[d]
}

// statements is the SQL the client runs, in one dialect.
type statements struct {
	create []string

	outboxInsert string // queue, id, body, stamp
	outboxLock   string // run first in the relay's transaction, if set
	outboxRead   string // limit
	outboxDelete string // prefix of DELETE … WHERE seq IN

	linkGID    string // entity, key → gid
	linkKey    string // entity, gid → key
	linkPut    string // entity, gid, key
	linkDelete string // entity, gid
	linkUnkey  string // entity, key, gid: drop links of key to other gids

	inboxPut   string // id, at: one row affected if new
	inboxPrune string // before

	dollar bool
}

func newStatements(d Dialect, prefix string) statements {
	outbox, links, inbox := prefix+"outbox", prefix+"links", prefix+"inbox"
	s := statements{
		outboxInsert: "INSERT INTO " + outbox + " (queue, id, body, stamp) VALUES (?, ?, ?, ?)",
		outboxRead:   "SELECT seq, queue, id, body, stamp FROM " + outbox + " ORDER BY seq LIMIT ?",
		outboxDelete: "DELETE FROM " + outbox + " WHERE seq IN ",
		linkGID:      "SELECT gid FROM " + links + " WHERE entity = ? AND k = ?",
		linkKey:      "SELECT k FROM " + links + " WHERE entity = ? AND gid = ?",
		linkDelete:   "DELETE FROM " + links + " WHERE entity = ? AND gid = ?",
		linkUnkey:    "DELETE FROM " + links + " WHERE entity = ? AND k = ? AND gid <> ?",
		inboxPrune:   "DELETE FROM " + inbox + " WHERE at < ?",
	}
	switch d {
	case Postgres:
		s.dollar = true
		s.create = []string{
			"CREATE TABLE IF NOT EXISTS " + outbox + " (seq bigserial PRIMARY KEY, queue text NOT NULL, id text NOT NULL, body text NOT NULL, stamp smallint NOT NULL DEFAULT 0)",
			"CREATE TABLE IF NOT EXISTS " + links + " (entity text NOT NULL, gid text NOT NULL, k text NOT NULL, PRIMARY KEY (entity, gid))",
			"CREATE UNIQUE INDEX IF NOT EXISTS " + links + "_k ON " + links + " (entity, k)",
			"CREATE TABLE IF NOT EXISTS " + inbox + " (id text PRIMARY KEY, at bigint NOT NULL)",
			"CREATE INDEX IF NOT EXISTS " + inbox + "_at ON " + inbox + " (at)",
		}
		// Locking the rows read keeps a second relay from sending them too.
		s.outboxRead += " FOR UPDATE"
		s.linkPut = "INSERT INTO " + links + " (entity, gid, k) VALUES (?, ?, ?) ON CONFLICT (entity, gid) DO UPDATE SET k = excluded.k"
		s.inboxPut = "INSERT INTO " + inbox + " (id, at) VALUES (?, ?) ON CONFLICT (id) DO NOTHING"
	case MySQL:
		s.create = []string{
			"CREATE TABLE IF NOT EXISTS " + outbox + " (seq bigint AUTO_INCREMENT PRIMARY KEY, queue varchar(16) NOT NULL, id varchar(128) NOT NULL, body longtext NOT NULL, stamp smallint NOT NULL DEFAULT 0)",
			"CREATE TABLE IF NOT EXISTS " + links + " (entity varchar(128) NOT NULL, gid varchar(128) NOT NULL, k varchar(512) NOT NULL, PRIMARY KEY (entity, gid), UNIQUE KEY " + links + "_k (entity, k))",
			"CREATE TABLE IF NOT EXISTS " + inbox + " (id varchar(128) PRIMARY KEY, at bigint NOT NULL, KEY " + inbox + "_at (at))",
		}
		s.outboxRead += " FOR UPDATE"
		s.linkPut = "INSERT INTO " + links + " (entity, gid, k) VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE k = VALUES(k)"
		s.inboxPut = "INSERT IGNORE INTO " + inbox + " (id, at) VALUES (?, ?)"
	case SQLite:
		s.create = []string{
			"CREATE TABLE IF NOT EXISTS " + outbox + " (seq INTEGER PRIMARY KEY AUTOINCREMENT, queue TEXT NOT NULL, id TEXT NOT NULL, body TEXT NOT NULL, stamp INTEGER NOT NULL DEFAULT 0)",
			"CREATE TABLE IF NOT EXISTS " + links + " (entity TEXT NOT NULL, gid TEXT NOT NULL, k TEXT NOT NULL, PRIMARY KEY (entity, gid))",
			"CREATE UNIQUE INDEX IF NOT EXISTS " + links + "_k ON " + links + " (entity, k)",
			"CREATE TABLE IF NOT EXISTS " + inbox + " (id TEXT PRIMARY KEY, at INTEGER NOT NULL)",
			"CREATE INDEX IF NOT EXISTS " + inbox + "_at ON " + inbox + " (at)",
		}
		s.linkPut = "INSERT INTO " + links + " (entity, gid, k) VALUES (?, ?, ?) ON CONFLICT (entity, gid) DO UPDATE SET k = excluded.k"
		s.inboxPut = "INSERT OR IGNORE INTO " + inbox + " (id, at) VALUES (?, ?)"
		// A write that changes nothing takes the write lock first (waiting
		// for it), so the relay's delete cannot fail for a busy database
		// after it has sent the rows.
		s.outboxLock = "DELETE FROM " + outbox + " WHERE seq < 0"
	}
	return s
}

// bind rewrites ? placeholders as $1, $2… for PostgreSQL.
func (s statements) bind(q string) string {
	if !s.dollar {
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

// in renders an IN list of n placeholders.
func (s statements) in(n int) string {
	return "(" + strings.TrimSuffix(strings.Repeat("?, ", n), ", ") + ")"
}

// Setup creates the client's tables if they do not exist (idempotent):
// the outbox, the links of records created from tandem's changes, and
// the ids of applied messages.
func (c *Client) Setup(ctx context.Context) error {
	for _, q := range c.sql.create {
		if _, err := c.o.DB.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("client: set up tables: %w", err)
		}
	}
	return nil
}

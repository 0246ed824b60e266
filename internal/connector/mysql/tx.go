package mysql

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"time"

	"github.com/tandemhub/tandem/internal/connector/sqldb"
)

// noWait makes one MariaDB statement fail at once, with error 1205,
// instead of waiting for a lock that another transaction holds; the
// server then queues no lock request, so the statement can never close
// a deadlock either. It is not used on the SELECT that locks the rows,
// which never waits anyway: under a zero timeout MariaDB 10.11 answers
// SKIP LOCKED with error 1180 instead of skipping.
const noWait = "SET STATEMENT innodb_lock_wait_timeout = 0 FOR "

// Write runs fn on one connection with the echo marker set, and clears
// the marker afterwards; a connection whose marker cannot be cleared is
// dropped from the pool.
//
// The transaction is READ COMMITTED: its searches take no gap locks, so
// applications' inserts never wait for tandem, and each of its
// statements reads the latest commits. On MariaDB its writes do not
// wait for a lock either: each fails at once instead (see noWait).
// MySQL cannot refuse to wait; there the session waits at most a second
// (innodb_lock_wait_timeout = 1) for the rest of the transaction.
func (d *dialect) Write(ctx context.Context, db *sql.DB, fn func(sqldb.Tx) error) (err error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	mark, unmark := "SET @tandem_origin = 1", "SET @tandem_origin = NULL"
	if !d.mariadb {
		mark += ", innodb_lock_wait_timeout = 1"
		unmark += ", innodb_lock_wait_timeout = DEFAULT"
	}
	if _, err := conn.ExecContext(ctx, mark); err != nil {
		_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		return err
	}
	defer func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if _, rerr := conn.ExecContext(rctx, unmark); rerr != nil {
			_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		}
	}()
	tx, err := conn.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelReadCommitted})
	if err != nil {
		return err
	}
	wt := &writeTx{SQLTx: sqldb.SQLTx{Tx: tx}}
	if d.mariadb {
		wt.prefix = noWait
	}
	if err := fn(wt); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// writeTx runs the statements that write with prefix.
type writeTx struct {
	sqldb.SQLTx
	prefix string
}

func (t *writeTx) Run(ctx context.Context, stmts []sqldb.Stmt) error {
	if t.prefix != "" {
		out := make([]sqldb.Stmt, len(stmts))
		for i, s := range stmts {
			s.SQL = t.prefix + s.SQL
			out[i] = s
		}
		stmts = out
	}
	return t.SQLTx.Run(ctx, stmts)
}

package postgres

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/tandemhub/tandem/internal/connector/sqldb"
)

// markSQL is the echo marker: the capture functions skip rows written
// while tandem.origin is 'tandem'. It lasts until the transaction ends.
const markSQL = "SELECT set_config('tandem.origin', 'tandem', true)"

// beginSQL starts a write transaction. READ COMMITTED: each statement
// reads the latest commits, and tandem takes part in no serializable
// snapshot, whatever the server's default_transaction_isolation.
// lock_timeout: a statement gives up a lock another transaction holds
// after 10 ms instead of waiting for it. tandem locks the rows it writes
// without waiting (SKIP LOCKED), so only a foreign key or a unique index
// other than the key can still make it wait. PostgreSQL looks for a
// deadlock only in a session that has waited deadlock_timeout (1 s by
// default); giving up within 10 ms, tandem is never found in a cycle,
// unless an application had already waited for tandem's transaction for
// almost all of that second when tandem began to wait.
const beginSQL = "BEGIN ISOLATION LEVEL READ COMMITTED; SET LOCAL lock_timeout = '10ms'"

// Write runs fn in a pgx transaction on one pooled connection. The marker
// goes out with the first statements that write.
func (*dialect) Write(ctx context.Context, db *sql.DB, fn func(sqldb.Tx) error) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		sc, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("postgres: unexpected driver connection %T", dc)
		}
		tx, err := sc.Conn().BeginTx(ctx, pgx.TxOptions{BeginQuery: beginSQL})
		if err != nil {
			return err
		}
		// After Commit this does nothing; a connection left inside a
		// transaction is discarded by the pool.
		defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
		if err := fn(&pgTx{tx: tx}); err != nil {
			return err
		}
		return tx.Commit(ctx)
	})
}

// pgTx runs statements of a write transaction, pipelined.
type pgTx struct {
	tx     pgx.Tx
	marked bool
}

func (t *pgTx) Query(ctx context.Context, query string, args ...any) ([][]any, error) {
	rows, err := t.tx.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out [][]any
	for rows.Next() {
		v, err := rows.Values()
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// Run sends every statement in one batch: one round trip.
func (t *pgTx) Run(ctx context.Context, stmts []sqldb.Stmt) error {
	b := &pgx.Batch{}
	if !t.marked {
		b.Queue(markSQL)
	}
	for _, s := range stmts {
		q := b.Queue(s.SQL, s.Args...)
		if len(s.Keys) == 0 {
			continue
		}
		keys := s.Keys
		q.Query(func(rows pgx.Rows) error {
			n := 0
			for rows.Next() {
				if n < len(keys) {
					if err := rows.Scan(keys[n]); err != nil {
						return err
					}
				}
				n++
			}
			if err := rows.Err(); err != nil {
				return err
			}
			if n != len(keys) {
				return fmt.Errorf("the database returned %d new keys for %d rows", n, len(keys))
			}
			return nil
		})
	}
	if err := t.tx.SendBatch(ctx, b).Close(); err != nil {
		return err
	}
	t.marked = true
	return nil
}

package store

import (
	"context"
	"database/sql"

	_ "modernc.org/sqlite" // the pure-Go SQLite driver
)

// stmt returns a prepared statement bound to tx. Write transactions use
// statements prepared once on the single writer connection.
func (t *sqlTx) stmt(q string) (*sql.Stmt, error) {
	if st, ok := t.bound[q]; ok {
		return st, nil
	}
	var st *sql.Stmt
	var ok bool
	if t.write {
		st, ok = t.s.stmts[q]
	} else {
		st, ok = t.s.readStmt(q)
	}
	if !ok {
		// Prepare on the transaction's own connection, and for later
		// transactions once the connection is free.
		t.unprepared = append(t.unprepared, q)
		st, err := t.tx.PrepareContext(t.ctx, q)
		if err != nil {
			return nil, err
		}
		if t.bound == nil {
			t.bound = map[string]*sql.Stmt{}
		}
		t.bound[q] = st
		return st, nil
	}
	return t.bind(q, st), nil
}

// bind returns st bound to the transaction, binding it once.
func (t *sqlTx) bind(q string, st *sql.Stmt) *sql.Stmt {
	if b, ok := t.bound[q]; ok {
		return b
	}
	if t.bound == nil {
		t.bound = map[string]*sql.Stmt{}
	}
	b := t.tx.StmtContext(t.ctx, st)
	t.bound[q] = b
	return b
}

func (t *sqlTx) exec(q string, args ...any) (sql.Result, error) {
	st, err := t.stmt(q) //nolint:sqlclosecheck // bound to the transaction, which closes it
	if err != nil {
		return nil, err
	}
	return st.ExecContext(t.ctx, args...)
}

func (t *sqlTx) queryRow(q string, args ...any) (*sql.Row, error) {
	st, err := t.stmt(q) //nolint:sqlclosecheck // bound to the transaction, which closes it
	if err != nil {
		return nil, err
	}
	return st.QueryRowContext(t.ctx, args...), nil
}

func (t *sqlTx) query(q string, args ...any) (*sql.Rows, error) {
	st, err := t.stmt(q) //nolint:sqlclosecheck // bound to the transaction, which closes it
	if err != nil {
		return nil, err
	}
	return st.QueryContext(t.ctx, args...)
}

type sqlTx struct {
	ctx   context.Context //nolint:containedctx // lives only for one transaction
	tx    *sql.Tx
	s     *SQLite
	write bool
	// unprepared lists statements this transaction had to prepare itself.
	unprepared []string
	// bound are statements already bound to this transaction.
	bound map[string]*sql.Stmt
	m     *memo
}

// roles is t in every role of a transaction.
func (t *sqlTx) roles() Tx {
	return Tx{Identity: t, Tombstones: t, Aliases: t, Naturals: t, Preloader: t, Goldens: t, Log: t, Queue: t,
		Backlogs: t, SentNotes: t, DLQ: t, Cursors: t, Counters: t}
}

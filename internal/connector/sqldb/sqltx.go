package sqldb

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"

	"github.com/tandemhub/tandem/internal/record"
)

// SQLTx runs a write transaction through database/sql, one statement
// after another. Dialects whose drivers cannot pipeline use it.
type SQLTx struct {
	Tx *sql.Tx
	// Prepare keeps each distinct statement prepared for the rest of the
	// transaction; worth it for in-process databases, a waste of round
	// trips for servers.
	Prepare bool
	stmts   map[string]*sql.Stmt
}

// Query returns every row of a query.
func (t *SQLTx) Query(ctx context.Context, query string, args ...any) ([][]any, error) {
	rows, err := t.Tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	var out [][]any
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		out = append(out, vals)
	}
	return out, rows.Err()
}

// Run executes stmts in order.
func (t *SQLTx) Run(ctx context.Context, stmts []Stmt) error {
	for _, s := range stmts {
		if err := t.run(ctx, s); err != nil {
			return err
		}
	}
	return nil
}

func (t *SQLTx) run(ctx context.Context, s Stmt) error {
	var st *sql.Stmt
	if t.Prepare {
		if st = t.stmts[s.SQL]; st == nil {
			var err error
			if st, err = t.Tx.PrepareContext(ctx, s.SQL); err != nil {
				return err
			}
			if t.stmts == nil {
				t.stmts = map[string]*sql.Stmt{}
			}
			t.stmts[s.SQL] = st
		}
	}
	if len(s.Keys) == 0 || s.IDStep > 0 {
		var res sql.Result
		var err error
		if st != nil {
			res, err = st.ExecContext(ctx, s.Args...)
		} else {
			res, err = t.Tx.ExecContext(ctx, s.SQL, s.Args...)
		}
		if err != nil || len(s.Keys) == 0 {
			return err
		}
		id, err := res.LastInsertId()
		if err != nil {
			return fmt.Errorf("read the new key: %w", err)
		}
		if id == 0 {
			return fmt.Errorf("the database made no key; is the key column auto-increment?")
		}
		for i, k := range s.Keys {
			*k = strconv.FormatInt(id+int64(i)*s.IDStep, 10)
		}
		return nil
	}
	var rows *sql.Rows
	var err error
	if st != nil {
		rows, err = st.QueryContext(ctx, s.Args...)
	} else {
		rows, err = t.Tx.QueryContext(ctx, s.SQL, s.Args...)
	}
	if err != nil {
		return err
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var v any
		if err := rows.Scan(&v); err != nil {
			return err
		}
		if n < len(s.Keys) {
			*s.Keys[n] = Format(record.Normalize(v))
		}
		n++
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if n != len(s.Keys) {
		return fmt.Errorf("the database returned %d new keys for %d rows", n, len(s.Keys))
	}
	return nil
}

// Close releases the prepared statements.
func (t *SQLTx) Close() {
	for _, st := range t.stmts {
		_ = st.Close()
	}
	t.stmts = nil
}

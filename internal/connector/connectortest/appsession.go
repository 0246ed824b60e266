package connectortest

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
)

// appSession is one application session editing the rows it owns.
type appSession struct {
	e    *env
	rng  *rand.Rand
	p    *pool
	mine []int64
	name string
}

// txn runs one transaction of a randomly chosen shape and commits it.
// Rows it finds gone (tandem deleted them) it stops editing.
func (a *appSession) txn(ctx context.Context, n int) (err error) {
	if err := a.refill(ctx, n); err != nil {
		return err
	}
	i := a.rng.IntN(len(a.mine))
	j := (i + 1 + a.rng.IntN(len(a.mine)-1)) % len(a.mine)
	x, y := a.mine[i], a.mine[j]
	shape := a.rng.IntN(4)
	gone := map[int64]bool{}
	defer func() {
		a.mine = slices.DeleteFunc(a.mine, func(id int64) bool { return gone[id] })
		for id := range gone {
			a.p.remove(strconv.FormatInt(id, 10))
		}
	}()
	tx, err := a.e.App.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("%s: begin: %w", a.name, err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
			err = fmt.Errorf("%s: transaction %d (shape %d): %w", a.name, n, shape, err)
		}
	}()
	note := fmt.Sprintf("%s, transaction %d", a.name, n)
	made, err := a.edit(ctx, &appTx{tx: tx, bind: a.e.bind, gone: gone}, shape, x, y, note)
	if err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	if made != 0 {
		a.mine = append(a.mine, made)
		a.p.add(made)
	}
	return nil
}

// refill inserts rows until the session owns two at least, for a
// transaction (number n) to pick from.
func (a *appSession) refill(ctx context.Context, n int) error {
	for len(a.mine) < 2 {
		id, err := a.e.insertRow(ctx, a.e.App, fmt.Sprintf("%s refill %d", a.name, n))
		if err != nil {
			return fmt.Errorf("%s: insert: %w", a.name, err)
		}
		a.mine = append(a.mine, id)
		a.p.add(id)
	}
	return nil
}

// appTx is one transaction of an application session, with the rows it
// found gone.
type appTx struct {
	tx   *sql.Tx
	bind func(q string) string
	gone map[int64]bool
}

// exec runs a statement that writes row id, which is gone when it
// writes nothing (every statement here changes what it finds).
func (t *appTx) exec(ctx context.Context, id int64, q string, args ...any) error {
	res, err := t.tx.ExecContext(ctx, t.bind(q), append(args, id)...)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		t.gone[id] = true
	}
	return nil
}

// edit runs in t the statements of a transaction of the given shape on
// rows x and y, writing note, and returns the key of the row it
// inserted, if it did.
func (a *appSession) edit(ctx context.Context, t *appTx, shape int, x, y int64, note string) (made int64, err error) {
	switch shape {
	case 0: // two rows, in either order
		if err := t.exec(ctx, x, "UPDATE items SET qty = qty + 1 WHERE id = ?"); err != nil {
			return 0, err
		}
		if err := t.exec(ctx, y, "UPDATE items SET note = ? WHERE id = ?", note); err != nil {
			return 0, err
		}
	case 1: // read a row for update, then write it
		var qty sql.NullInt64
		err := t.tx.QueryRowContext(ctx, a.e.bind("SELECT qty FROM items WHERE id = ? FOR UPDATE"), x).Scan(&qty)
		if err != nil && err != sql.ErrNoRows {
			return 0, err
		}
		if err := t.exec(ctx, x, "UPDATE items SET qty = ?, note = ? WHERE id = ?", qty.Int64+1, note); err != nil {
			return 0, err
		}
	case 2: // a new row, then an existing one
		if made, err = a.e.insertRow(ctx, t.tx, note); err != nil {
			return 0, err
		}
		if err := t.exec(ctx, x, "UPDATE items SET qty = qty - 1 WHERE id = ?"); err != nil {
			return 0, err
		}
	case 3: // delete one row, update another
		if err := t.exec(ctx, x, "DELETE FROM items WHERE id = ?"); err != nil {
			return 0, err
		}
		t.gone[x] = true
		if err := t.exec(ctx, y, "UPDATE items SET note = ? WHERE id = ?", note); err != nil {
			return 0, err
		}
	}
	return made, nil
}

// querier is a connection or a transaction.
type querier interface {
	ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error)
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
}

// insertRow inserts an item through q and returns its new key.
func (db Database) insertRow(ctx context.Context, q querier, name string) (int64, error) {
	if db.Dollar {
		var id int64
		err := q.QueryRowContext(ctx, "INSERT INTO items (name, qty) VALUES ($1, 0) RETURNING id", name).Scan(&id)
		return id, err
	}
	res, err := q.ExecContext(ctx, "INSERT INTO items (name, qty) VALUES (?, 0)", name)
	if err != nil {
		return 0, err
	}
	return res.LastInsertId()
}

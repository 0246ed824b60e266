package sqlite

import (
	"context"
	"database/sql"

	"github.com/tandemhub/tandem/internal/connector/sqldb"
)

// Write runs fn with the echo marker: tandem_control.applying is 1 while
// the transaction writes and 0 again before it commits. SQLite has one
// writer at a time, so no other connection ever sees the 1.
func (dialect) Write(ctx context.Context, db *sql.DB, fn func(sqldb.Tx) error) (err error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	if _, err := tx.ExecContext(ctx, "UPDATE "+control+" SET applying = 1 WHERE id = 1"); err != nil {
		return err
	}
	st := &sqldb.SQLTx{Tx: tx, Prepare: true}
	err = fn(st)
	st.Close()
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, "UPDATE "+control+" SET applying = 0 WHERE id = 1"); err != nil {
		return err
	}
	return tx.Commit()
}

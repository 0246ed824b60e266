package mysql

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"time"

	"tandem/internal/connector/sqldb"
)

// Write runs fn on one connection with the echo marker set, and clears
// the marker afterwards; a connection whose marker cannot be cleared is
// dropped from the pool.
func (*dialect) Write(ctx context.Context, db *sql.DB, fn func(sqldb.Tx) error) (err error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "SET @tandem_origin = 1"); err != nil {
		_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		return err
	}
	defer func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if _, rerr := conn.ExecContext(rctx, "SET @tandem_origin = NULL"); rerr != nil {
			_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		}
	}()
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(&sqldb.SQLTx{Tx: tx}); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

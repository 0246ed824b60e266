package bench

import (
	"context"
	"database/sql"
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"strings"

	"github.com/go-sql-driver/mysql"
)

// The three-system variant adds a MariaDB database beside the
// destination: the source's rows and changes reach both, and a phase
// ends when both match the source.

// tempMariaDB makes a database on the MariaDB server serverDSN (a
// go-sql-driver DSN, such as root@tcp(127.0.0.1:3306)/) and returns its
// DSN and how to drop it.
func tempMariaDB(ctx context.Context, serverDSN string) (string, func(), error) {
	cfg, err := mysql.ParseDSN(serverDSN)
	if err != nil {
		return "", nil, fmt.Errorf("parse the MariaDB server's DSN: %w", err)
	}
	admin, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		return "", nil, err
	}
	name := fmt.Sprintf("tandem_bench_%08x", rand.Uint32())
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		admin.Close()
		return "", nil, fmt.Errorf("create the MariaDB benchmark database: %w", err)
	}
	drop := func() {
		_, _ = admin.ExecContext(context.Background(), "DROP DATABASE IF EXISTS "+name)
		admin.Close()
	}
	cfg.DBName = name
	return cfg.FormatDSN(), drop, nil
}

// prepareMaria makes the MariaDB table, empty.
func (w *workload) prepareMaria(ctx context.Context) error {
	_, err := w.maria.ExecContext(ctx, `CREATE TABLE items (id BIGINT PRIMARY KEY, name VARCHAR(200) NOT NULL,
		qty INT NOT NULL, stamp BIGINT NULL)`)
	if err != nil {
		return fmt.Errorf("MariaDB table: %w", err)
	}
	return nil
}

// mariaSum is the MariaDB table's row count and checksum: the sum of
// the CRC-32 of each row's columns joined by ':' (see wantMaria).
func (w *workload) mariaSum(ctx context.Context) (sum, error) {
	var s sum
	err := w.maria.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(SUM(CRC32(CONCAT_WS(':', id, name, qty, COALESCE(stamp, 0)))), 0) FROM items`).
		Scan(&s.rows, &s.hash)
	return s, err
}

// wantMaria is what mariaSum gives once MariaDB holds the source's rows,
// computed from the source's rows here.
func (w *workload) wantMaria(ctx context.Context) (sum, error) {
	var s sum
	if w.maria == nil {
		return s, nil
	}
	rows, err := w.src.Query(ctx, `SELECT id, name, qty, coalesce(stamp, 0) FROM items`)
	if err != nil {
		return s, err
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var id, stamp int64
		var qty int32
		var name string
		if err := rows.Scan(&id, &name, &qty, &stamp); err != nil {
			return s, err
		}
		b.Reset()
		fmt.Fprintf(&b, "%d:%s:%d:%d", id, name, qty, stamp)
		s.rows++
		s.hash += int64(crc32.ChecksumIEEE([]byte(b.String())))
	}
	return s, rows.Err()
}

// mariaMatches reports whether MariaDB holds want, or there is no MariaDB
// in the run.
func (w *workload) mariaMatches(ctx context.Context, want sum) (bool, error) {
	if w.maria == nil {
		return true, nil
	}
	got, err := w.mariaSum(ctx)
	return err == nil && got == want, err
}

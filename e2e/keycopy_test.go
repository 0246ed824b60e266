package e2e

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tandemhub/tandem/internal/testenv"
)

// keyCopyConfig copies accounts one way from one PostgreSQL database to
// another, keeping their integer ids: both mappings map the field id to
// the key column, and neither table makes its keys.
const keyCopyConfig = `version: 1
store:
  dir: ./store
systems:
  src: {type: postgres, dsn: %q, poll: 50ms}
  dst: {type: postgres, dsn: %q, poll: 50ms}
entities:
  account:
    schema:
      type: object
      properties:
        id: {type: integer}
        name: {type: string}
        email: {type: [string, "null"]}
      required: [name]
mappings:
  src:
    account: {table: accounts, key: id, key_generated: false, fields: {id: id, name: name, email: email}}
  dst:
    account: {table: accounts, key: id, key_generated: false, fields: {id: id, name: name, email: email}}
routes:
  - {entity: account, from: src, to: [dst]}
`

type accountRow struct {
	ID          int64
	Name, Email string
}

func readAccounts(ctx context.Context, db *sql.DB) ([]accountRow, error) {
	rows, err := db.QueryContext(ctx, `SELECT id, name, coalesce(email, '') FROM accounts ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []accountRow
	for rows.Next() {
		var r accountRow
		if err := rows.Scan(&r.ID, &r.Name, &r.Email); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// A one-way copy of a table with bigint keys keeps the ids: the snapshot,
// then inserts, updates and deletes, end in identical tables and no dead
// letters.
func TestCopyKeepsIntegerKeys(t *testing.T) {
	ctx := context.Background()
	srcDSN, dstDSN := testenv.Postgres(t), testenv.Postgres(t)
	src, dst := openDB(t, "pgx", srcDSN), openDB(t, "pgx", dstDSN)
	for _, db := range []*sql.DB{src, dst} {
		if _, err := db.ExecContext(ctx, `CREATE TABLE accounts (id bigint PRIMARY KEY, name text NOT NULL, email text)`); err != nil {
			t.Fatal(err)
		}
	}
	// Ids with gaps, and some beyond 32 bits, as a real table has.
	if _, err := src.ExecContext(ctx, `INSERT INTO accounts (id, name, email)
		SELECT i * 7 + 3000000000, 'account ' || i, 'a' || i || '@example.com' FROM generate_series(1, 200) i`); err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, dir: t.TempDir()}
	e.cfg = filepath.Join(e.dir, "tandem.yaml")
	if err := os.WriteFile(e.cfg, []byte(fmt.Sprintf(keyCopyConfig, srcDSN, dstDSN)), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, cmd := range []string{"check", "setup"} {
		if out, err := e.tandem(cmd); err != nil {
			t.Fatalf("tandem %s: %v\n%s", cmd, err, out)
		}
	}
	e.startHub()
	same := func(what string) {
		t.Helper()
		e.eventually(60*time.Second, what, func() error {
			ds, err := e.deadLetters("open")
			if err != nil {
				return err
			}
			if len(ds) > 0 {
				return fatalErr{fmt.Errorf("%d dead letters, the first: %+v", len(ds), ds[0])}
			}
			want, err := readAccounts(ctx, src)
			if err != nil {
				return err
			}
			got, err := readAccounts(ctx, dst)
			if err != nil {
				return err
			}
			if diff := cmp.Diff(want, got); diff != "" {
				return fmt.Errorf("dst has %d accounts, src %d (-src +dst):\n%s", len(got), len(want), firstLines(diff, 20))
			}
			return nil
		})
	}
	same("the snapshot reaches dst with its ids")

	for _, q := range []string{
		`INSERT INTO accounts (id, name) SELECT i, 'new ' || i FROM generate_series(1, 50) i`,
		`INSERT INTO accounts (id, name, email) VALUES (9223372036854775807, 'the largest id', 'max@example.com')`,
		`UPDATE accounts SET name = name || ' (renamed)', email = NULL WHERE id % 3 = 0`,
		`UPDATE accounts SET email = 'changed@example.com' WHERE id BETWEEN 10 AND 20`,
		`DELETE FROM accounts WHERE id % 5 = 0`,
	} {
		if _, err := src.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	same("inserts, updates and deletes reach dst with the same ids")
	e.drain(30 * time.Second)
	e.noDeadLetters()
	rows, err := e.status()
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, _, dead := totals(rows); dead != 0 {
		t.Errorf("tandem status counts %d dead letters", dead)
	}
}

func firstLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = append(lines[:n], fmt.Sprintf("... %d more lines", len(lines)-n))
	}
	return strings.Join(lines, "\n")
}

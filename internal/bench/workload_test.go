package bench

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tandemhub/tandem/internal/testenv"
)

// The checksum that ends each phase tells tables apart by any synced
// column, so a destination that got a row wrong never counts as done.
func TestChecksumTellsTablesApart(t *testing.T) {
	ctx := context.Background()
	db, err := pgxpool.New(ctx, testenv.Postgres(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, table := range []string{"a", "b"} {
		if err := fill(ctx, db, table, 500); err != nil {
			t.Fatal(err)
		}
	}
	same := func() bool {
		t.Helper()
		x, err := checksum(ctx, db, "a")
		if err != nil {
			t.Fatal(err)
		}
		y, err := checksum(ctx, db, "b")
		if err != nil {
			t.Fatal(err)
		}
		return x == y
	}
	if !same() {
		t.Fatal("equal tables differ")
	}
	for _, edit := range []string{
		`UPDATE b SET qty = qty + 1 WHERE id = 7`,
		`UPDATE b SET qty = qty - 1, name = 'item 8x' WHERE id = 7`,
		`UPDATE b SET name = 'item 7', stamp = 1 WHERE id = 7`,
		`UPDATE b SET stamp = NULL WHERE id = 7; DELETE FROM b WHERE id = 9`,
	} {
		if _, err := db.Exec(ctx, edit); err != nil {
			t.Fatal(err)
		}
		if same() {
			t.Errorf("after %s the tables still look the same", edit)
		}
	}
}

package mysql

import (
	"testing"

	"tandem/internal/connector/sqldb"
)

func TestInsertKeys(t *testing.T) {
	cols := []sqldb.Column{{Name: "name", Kind: sqldb.Text}}
	rows := [][]any{{"a"}, {"b"}, {"c"}}
	keys := []*string{new(string), new(string), new(string)}
	key := sqldb.Column{Name: "id", Kind: sqldb.Int}

	// Consecutive keys: one statement whose keys follow from the first.
	st := (&dialect{schema: "db", idStep: 2}).Insert("`items`", key, cols, rows, keys)
	if len(st) != 1 || len(st[0].Keys) != 3 || st[0].IDStep != 2 {
		t.Errorf("with consecutive keys: %d statements %+v, want one for all rows with step 2", len(st), st)
	}
	// Interleaved keys (lock mode 2): one statement per row.
	st = (&dialect{schema: "db"}).Insert("`items`", key, cols, rows, keys)
	if len(st) != 3 {
		t.Fatalf("with interleaved keys: %d statements, want 3", len(st))
	}
	for i, s := range st {
		if len(s.Keys) != 1 || s.Keys[0] != keys[i] || s.IDStep != 1 {
			t.Errorf("statement %d: %+v, want row %d's key", i, s, i)
		}
	}
	if st := (&dialect{}).Insert("`t`", key, nil, rows, keys); st[0].SQL != "INSERT INTO `t` () VALUES ()" {
		t.Errorf("insert without columns: %s", st[0].SQL)
	}
}

package mysql

import (
	"testing"

	"github.com/tandemhub/tandem/internal/connector/sqldb"
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

func TestLockClause(t *testing.T) {
	for _, tc := range []struct {
		version, lock string
		mariadb       bool
	}{
		{"10.11.19-MariaDB-0+deb12u1", " FOR UPDATE SKIP LOCKED", true},
		{"11.4.2-MariaDB", " FOR UPDATE SKIP LOCKED", true},
		{"10.6.0-MariaDB-log", " FOR UPDATE SKIP LOCKED", true},
		{"10.5.23-MariaDB", " FOR UPDATE NOWAIT", true},
		{"10.3.39-MariaDB", " FOR UPDATE NOWAIT", true},
		{"8.0.36", " FOR UPDATE SKIP LOCKED", false},
		{"8.4.0-commercial", " FOR UPDATE SKIP LOCKED", false},
		{"5.7.44-log", " FOR UPDATE", false},
	} {
		lock, mariadb := locking(tc.version)
		if lock != tc.lock || mariadb != tc.mariadb {
			t.Errorf("locking(%q) = %q, %v; want %q, %v", tc.version, lock, mariadb, tc.lock, tc.mariadb)
		}
	}
}

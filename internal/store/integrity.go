package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// ErrDamaged is the error of a store whose file SQLite finds damaged.
var ErrDamaged = errors.New("store damaged")

// DamagedError says which store file is damaged and what SQLite found.
// It matches ErrDamaged. Nothing tandem does makes a damaged store whole
// again: every write that touches a damaged page fails, for good.
type DamagedError struct {
	Path string
	// Found is what SQLite said, its first few lines.
	Found []string
	// Err is the SQLite error that showed the damage, if one did.
	Err error
}

func (e *DamagedError) Error() string {
	return fmt.Sprintf("store %s is damaged (SQLite: %s); tandem will not use it: restore the data directory %s from a backup, "+
		"or move it aside and start tandem with an empty one, which links the systems' records again "+
		"by their id tables and natural keys (the old store's dead letters, held changes and history are not carried over)",
		e.Path, strings.Join(e.Found, "; "), filepath.Dir(e.Path))
}

func (e *DamagedError) Is(target error) bool { return target == ErrDamaged }
func (e *DamagedError) Unwrap() error        { return e.Err }

// foundLines is how many of SQLite's lines a DamagedError keeps.
const foundLines = 3

// check runs SQLite's quick check on the store at path, which reads every
// page of every table and index and checks the b-trees' structure and
// the records in them, but not that each index matches its table
// (integrity_check does, at three to four times the cost). On a store of
// a million records (5 million rows, 850 MB, 2-core machine) it takes
// 1.4 to 2.3 s with the file in the page cache and 8 s from disk: cheap
// enough for every open, which is how a store damaged while tandem was
// stopped (a disk fault, a bad restore, another program writing the
// file) is found before it is used. A check only after an unclean
// shutdown would miss exactly those: SQLite's WAL survives a crash, so
// a crash is not what damages pages. Its memory is SQLite's page cache.
func check(ctx context.Context, db *sql.DB, path string) error {
	rows, err := db.QueryContext(ctx, fmt.Sprintf("PRAGMA quick_check(%d)", foundLines))
	if err != nil {
		return checkErr(path, err)
	}
	defer rows.Close()
	var found []string
	for rows.Next() {
		var res string
		if err := rows.Scan(&res); err != nil {
			return checkErr(path, err)
		}
		for _, line := range strings.Split(res, "\n") {
			// "*** in database main ***" heads the findings in each
			// database of the connection; there is only one.
			if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "*** in database") && len(found) < foundLines {
				found = append(found, line)
			}
		}
	}
	if err := rows.Err(); err != nil {
		return checkErr(path, err)
	}
	if len(found) == 1 && found[0] == "ok" {
		return nil
	}
	if len(found) == 0 {
		found = []string{"the quick check returned nothing"}
	}
	return &DamagedError{Path: path, Found: found}
}

func checkErr(path string, err error) error { return schemaErr("check store", path, err) }

// schemaErr is err of doing what to the store at path, a *DamagedError
// if SQLite says the store is damaged.
func schemaErr(what, path string, err error) error {
	if d := damaged(path, err); errors.Is(d, ErrDamaged) {
		return d
	}
	return fmt.Errorf("%s %s: %w", what, path, err)
}

// damaged returns err as a *DamagedError when SQLite says the store at
// path is damaged or is no database at all, and err unchanged otherwise.
func damaged(path string, err error) error {
	var se *sqlite.Error
	if !errors.As(err, &se) || errors.Is(err, ErrDamaged) {
		return err
	}
	switch se.Code() & 0xff { // the primary result code of an extended one
	case sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB:
		return &DamagedError{Path: path, Found: []string{err.Error()}, Err: err}
	}
	return err
}

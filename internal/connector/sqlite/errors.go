package sqlite

import (
	"errors"
	"regexp"
	"strings"

	msqlite "modernc.org/sqlite"

	"github.com/tandemhub/tandem/internal/connector"
)

// Primary result codes of errors retrying cannot fix.
const (
	codeTooBig     = 18
	codeConstraint = 19
	codeMismatch   = 20
)

var (
	// "NOT NULL constraint failed: items.name", "UNIQUE constraint failed: items.a, items.b"
	constraintColumn = regexp.MustCompile(`constraint failed: [^,.(]*\.([^\s,.()]+)`)
	// "cannot store TEXT value in INTEGER column items.qty"
	storeColumn = regexp.MustCompile(`column [\w"]+\.([\w"]+)`)
)

// Classify marks constraint violations, type mismatches and oversized
// values permanent, naming the column when SQLite does.
func (dialect) Classify(err error) error {
	var se *msqlite.Error
	if !errors.As(err, &se) {
		return err
	}
	switch se.Code() & 0xff {
	case codeTooBig, codeConstraint, codeMismatch:
	default:
		return err
	}
	return &connector.Permanent{Err: err, Field: column(se.Error())}
}

func column(msg string) string {
	m := constraintColumn.FindStringSubmatch(msg)
	if m == nil {
		m = storeColumn.FindStringSubmatch(msg)
	}
	if m == nil {
		return ""
	}
	return strings.Trim(m[1], `"`)
}

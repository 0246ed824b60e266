package postgres

import (
	"errors"
	"regexp"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/tandemhub/tandem/internal/connector"
)

// "Key (email)=(a@b.c) already exists.", "Key (account_id)=(7) is not present in table …"
var detailKey = regexp.MustCompile(`^Key \(([^)]+)\)=`)

// busy lists the SQLSTATEs of a statement that gave up a lock another
// transaction holds, or lost to one.
var busy = map[string]bool{
	"55P03": true, // lock_not_available: lock_timeout, NOWAIT
	"40P01": true, // deadlock_detected
	"40001": true, // serialization_failure
}

// Classify marks data exceptions (SQLSTATE class 22: bad value, too long,
// out of range) and integrity violations (class 23: NOT NULL, unique,
// foreign key, check) permanent, naming the column when the server does,
// and lock errors busy.
func (*dialect) Classify(err error) error {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return err
	}
	if busy[pe.Code] {
		return &connector.Busy{Err: err}
	}
	if !strings.HasPrefix(pe.Code, "22") && !strings.HasPrefix(pe.Code, "23") {
		return err
	}
	field := pe.ColumnName
	if field == "" {
		if m := detailKey.FindStringSubmatch(pe.Detail); m != nil {
			field, _, _ = strings.Cut(m[1], ",")
			field = strings.Trim(strings.TrimSpace(field), `"`)
		}
	}
	return &connector.Permanent{Err: err, Field: field}
}

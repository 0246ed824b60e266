package mysql

import (
	"errors"
	"regexp"
	"strings"

	"github.com/go-sql-driver/mysql"

	"github.com/tandemhub/tandem/internal/connector"
)

// permanent lists the server errors about the data itself.
var permanent = map[uint16]bool{
	1048: true, // column cannot be null
	1062: true, // duplicate entry for a unique key
	1216: true, // foreign key: no parent row
	1217: true, // foreign key: row is a parent
	1264: true, // out of range value
	1265: true, // data truncated
	1292: true, // incorrect (datetime) value
	1364: true, // field has no default value
	1366: true, // incorrect value for the column type
	1406: true, // data too long
	1451: true, // foreign key: row is a parent
	1452: true, // foreign key: no parent row
	1690: true, // value out of range in an expression
	3819: true, // check constraint (MySQL)
	4025: true, // check constraint (MariaDB)
}

var fieldPatterns = []*regexp.Regexp{
	regexp.MustCompile("[Cc]olumn '([^']+)'"),             // Column 'name' cannot be null; … for column 'qty' at row 1
	regexp.MustCompile("column (?:`[^`]*`\\.)*`([^`]+)`"), // … for column `db`.`items`.`qty` at row 1 (MariaDB)
	regexp.MustCompile("Field '([^']+)'"),                 // Field 'name' doesn't have a default value
	regexp.MustCompile("FOREIGN KEY \\(`([^`]+)`"),        // … FOREIGN KEY (`account_id`) REFERENCES …
	regexp.MustCompile(`for key '(?:[^']*\.)?([^'.]+)'`),  // Duplicate entry 'x' for key 'email'
}

// busy lists the server errors of a statement that gave up a lock
// another transaction holds.
var busy = map[uint16]bool{
	1205: true, // lock wait timeout (and MariaDB's NOWAIT)
	1213: true, // deadlock
	3572: true, // NOWAIT (MySQL)
}

// Classify marks errors about the data (NULL in a NOT NULL column, a
// duplicate, a value out of range or too long, a missing parent)
// permanent, naming the column when the server does, and lock errors
// busy.
func (*dialect) Classify(err error) error {
	var me *mysql.MySQLError
	switch {
	case !errors.As(err, &me):
		return err
	case busy[me.Number]:
		return &connector.Busy{Err: err}
	case permanent[me.Number]:
		return &connector.Permanent{Err: err, Field: field(me.Message)}
	}
	return err
}

func field(msg string) string {
	for _, p := range fieldPatterns {
		if m := p.FindStringSubmatch(msg); m != nil {
			if strings.EqualFold(m[1], "PRIMARY") {
				return ""
			}
			return m[1]
		}
	}
	return ""
}

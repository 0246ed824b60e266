package mysql

import (
	"errors"
	"fmt"
	"testing"

	"github.com/go-sql-driver/mysql"

	"github.com/tandemhub/tandem/internal/connector"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		num   uint16
		msg   string
		field string
	}{
		{1048, "Column 'name' cannot be null", "name"},
		{1062, "Duplicate entry 'a@b.c' for key 'email'", "email"},
		{1062, "Duplicate entry 'a@b.c' for key 'contacts.email'", "email"},
		{1062, "Duplicate entry '7' for key 'PRIMARY'", ""},
		{1264, "Out of range value for column 'qty' at row 3", "qty"},
		{1366, "Incorrect integer value: 'many' for column `db`.`items`.`qty` at row 1", "qty"},
		{1292, "Incorrect datetime value: 'x' for column `db`.`items`.`at` at row 1", "at"},
		{1406, "Data too long for column 'code' at row 1", "code"},
		{1364, "Field 'name' doesn't have a default value", "name"},
		{1452, "Cannot add or update a child row: a foreign key constraint fails (`db`.`contacts`, CONSTRAINT `fk` FOREIGN KEY (`account_id`) REFERENCES `accounts` (`id`))", "account_id"},
		{4025, "CONSTRAINT `qty_positive` failed for `db`.`items`", ""},
	}
	d := &dialect{}
	for _, tc := range tests {
		err := d.Classify(fmt.Errorf("wrapped: %w", &mysql.MySQLError{Number: tc.num, Message: tc.msg}))
		var p *connector.Permanent
		if !errors.As(err, &p) {
			t.Errorf("%d %s: not permanent", tc.num, tc.msg)
			continue
		}
		if p.Field != tc.field {
			t.Errorf("%d %s: field %q, want %q", tc.num, tc.msg, p.Field, tc.field)
		}
	}
	for _, err := range []error{
		&mysql.MySQLError{Number: 1213, Message: "Deadlock found when trying to get lock"},
		&mysql.MySQLError{Number: 1146, Message: "Table 'db.items' doesn't exist"},
		mysql.ErrInvalidConn,
	} {
		if connector.IsPermanent(d.Classify(err)) {
			t.Errorf("%v: marked permanent; retrying may fix it", err)
		}
	}
}

func TestClassifyBusy(t *testing.T) {
	d := &dialect{}
	for _, num := range []uint16{1205, 1213, 3572} {
		err := d.Classify(fmt.Errorf("wrapped: %w", &mysql.MySQLError{Number: num, Message: "lock"}))
		if !connector.IsBusy(err) || connector.IsPermanent(err) {
			t.Errorf("error %d: %v; want it marked busy", num, err)
		}
	}
	if err := d.Classify(&mysql.MySQLError{Number: 1062, Message: "Duplicate entry"}); connector.IsBusy(err) {
		t.Errorf("a duplicate is marked busy")
	}
}

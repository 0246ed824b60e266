package postgres

import (
	"errors"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/tandemhub/tandem/internal/connector"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		err   *pgconn.PgError
		perm  bool
		field string
	}{
		{&pgconn.PgError{Code: "23502", ColumnName: "name"}, true, "name"},
		{&pgconn.PgError{Code: "23505", Detail: "Key (email)=(a@b.c) already exists."}, true, "email"},
		{&pgconn.PgError{Code: "23505", Detail: "Key (tenant, email)=(1, a@b.c) already exists."}, true, "tenant"},
		{&pgconn.PgError{Code: "23503", Detail: `Key (account_id)=(7) is not present in table "accounts".`}, true, "account_id"},
		{&pgconn.PgError{Code: "22001"}, true, ""},
		{&pgconn.PgError{Code: "22P02"}, true, ""},
		{&pgconn.PgError{Code: "40001"}, false, ""},
		{&pgconn.PgError{Code: "42P01"}, false, ""},
	}
	d := &dialect{}
	for _, tc := range tests {
		err := d.Classify(tc.err)
		var p *connector.Permanent
		if errors.As(err, &p) != tc.perm {
			t.Errorf("%s: permanent %v, want %v", tc.err.Code, !tc.perm, tc.perm)
			continue
		}
		if tc.perm && p.Field != tc.field {
			t.Errorf("%s %s: field %q, want %q", tc.err.Code, tc.err.Detail, p.Field, tc.field)
		}
	}
}

func TestClassifyBusy(t *testing.T) {
	d := &dialect{}
	for _, code := range []string{"55P03", "40P01", "40001"} {
		if err := d.Classify(&pgconn.PgError{Code: code}); !connector.IsBusy(err) || connector.IsPermanent(err) {
			t.Errorf("%s: %v; want it marked busy", code, err)
		}
	}
	if err := d.Classify(&pgconn.PgError{Code: "23505"}); connector.IsBusy(err) {
		t.Errorf("a unique violation is marked busy")
	}
}

package torture

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/tandemhub/tandem/client"
)

// apply is the application's handler of tandem's changes, logged in
// mq-client.log. A create of a record it already holds under the same
// code (tandem lost its store and copied the systems again) takes that
// record over.
func (a *mqApp) apply(ctx context.Context, tx *sql.Tx, in client.Inbound) (client.Result, error) {
	res, key, err := a.applyIn(ctx, tx, in)
	a.log.Info("applied", "id", in.ID, "entity", in.Entity, "key", in.Key, "gid", in.GID, "delete", in.Delete,
		"code", text(in.Fields["code"]), "result", fmt.Sprintf("%+v", res), "made", key, "err", err)
	return res, err
}

func (a *mqApp) applyIn(ctx context.Context, tx *sql.Tx, in client.Inbound) (client.Result, string, error) {
	if in.Entity != mqFirm && in.Entity != mqStaffer {
		return client.Failed("unknown entity "+in.Entity, ""), "", nil
	}
	if in.Delete {
		found, err := a.remove(ctx, tx, in.Entity, in.Key)
		return client.Applied(), fmt.Sprint("deleted ", found), err
	}
	code := text(in.Fields["code"])
	if code == "" {
		return client.Failed("a record needs a code", "code"), "", nil
	}
	r := mqRow{key: in.Key, code: code}
	if in.Entity == mqFirm {
		r.name, r.grade, r.points = text(in.Fields["label"]), text(in.Fields["grade"]), integer(in.Fields["points"])
	} else {
		r.name = text(in.Fields["full_name"])
		if f := text(in.Fields["firm"]); f != "" {
			r.firm = f
		}
	}
	create := in.Key == ""
	if create {
		switch old, err := a.read(ctx, tx, in.Entity, code); {
		case err == nil:
			r.key = old.key
		case !errors.Is(err, errNotHere):
			return client.Result{}, "", err
		}
	} else if _, err := a.keyExists(ctx, tx, in.Entity, in.Key); err != nil {
		if errors.Is(err, errNotHere) {
			// Its users deleted it meanwhile; that delete is on its way to tandem.
			return client.Applied(), "gone", nil
		}
		return client.Result{}, "", err
	}
	key, err := a.save(ctx, tx, in.Entity, r)
	if err != nil {
		return client.Result{}, "", err
	}
	if create {
		return client.Created(key), key, nil
	}
	return client.Applied(), key, nil
}

func (a *mqApp) keyExists(ctx context.Context, tx *sql.Tx, entity, key string) (bool, error) {
	q := `SELECT 1 FROM firms WHERE firm_id = ?`
	if entity == mqStaffer {
		q = `SELECT 1 FROM staff WHERE staff_key = ?`
	}
	var one int
	err := tx.QueryRowContext(ctx, q, key).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, errNotHere
	}
	return err == nil, err
}

package torture

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/tandemhub/tandem/internal/record"
)

// sqlApp is a system on a SQL database, with its own table and column
// names and key scheme, played through plain SQL as its users would.
type sqlApp struct {
	name string
	db   *sql.DB
	// dollar placeholders ($1) instead of ?
	dollar bool
	// returning: the database returns a new key with RETURNING; else LastInsertId.
	returning bool
	a         acctCols
	c         contCols
	// tierOut maps canonical tiers to the values stored here.
	tierOut map[string]string
	// textContactKeys: contacts are keyed by text the application makes.
	textContactKeys bool
	newKey          func() string
}

type acctCols struct{ table, key, ref, name, tier, score string }
type contCols struct{ table, key, ref, name, account string }

func (a *sqlApp) Name() string { return a.name }
func (a *sqlApp) Close() error { return a.db.Close() }

// q rewrites ? placeholders for the database.
func (a *sqlApp) q(s string) string {
	if !a.dollar {
		return s
	}
	var b strings.Builder
	n := 0
	for _, r := range s {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func (a *sqlApp) tierIn(v string) string {
	for c, l := range a.tierOut {
		if l == v {
			return c
		}
	}
	return v
}

func (a *sqlApp) tierLocal(c string) string {
	if l, ok := a.tierOut[c]; ok {
		return l
	}
	return c
}

func text(v any) string {
	v = record.Normalize(v)
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	return fmt.Sprint(v)
}

func integer(v any) int64 {
	switch x := record.Normalize(v).(type) {
	case int64:
		return x
	case float64:
		return int64(x)
	case string:
		n, _ := strconv.ParseFloat(x, 64)
		return int64(n)
	}
	return 0
}

func (a *sqlApp) Rows(ctx context.Context, entity string) ([]Row, error) {
	var q string
	if entity == Account {
		q = fmt.Sprintf("SELECT %s, %s, %s, %s, %s FROM %s", a.a.key, a.a.ref, a.a.name, a.a.tier, a.a.score, a.a.table)
	} else {
		q = fmt.Sprintf("SELECT c.%s, c.%s, c.%s, c.%s, x.%s FROM %s c LEFT JOIN %s x ON x.%s = c.%s",
			a.c.key, a.c.ref, a.c.name, a.c.account, a.a.ref, a.c.table, a.a.table, a.a.key, a.c.account)
	}
	rows, err := a.db.QueryContext(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("%s: read %ss: %w", a.name, entity, err)
	}
	defer rows.Close()
	var out []Row
	for rows.Next() {
		var v [5]any
		if err := rows.Scan(&v[0], &v[1], &v[2], &v[3], &v[4]); err != nil {
			return nil, err
		}
		r := Row{Entity: entity, Key: text(v[0]), Ref: text(v[1])}
		if entity == Account {
			r.State = State{Name: text(v[2]), Tier: a.tierIn(text(v[3])), Score: integer(v[4])}
		} else {
			r.AccountKey = text(v[3])
			r.State = State{Name: text(v[2]), Account: text(v[4])}
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// accountKey finds the key of the account with ref in tx.
func (a *sqlApp) accountKey(ctx context.Context, tx *sql.Tx, ref string) (any, error) {
	if ref == "" {
		return nil, nil
	}
	var k any
	err := tx.QueryRowContext(ctx, a.q(fmt.Sprintf("SELECT %s FROM %s WHERE %s = ?", a.a.key, a.a.table, a.a.ref)), ref).Scan(&k)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errNotHere
	}
	return k, err
}

// state reads a record's state in tx.
func (a *sqlApp) state(ctx context.Context, tx *sql.Tx, entity, ref string) (State, error) {
	var s State
	if entity == Account {
		var name, tier, score any
		err := tx.QueryRowContext(ctx, a.q(fmt.Sprintf("SELECT %s, %s, %s FROM %s WHERE %s = ?",
			a.a.name, a.a.tier, a.a.score, a.a.table, a.a.ref)), ref).Scan(&name, &tier, &score)
		if errors.Is(err, sql.ErrNoRows) {
			return s, errNotHere
		}
		return State{Name: text(name), Tier: a.tierIn(text(tier)), Score: integer(score)}, err
	}
	var name, acct any
	err := tx.QueryRowContext(ctx, a.q(fmt.Sprintf("SELECT c.%s, x.%s FROM %s c LEFT JOIN %s x ON x.%s = c.%s WHERE c.%s = ?",
		a.c.name, a.a.ref, a.c.table, a.a.table, a.a.key, a.c.account, a.c.ref)), ref).Scan(&name, &acct)
	if errors.Is(err, sql.ErrNoRows) {
		return s, errNotHere
	}
	return State{Name: text(name), Account: text(acct)}, err
}

func (a *sqlApp) Create(ctx context.Context, entity, ref string, s State) (State, error) {
	tx, err := a.db.BeginTx(ctx, nil)
	if err != nil {
		return s, err
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it does nothing
	var cols []string
	var args []any
	if entity == Account {
		cols = []string{a.a.ref, a.a.name, a.a.tier, a.a.score}
		args = []any{ref, s.Name, a.tierLocal(s.Tier), s.Score}
	} else {
		k, err := a.accountKey(ctx, tx, s.Account)
		if err != nil {
			return s, err
		}
		cols = []string{a.c.ref, a.c.name, a.c.account}
		args = []any{ref, s.Name, k}
		if a.textContactKeys {
			cols = append(cols, a.c.key)
			args = append(args, a.newKey())
		}
	}
	table := a.a.table
	if entity == Contact {
		table = a.c.table
	}
	q := fmt.Sprintf("INSERT INTO %s (%s) VALUES (%s)", table, strings.Join(cols, ", "), strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", "))
	if _, err := tx.ExecContext(ctx, a.q(q), args...); err != nil {
		return s, fmt.Errorf("%s: create %s %s: %w", a.name, entity, ref, err)
	}
	got, err := a.state(ctx, tx, entity, ref)
	if err != nil {
		return s, fmt.Errorf("%s: read back %s %s: %w", a.name, entity, ref, err)
	}
	return got, tx.Commit()
}

func (a *sqlApp) Update(ctx context.Context, entity, ref string, p Patch) (State, error) {
	tx, err := a.db.BeginTx(ctx, nil)
	if err != nil {
		return State{}, err
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it does nothing
	var set []string
	var args []any
	table, refCol := a.a.table, a.a.ref
	if entity == Account {
		if p.Name != nil {
			set, args = append(set, a.a.name+" = ?"), append(args, *p.Name)
		}
		if p.Tier != nil {
			set, args = append(set, a.a.tier+" = ?"), append(args, a.tierLocal(*p.Tier))
		}
		if p.Score != nil {
			set, args = append(set, a.a.score+" = ?"), append(args, *p.Score)
		}
	} else {
		table, refCol = a.c.table, a.c.ref
		if p.Name != nil {
			set, args = append(set, a.c.name+" = ?"), append(args, *p.Name)
		}
		if p.Account != nil {
			k, err := a.accountKey(ctx, tx, *p.Account)
			if err != nil {
				return State{}, err
			}
			set, args = append(set, a.c.account+" = ?"), append(args, k)
		}
	}
	args = append(args, ref)
	res, err := tx.ExecContext(ctx, a.q(fmt.Sprintf("UPDATE %s SET %s WHERE %s = ?", table, strings.Join(set, ", "), refCol)), args...)
	if err != nil {
		return State{}, fmt.Errorf("%s: update %s %s: %w", a.name, entity, ref, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		// MySQL counts rows changed, not matched: look before calling it gone.
		if _, err := a.state(ctx, tx, entity, ref); err != nil {
			return State{}, err
		}
	}
	got, err := a.state(ctx, tx, entity, ref)
	if err != nil {
		return State{}, err
	}
	return got, tx.Commit()
}

func (a *sqlApp) Delete(ctx context.Context, entity, ref string) error {
	table, refCol := a.a.table, a.a.ref
	if entity == Contact {
		table, refCol = a.c.table, a.c.ref
	}
	res, err := a.db.ExecContext(ctx, a.q(fmt.Sprintf("DELETE FROM %s WHERE %s = ?", table, refCol)), ref)
	if err != nil {
		return fmt.Errorf("%s: delete %s %s: %w", a.name, entity, ref, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errNotHere
	}
	return nil
}

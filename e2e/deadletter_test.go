package e2e

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestSchemaViolationDeadLetterAndRetry: a record that breaks its schema,
// or that a destination refuses, is parked as a dead letter whose error
// names the system, entity, key and field, while everything else keeps
// flowing. The operator puts it right in each of the documented ways:
//   - fixing the record in its system: the fix is captured, the record
//     reaches the others and the dead letter resolves itself;
//   - fixing the configuration and `tandem dlq retry ID`: the hub reads
//     the record again from its system;
//   - fixing the destination and `tandem dlq retry --all`: the hub
//     delivers the record again.
func TestSchemaViolationDeadLetterAndRetry(t *testing.T) {
	t.Parallel()
	e := newEnv(t, configOptions{})
	e.startHub()
	ctx := context.Background()
	cat, acc, cr := e.sys[catalogue], e.sys[accounting], e.sys[crm]

	// An account with an empty name in the CRM breaks the schema
	// (name: minLength 1); one created after it is fine.
	if _, err := cr.exec(ctx, `INSERT INTO companies (company_id, company_name, email, country) VALUES ('acc-noname', '', 'noname@e2e.example', 'US')`); err != nil {
		t.Fatal(err)
	}
	if _, err := cr.createAccount(ctx, cr.db, "Good Company", "good@e2e.example", "DE"); err != nil {
		t.Fatal(err)
	}
	e.waitAccount("good@e2e.example", "Good Company", catalogue, accounting)
	d := e.waitDeadLetter("capture", crm, "account", "acc-noname")
	if d.Field != "name" {
		t.Errorf("dead letter %d names field %q, want name", d.ID, d.Field)
	}
	for _, s := range []string{"crm", "account", "acc-noname", `"name"`} {
		if !strings.Contains(d.Error, s) {
			t.Errorf("dead letter error %q does not name %s", d.Error, s)
		}
	}
	listed, err := e.tandem("dlq", "list")
	if err != nil {
		t.Fatalf("%v\n%s", err, listed)
	}
	t.Logf("tandem dlq list:\n%s", listed)
	if !hasRow(listed, fmt.Sprint(d.ID), "capture", "crm", "account", "acc-noname", "name", "open") {
		t.Errorf("tandem dlq list does not show dead letter %d with its stage, system, entity, key, field and state:\n%s", d.ID, listed)
	}
	e.waitStatus(crm, "account", func(r statusRow) bool { return r.Dead == 1 }, "crm account shows 1 dead letter")
	for _, s := range []string{catalogue, accounting} {
		if n := e.count(s, "account", "noname@e2e.example"); n != 0 {
			t.Errorf("the invalid account reached %s", s)
		}
	}

	// Fixing the record in the CRM is enough.
	if _, err := cr.exec(ctx, `UPDATE companies SET company_name = 'Named At Last' WHERE company_id = 'acc-noname'`); err != nil {
		t.Fatal(err)
	}
	e.waitAccount("noname@e2e.example", "Named At Last", catalogue, accounting)
	e.waitDeadState(d.ID, "resolved")

	// An account from the catalogue in a country the schema does not know
	// yet. The operator adds the country to the configuration, restarts
	// tandem and retries the dead letter.
	var esKey string
	if err := cat.db.QueryRowContext(ctx, `INSERT INTO customers (name, email, country) VALUES ('Hola SL', 'hola@e2e.example', 'ES') RETURNING id`).Scan(&esKey); err != nil {
		t.Fatal(err)
	}
	d = e.waitDeadLetter("capture", catalogue, "account", esKey)
	if d.Field != "country" || !strings.Contains(d.Error, "catalogue account "+esKey) {
		t.Errorf("dead letter %d: field %q, error %q; want field country and an error naming catalogue account %s", d.ID, d.Field, d.Error, esKey)
	}
	e.hub.stop()
	e.writeConfig(configOptions{ExtraCountries: [][2]string{{"Spain", "ES"}}})
	if out, err := e.tandem("check"); err != nil {
		t.Fatalf("tandem check of the fixed configuration: %v\n%s", err, out)
	}
	e.startHub()
	if out, err := e.tandem("dlq", "retry", fmt.Sprint(d.ID)); err != nil || !strings.Contains(out, "1 dead letters marked retry") {
		t.Fatalf("tandem dlq retry %d: %v\n%s", d.ID, err, out)
	}
	e.waitAccount("hola@e2e.example", "Hola SL", accounting, crm)
	var country string
	if err := acc.db.QueryRowContext(ctx, `SELECT country_name FROM clients WHERE mail = 'hola@e2e.example'`).Scan(&country); err != nil || country != "Spain" {
		t.Errorf("accounting country of the retried account: %q, %v; want Spain", country, err)
	}
	e.waitDeadState(d.ID, "retried", "resolved")

	// A product whose title is too long for accounting's column: the CRM
	// gets it, accounting refuses it, and other products still flow.
	const long = "Extra long oak writing desk" // 27 characters; accounting keeps 24
	if _, err := cat.exec(ctx, `INSERT INTO products (sku, title, price) VALUES ('DSK-0100', $1, 10), ('DSK-0101', 'Short desk', 20)`, long); err != nil {
		t.Fatal(err)
	}
	e.eventually(30*time.Second, "DSK-0100 reaches crm and DSK-0101 both", func() error {
		if e.count(crm, "product", "DSK-0100") != 1 || e.count(crm, "product", "DSK-0101") != 1 || e.count(accounting, "product", "DSK-0101") != 1 {
			return errors.New("not yet")
		}
		return nil
	})
	d = e.waitDeadLetter("deliver", accounting, "product", "")
	t.Logf("delivery dead letter: %+v", d)
	if d.GID == "" || d.Field == "" || !strings.Contains(d.Error, "description") {
		t.Errorf("delivery dead letter %d: gid %q, field %q, error %q; want the record's global id, the field and the column named", d.ID, d.GID, d.Field, d.Error)
	}
	if n := e.count(accounting, "product", "DSK-0100"); n != 0 {
		t.Errorf("accounting holds %d rows of the product it refused", n)
	}
	if _, err := acc.exec(ctx, `ALTER TABLE items MODIFY description VARCHAR(100)`); err != nil {
		t.Fatal(err)
	}
	if out, err := e.tandem("dlq", "retry", "--all"); err != nil || !strings.Contains(out, "1 dead letters marked retry") {
		t.Fatalf("tandem dlq retry --all: %v\n%s", err, out)
	}
	e.eventually(30*time.Second, "the retried product reaches accounting", func() error {
		var title string
		err := acc.db.QueryRowContext(ctx, `SELECT description FROM items WHERE code = 'DSK-0100'`).Scan(&title)
		if err != nil {
			return err
		}
		if title != long {
			return fmt.Errorf("title %q", title)
		}
		return nil
	})
	e.waitDeadState(d.ID, "retried", "resolved")
	e.agree(30 * time.Second)
	e.noDeadLetters()
}

// waitDeadLetter waits for an open dead letter of stage, system and entity
// (and key, unless empty) and returns it.
func (e *env) waitDeadLetter(stage, system, entity, key string) deadLetter {
	e.t.Helper()
	var found deadLetter
	e.eventually(30*time.Second, fmt.Sprintf("a %s dead letter of %s %s %s", stage, system, entity, key), func() error {
		ds, err := e.deadLetters("open")
		if err != nil {
			return err
		}
		for _, d := range ds {
			if d.Stage == stage && d.System == system && d.Entity == entity && (key == "" || d.Key == key) {
				found = d
				return nil
			}
		}
		return fmt.Errorf("open dead letters: %+v", ds)
	})
	return found
}

// waitDeadState waits until dead letter id is in one of states.
func (e *env) waitDeadState(id int64, states ...string) {
	e.t.Helper()
	e.eventually(30*time.Second, fmt.Sprintf("dead letter %d is %s", id, strings.Join(states, " or ")), func() error {
		ds, err := e.deadLetters("all")
		if err != nil {
			return err
		}
		for _, d := range ds {
			if d.ID != id {
				continue
			}
			for _, s := range states {
				if d.State == s {
					return nil
				}
			}
			return fmt.Errorf("it is %s", d.State)
		}
		return errors.New("it is not listed")
	})
}

// waitStatus waits until the status row of system and entity satisfies ok.
func (e *env) waitStatus(system, entity string, ok func(statusRow) bool, what string) {
	e.t.Helper()
	e.eventually(30*time.Second, what, func() error {
		rows, err := e.status()
		if err != nil {
			return err
		}
		for _, r := range rows {
			if r.System == system && r.Entity == entity && ok(r) {
				return nil
			}
		}
		return fmt.Errorf("status: %+v", rows)
	})
}

// waitAccount waits until each of systems holds the account with email, named name.
func (e *env) waitAccount(email, name string, systems ...string) {
	e.t.Helper()
	e.eventually(30*time.Second, fmt.Sprintf("account %s reaches %v", email, systems), func() error {
		for _, s := range systems {
			sy := e.sys[s]
			var got string
			err := sy.db.QueryRow(fmt.Sprintf("SELECT %s FROM %s WHERE %s = %s", sy.accName, sy.acc, sy.accEmail, sy.param(1)), email).Scan(&got)
			if errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("not in %s", s)
			}
			if err != nil {
				return err
			}
			if got != name {
				return fmt.Errorf("named %q in %s", got, s)
			}
		}
		return nil
	})
}

// count counts the rows of entity in system with the natural key nk.
func (e *env) count(system, entity, nk string) int {
	e.t.Helper()
	sy := e.sys[system]
	var q string
	switch entity {
	case "account":
		q = fmt.Sprintf("SELECT count(*) FROM %s WHERE %s = %s", sy.acc, sy.accEmail, sy.param(1))
	case "product":
		col := "sku"
		if system == accounting {
			col = "code"
		}
		q = fmt.Sprintf("SELECT count(*) FROM %s WHERE %s = %s", map[string]string{catalogue: "products", accounting: "items", crm: "products"}[system], col, sy.param(1))
	default:
		e.t.Fatalf("count: unknown entity %s", entity)
	}
	var n int
	if err := sy.db.QueryRow(q, nk).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

// hasRow reports whether a line of a table printed by tandem holds all
// the cells, as whole words.
func hasRow(table string, cells ...string) bool {
	for _, l := range strings.Split(table, "\n") {
		f := map[string]bool{}
		for _, w := range strings.Fields(l) {
			f[w] = true
		}
		all := true
		for _, c := range cells {
			all = all && f[c]
		}
		if all {
			return true
		}
	}
	return false
}

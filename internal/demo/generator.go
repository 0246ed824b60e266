package demo

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"time"
)

// app edits one demo system the way its own users would: through its
// own database connection, with its own IDs and column names.
type app struct {
	name  string
	db    *sql.DB
	rng   *rand.Rand
	edits atomic.Int64
	fails atomic.Int64
	// table and column names of this system
	acc, accKey, accName, accEmail, accCountry string
	con, conKey, conName, conEmail, conAcc     string
	countries                                  []string
	textKeys                                   bool // the system's keys are text it makes up
	products                                   bool // this system owns products
}

var (
	firstNames = []string{"Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Radia", "Tim"}
	lastNames  = []string{"Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson", "Perlman", "Berners-Lee"}
	companies  = []string{"Acme", "Globex", "Initech", "Umbrella", "Hooli", "Stark", "Wayne", "Wonka", "Tyrell", "Cyberdyne"}
)

func catalogueApp(db *sql.DB, seed uint64) *app {
	return &app{name: "catalogue", db: db, rng: rand.New(rand.NewPCG(seed, 1)),
		acc: "accounts", accKey: "id", accName: "name", accEmail: "email", accCountry: "country",
		con: "contacts", conKey: "id", conName: "name", conEmail: "email", conAcc: "account_id",
		countries: []string{"US", "DE", "FR", "GB"}, products: true}
}

func crmApp(db *sql.DB, seed uint64) *app {
	return &app{name: "crm", db: db, rng: rand.New(rand.NewPCG(seed, 2)),
		acc: "Account", accKey: "Id", accName: "Name", accEmail: "Email__c", accCountry: "BillingCountry",
		con: "Contact", conKey: "Id", conName: "LastName", conEmail: "Email", conAcc: "AccountId",
		countries: []string{"United States", "Germany", "France", "United Kingdom"}, textKeys: true}
}

func accountingApp(db *sql.DB, seed uint64) *app {
	return &app{name: "accounting", db: db, rng: rand.New(rand.NewPCG(seed, 3)),
		acc: "customers", accKey: "cust_no", accName: "cust_name", accEmail: "mail", accCountry: "country",
		con: "people", conKey: "person_no", conName: "full_name", conEmail: "mail", conAcc: "cust_no",
		countries: []string{"US", "DE", "FR", "GB"}}
}

// run edits at rate edits a second until ctx ends.
func (a *app) run(ctx context.Context, rate float64) {
	t := time.NewTicker(time.Duration(float64(time.Second) / rate))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := a.edit(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			a.fails.Add(1)
			continue
		}
		a.edits.Add(1)
	}
}

func (a *app) edit(ctx context.Context) error {
	n := a.rng.IntN(100)
	switch {
	case a.products && n < 15:
		return a.upsertProduct(ctx)
	case a.products && n < 17:
		return a.exec(ctx, `DELETE FROM products WHERE id = (SELECT id FROM products ORDER BY random() LIMIT 1)`)
	case n < 35:
		return a.createAccount(ctx)
	case n < 60:
		return a.createContact(ctx)
	case n < 75:
		return a.exec(ctx, fmt.Sprintf(`UPDATE %s SET %s = ? WHERE %s = (SELECT %s FROM %s ORDER BY random() LIMIT 1)`,
			a.acc, a.accName, a.accKey, a.accKey, a.acc), a.company())
	case n < 90:
		return a.exec(ctx, fmt.Sprintf(`UPDATE %s SET %s = ? WHERE %s = (SELECT %s FROM %s ORDER BY random() LIMIT 1)`,
			a.con, a.conName, a.conKey, a.conKey, a.con), a.person())
	default:
		return a.exec(ctx, fmt.Sprintf(`DELETE FROM %s WHERE %s = (SELECT %s FROM %s ORDER BY random() LIMIT 1)`,
			a.con, a.conKey, a.conKey, a.con))
	}
}

func (a *app) exec(ctx context.Context, q string, args ...any) error {
	_, err := a.db.ExecContext(ctx, q, args...)
	return err
}

func (a *app) company() string {
	return fmt.Sprintf("%s %s", companies[a.rng.IntN(len(companies))], []string{"Ltd", "GmbH", "SA", "Inc"}[a.rng.IntN(4)])
}

func (a *app) person() string {
	return firstNames[a.rng.IntN(len(firstNames))] + " " + lastNames[a.rng.IntN(len(lastNames))]
}

func (a *app) email() string { return fmt.Sprintf("%s.%08x@example.com", a.name, a.rng.Uint32()) }

func (a *app) newKey() []any {
	if a.textKeys {
		return []any{fmt.Sprintf("%s%012x", "a0", a.rng.Uint64()&0xffffffffffff)}
	}
	return nil
}

func (a *app) insert(ctx context.Context, table, key string, cols []string, vals []any) error {
	if k := a.newKey(); k != nil {
		cols = append([]string{key}, cols...)
		vals = append(k, vals...)
	}
	q := "INSERT INTO " + table + " ("
	ph := ""
	for i, c := range cols {
		if i > 0 {
			q += ", "
			ph += ", "
		}
		q += c
		ph += "?"
	}
	return a.exec(ctx, q+") VALUES ("+ph+")", vals...)
}

func (a *app) createAccount(ctx context.Context) error {
	return a.insert(ctx, a.acc, a.accKey, []string{a.accName, a.accEmail, a.accCountry},
		[]any{a.company(), a.email(), a.countries[a.rng.IntN(len(a.countries))]})
}

func (a *app) createContact(ctx context.Context) error {
	var acc any
	err := a.db.QueryRowContext(ctx, fmt.Sprintf(`SELECT %s FROM %s ORDER BY random() LIMIT 1`, a.accKey, a.acc)).Scan(&acc)
	if err == sql.ErrNoRows {
		return a.createAccount(ctx)
	}
	if err != nil {
		return err
	}
	return a.insert(ctx, a.con, a.conKey, []string{a.conName, a.conEmail, a.conAcc}, []any{a.person(), a.email(), acc})
}

func (a *app) upsertProduct(ctx context.Context) error {
	sku := fmt.Sprintf("%s-%04d", []string{"CAB", "DSK", "LMP", "CHR"}[a.rng.IntN(4)], a.rng.IntN(10000))
	price := float64(a.rng.IntN(100000)) / 100
	var id int64
	err := a.db.QueryRowContext(ctx, `SELECT id FROM products WHERE sku = ?`, sku).Scan(&id)
	if err == sql.ErrNoRows {
		return a.exec(ctx, `INSERT INTO products (sku, title, price) VALUES (?, ?, ?)`, sku, "Product "+sku, price)
	}
	if err != nil {
		return err
	}
	return a.exec(ctx, `UPDATE products SET price = ? WHERE id = ?`, price, id)
}

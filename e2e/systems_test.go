package e2e

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"math"
	"sort"
	"strings"
	"text/template"
)

// The three systems of every test, each with its own tables, columns and
// key style: the catalogue (PostgreSQL) and accounting (MariaDB) make
// integer keys themselves, the CRM (SQLite) uses text keys it invents.
const (
	catalogue  = "catalogue"
	accounting = "accounting"
	crm        = "crm"
)

var systemNames = []string{catalogue, accounting, crm}

var catalogueDDL = []string{
	`CREATE TABLE customers (id bigserial PRIMARY KEY, name text NOT NULL, email text, country varchar(2))`,
	`CREATE TABLE contacts (id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY, first_name text,
		last_name text NOT NULL, email text, customer_id bigint)`,
	`CREATE TABLE products (id serial PRIMARY KEY, sku text NOT NULL UNIQUE, title text, price double precision,
		active boolean NOT NULL DEFAULT true)`,
}

var accountingDDL = []string{
	`CREATE TABLE clients (cust_no INT AUTO_INCREMENT PRIMARY KEY, cust_name VARCHAR(200) NOT NULL,
		mail VARCHAR(200), country_name VARCHAR(50)) ENGINE=InnoDB`,
	`CREATE TABLE persons (person_no BIGINT AUTO_INCREMENT PRIMARY KEY, given_name VARCHAR(100),
		family_name VARCHAR(100) NOT NULL, mail VARCHAR(200), cust_no INT) ENGINE=InnoDB`,
	// description is deliberately narrow: a longer title is refused by
	// accounting, which the dead-letter test relies on.
	`CREATE TABLE items (item_no INT AUTO_INCREMENT PRIMARY KEY, code VARCHAR(20) NOT NULL,
		description VARCHAR(24), price_cents INT) ENGINE=InnoDB`,
}

var crmDDL = []string{
	`CREATE TABLE companies (company_id TEXT PRIMARY KEY, company_name TEXT NOT NULL, email TEXT, country TEXT)`,
	`CREATE TABLE people (person_id TEXT PRIMARY KEY, first TEXT, last TEXT NOT NULL, email TEXT, company_id TEXT)`,
	`CREATE TABLE products (code TEXT PRIMARY KEY, sku TEXT, name TEXT, price REAL)`,
}

// configOptions vary the configuration between tests.
type configOptions struct {
	// ExtraCountries are (accounting's name, canonical code) pairs added
	// to the account schema's enum and to accounting's value map.
	ExtraCountries [][2]string
}

type configData struct {
	PG, MySQL, CRM string
	Countries      string
	CountryNames   string
}

var configTemplate = template.Must(template.New("tandem.yaml").Parse(`# tandem.yaml of an end-to-end test: three systems keeping
# accounts, contacts and products in step.
version: 1
store:
  dir: ./store
systems:
  catalogue:
    type: postgres
    dsn: "{{.PG}}"
    poll: 50ms
  accounting:
    type: mysql
    dsn: "{{.MySQL}}"
    poll: 50ms
  crm:
    type: sqlite
    dsn: "{{.CRM}}"
    poll: 50ms
delivery:
  attempts: 3
  backoff: 50ms
  max_backoff: 500ms
entities:
  account:
    match: [email]
    schema:
      type: object
      properties:
        name: {type: string, minLength: 1}
        email: {type: [string, "null"]}
        country: {enum: [{{.Countries}}, null]}
      required: [name]
  contact:
    match: [email]
    refs: {account: account}
    schema:
      type: object
      properties:
        first_name: {type: [string, "null"]}
        last_name: {type: string, minLength: 1}
        email: {type: [string, "null"]}
        account: {type: [string, "null"]}
      required: [last_name]
  product:
    match: [sku]
    schema:
      type: object
      properties:
        sku: {type: string, pattern: "^[A-Z]{3}-[0-9]{4}$"}
        title: {type: string}
        price: {type: [number, "null"], minimum: 0}
        active: {type: boolean}
      required: [sku, title]
mappings:
  catalogue:
    account:
      table: customers
      key_generated: true
      fields: {name: name, email: email, country: country}
    contact:
      table: contacts
      key_generated: true
      fields: {first_name: first_name, last_name: last_name, email: email, account: customer_id}
    product:
      table: products
      key_generated: true
      fields: {sku: sku, title: title, price: price, active: active}
  accounting:
    account:
      table: clients
      key: cust_no
      key_generated: true
      fields:
        name: cust_name
        email: mail
        country:
          column: country_name
          values: {{"{"}}{{.CountryNames}}{{"}"}}
    contact:
      table: persons
      key: person_no
      key_generated: true
      fields: {first_name: given_name, last_name: family_name, email: mail, account: cust_no}
    product:
      table: items
      key: item_no
      key_generated: true
      filter: active
      fields:
        sku: code
        title: description
        price:
          column: price_cents
          in: price_cents / 100.0
          out: int(round(price * 100))
  crm:
    account:
      table: companies
      key: company_id
      fields: {name: company_name, email: email, country: country}
    contact:
      table: people
      key: person_id
      fields: {first_name: first, last_name: last, email: email, account: company_id}
    product:
      table: products
      key: code
      fields: {sku: sku, title: name, price: price}
routes:
  - entity: account
    between: [catalogue, accounting, crm]
  - entity: contact
    between: [catalogue, accounting, crm]
  - entity: product
    from: catalogue
    to: [accounting, crm]
`))

// accountingCountries is accounting's name of each canonical country code.
var accountingCountries = map[string]string{"US": "United States", "DE": "Germany", "FR": "France", "GB": "United Kingdom"}

func renderConfig(pg, my, crmPath string, opt configOptions) string {
	codes := []string{"US", "DE", "FR", "GB"}
	var names []string
	for _, c := range codes {
		names = append(names, fmt.Sprintf("%q: %s", accountingCountries[c], c))
	}
	for _, x := range opt.ExtraCountries {
		codes = append(codes, x[1])
		names = append(names, fmt.Sprintf("%q: %s", x[0], x[1]))
	}
	var b bytes.Buffer
	err := configTemplate.Execute(&b, configData{PG: pg, MySQL: my, CRM: crmPath,
		Countries: strings.Join(codes, ", "), CountryNames: strings.Join(names, ", ")})
	if err != nil {
		panic(err)
	}
	return b.String()
}

// system is how a test (playing the application that owns a database)
// reads and writes one system's accounts and contacts.
type system struct {
	name string
	db   *sql.DB
	// param renders the i-th (1-based) statement parameter.
	param  func(i int) string
	random string // SQL of a random order

	acc, accKey, accName, accEmail, accCountry       string
	con, conKey, conFirst, conLast, conEmail, conAcc string
	// country translates a canonical code to this system's value and back.
	toLocal, toCanon map[string]string
	textKeys         bool // the application invents text keys
}

func dollar(i int) string { return fmt.Sprintf("$%d", i) }
func question(int) string { return "?" }
func identity() map[string]string {
	return map[string]string{"US": "US", "DE": "DE", "FR": "FR", "GB": "GB", "ES": "ES"}
}

func catalogueSystem(db *sql.DB) *system {
	return &system{name: catalogue, db: db, param: dollar, random: "random()",
		acc: "customers", accKey: "id", accName: "name", accEmail: "email", accCountry: "country",
		con: "contacts", conKey: "id", conFirst: "first_name", conLast: "last_name", conEmail: "email", conAcc: "customer_id",
		toLocal: identity(), toCanon: identity()}
}

func accountingSystem(db *sql.DB) *system {
	s := &system{name: accounting, db: db, param: question, random: "RAND()",
		acc: "clients", accKey: "cust_no", accName: "cust_name", accEmail: "mail", accCountry: "country_name",
		con: "persons", conKey: "person_no", conFirst: "given_name", conLast: "family_name", conEmail: "mail", conAcc: "cust_no",
		toLocal: map[string]string{"ES": "Spain"}, toCanon: map[string]string{"Spain": "ES"}}
	for code, name := range accountingCountries {
		s.toLocal[code], s.toCanon[name] = name, code
	}
	return s
}

func crmSystem(db *sql.DB) *system {
	return &system{name: crm, db: db, param: question, random: "random()",
		acc: "companies", accKey: "company_id", accName: "company_name", accEmail: "email", accCountry: "country",
		con: "people", conKey: "person_id", conFirst: "first", conLast: "last", conEmail: "email", conAcc: "company_id",
		toLocal: identity(), toCanon: identity(), textKeys: true}
}

func (s *system) params(n int) string {
	p := make([]string, n)
	for i := range p {
		p[i] = s.param(i + 1)
	}
	return strings.Join(p, ", ")
}

// insert adds a row and returns its key: the one the database made, or
// a text key invented here for the CRM.
func (s *system) insert(ctx context.Context, q queryer, table, key string, cols []string, vals []any, newKey string) (string, error) {
	if s.textKeys {
		cols = append([]string{key}, cols...)
		vals = append([]any{newKey}, vals...)
	}
	stmt := fmt.Sprintf("INSERT INTO %s (%s) VALUES (%s)", table, strings.Join(cols, ", "), s.params(len(cols)))
	switch s.name {
	case catalogue:
		var k int64
		if err := q.QueryRowContext(ctx, stmt+" RETURNING "+key, vals...).Scan(&k); err != nil {
			return "", fmt.Errorf("%s: %w", s.name, err)
		}
		return fmt.Sprint(k), nil
	case accounting:
		res, err := q.ExecContext(ctx, stmt, vals...)
		if err != nil {
			return "", fmt.Errorf("%s: %w", s.name, err)
		}
		k, err := res.LastInsertId()
		return fmt.Sprint(k), err
	default:
		_, err := q.ExecContext(ctx, stmt, vals...)
		if err != nil {
			return "", fmt.Errorf("%s: %w", s.name, err)
		}
		return newKey, nil
	}
}

// queryer is a database or a transaction.
type queryer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func (s *system) createAccount(ctx context.Context, q queryer, name, email, country string) (string, error) {
	return s.insert(ctx, q, s.acc, s.accKey, []string{s.accName, s.accEmail, s.accCountry},
		[]any{name, email, s.toLocal[country]}, "acc-"+randHex())
}

func (s *system) createContact(ctx context.Context, q queryer, first, last, email, accKey string) (string, error) {
	var acc any
	if accKey != "" {
		acc = accKey
	}
	return s.insert(ctx, q, s.con, s.conKey, []string{s.conFirst, s.conLast, s.conEmail, s.conAcc},
		[]any{first, last, email, acc}, "per-"+randHex())
}

func (s *system) exec(ctx context.Context, q string, args ...any) (int64, error) {
	res, err := s.db.ExecContext(ctx, q, args...)
	if err != nil {
		return 0, fmt.Errorf("%s: %s: %w", s.name, q, err)
	}
	return res.RowsAffected()
}

// account, contact and product are records as a system holds them, with
// values translated to canonical form and references to the parent's
// natural key (its email), so that systems can be compared.
type account struct{ Key, Name, Email, Country string }

type contact struct{ Key, First, Last, Email, AccountKey, AccountEmail string }

type product struct {
	Key, SKU, Title string
	Price           float64
	HasPrice        bool
	Active          bool
}

// holdings is what one system holds, by natural key.
type holdings struct {
	system   string
	accounts map[string]account
	contacts map[string]contact
	products map[string]product
	dupes    []string // natural keys held more than once
}

func (s *system) read(ctx context.Context) (*holdings, error) {
	h := &holdings{system: s.name, accounts: map[string]account{}, contacts: map[string]contact{}, products: map[string]product{}}
	byKey, err := s.readAccounts(ctx, h)
	if err != nil {
		return nil, err
	}
	if err := s.readContacts(ctx, h, byKey); err != nil {
		return nil, err
	}
	if err := s.readProducts(ctx, h); err != nil {
		return nil, err
	}
	return h, nil
}

// readAccounts reads the system's accounts into h and returns their
// emails by key.
func (s *system) readAccounts(ctx context.Context, h *holdings) (map[string]string, error) {
	rows, err := s.db.QueryContext(ctx, fmt.Sprintf(`SELECT %s, %s, %s, %s FROM %s`, s.accKey, s.accName, s.accEmail, s.accCountry, s.acc))
	if err != nil {
		return nil, fmt.Errorf("read accounts of %s: %w", s.name, err)
	}
	defer rows.Close()
	byKey := map[string]string{}
	for rows.Next() {
		var k, name, email, country sql.NullString
		if err := rows.Scan(&k, &name, &email, &country); err != nil {
			return nil, err
		}
		a := account{Key: k.String, Name: name.String, Email: email.String, Country: country.String}
		if country.Valid {
			if c, ok := s.toCanon[country.String]; ok {
				a.Country = c
			} else {
				a.Country = "?" + country.String
			}
		}
		if o, dup := h.accounts[a.Email]; dup {
			h.dupes = append(h.dupes, fmt.Sprintf("account %s (keys %s and %s)", a.Email, o.Key, a.Key))
		}
		h.accounts[a.Email] = a
		byKey[a.Key] = a.Email
	}
	return byKey, rows.Err()
}

// readContacts reads the system's contacts into h; byKey is the
// accounts' emails by key.
func (s *system) readContacts(ctx context.Context, h *holdings, byKey map[string]string) error {
	rows, err := s.db.QueryContext(ctx, fmt.Sprintf(`SELECT %s, %s, %s, %s, %s FROM %s`, s.conKey, s.conFirst, s.conLast, s.conEmail, s.conAcc, s.con))
	if err != nil {
		return fmt.Errorf("read contacts of %s: %w", s.name, err)
	}
	defer rows.Close()
	for rows.Next() {
		var k, first, last, email, acc sql.NullString
		if err := rows.Scan(&k, &first, &last, &email, &acc); err != nil {
			return err
		}
		c := contact{Key: k.String, First: first.String, Last: last.String, Email: email.String, AccountKey: acc.String}
		if acc.Valid {
			if e, ok := byKey[acc.String]; ok {
				c.AccountEmail = e
			} else {
				c.AccountEmail = "<no account " + acc.String + ">"
			}
		}
		if o, dup := h.contacts[c.Email]; dup {
			h.dupes = append(h.dupes, fmt.Sprintf("contact %s (keys %s and %s)", c.Email, o.Key, c.Key))
		}
		h.contacts[c.Email] = c
	}
	return rows.Err()
}

// readProducts reads the system's products into h.
func (s *system) readProducts(ctx context.Context, h *holdings) error {
	var q string
	switch s.name {
	case catalogue:
		q = `SELECT id, sku, title, price, active FROM products`
	case accounting:
		q = `SELECT item_no, code, description, price_cents / 100.0, TRUE FROM items`
	default:
		q = `SELECT code, sku, name, price, 1 FROM products`
	}
	rows, err := s.db.QueryContext(ctx, q)
	if err != nil {
		return fmt.Errorf("read products of %s: %w", s.name, err)
	}
	defer rows.Close()
	for rows.Next() {
		var k, sku, title sql.NullString
		var price sql.NullFloat64
		var active bool
		if err := rows.Scan(&k, &sku, &title, &price, &active); err != nil {
			return err
		}
		p := product{Key: k.String, SKU: sku.String, Title: title.String, Price: price.Float64, HasPrice: price.Valid, Active: active}
		if o, dup := h.products[p.SKU]; dup {
			h.dupes = append(h.dupes, fmt.Sprintf("product %s (keys %s and %s)", p.SKU, o.Key, p.Key))
		}
		h.products[p.SKU] = p
	}
	return rows.Err()
}

// disagreements lists how the systems differ, record by record, after
// translating keys, value maps and references. The catalogue is the only
// source of products; accounting holds only the active ones.
func disagreements(hs map[string]*holdings) []string {
	var out []string
	for _, s := range systemNames {
		for _, d := range hs[s].dupes {
			out = append(out, fmt.Sprintf("%s holds %s more than once", s, d))
		}
	}
	ref := hs[catalogue]
	for _, s := range []string{accounting, crm} {
		h := hs[s]
		for _, e := range union(keys(ref.accounts), keys(h.accounts)) {
			a, inRef := ref.accounts[e]
			b, inH := h.accounts[e]
			switch {
			case !inRef:
				out = append(out, fmt.Sprintf("account %s is in %s (key %s) but not in %s", e, s, b.Key, catalogue))
			case !inH:
				out = append(out, fmt.Sprintf("account %s is in %s (key %s) but not in %s", e, catalogue, a.Key, s))
			case a.Name != b.Name || a.Country != b.Country:
				out = append(out, fmt.Sprintf("account %s: %s has %q/%q, %s has %q/%q", e, catalogue, a.Name, a.Country, s, b.Name, b.Country))
			}
		}
		for _, e := range union(keys(ref.contacts), keys(h.contacts)) {
			a, inRef := ref.contacts[e]
			b, inH := h.contacts[e]
			switch {
			case !inRef:
				out = append(out, fmt.Sprintf("contact %s is in %s (key %s) but not in %s", e, s, b.Key, catalogue))
			case !inH:
				out = append(out, fmt.Sprintf("contact %s is in %s (key %s) but not in %s", e, catalogue, a.Key, s))
			case a.First != b.First || a.Last != b.Last || a.AccountEmail != b.AccountEmail:
				out = append(out, fmt.Sprintf("contact %s: %s has %q %q of account %q, %s has %q %q of account %q",
					e, catalogue, a.First, a.Last, a.AccountEmail, s, b.First, b.Last, b.AccountEmail))
			}
		}
		for _, sku := range union(keys(ref.products), keys(h.products)) {
			a, inRef := ref.products[sku]
			b, inH := h.products[sku]
			want := inRef && (a.Active || s != accounting)
			switch {
			case !want && inH && !inRef:
				out = append(out, fmt.Sprintf("product %s is in %s but not in %s", sku, s, catalogue))
			case !want && inH:
				out = append(out, fmt.Sprintf("inactive product %s reached %s", sku, s))
			case want && !inH:
				out = append(out, fmt.Sprintf("product %s is in %s but not in %s", sku, catalogue, s))
			case want && (a.Title != b.Title || a.HasPrice != b.HasPrice || math.Abs(a.Price-b.Price) > 0.001):
				out = append(out, fmt.Sprintf("product %s: %s has %q %v, %s has %q %v", sku, catalogue, a.Title, a.Price, s, b.Title, b.Price))
			}
		}
	}
	return out
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

func union(a, b []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range append(a, b...) {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out
}

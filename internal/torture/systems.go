package torture

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"

	"github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib" // PostgreSQL
	_ "modernc.org/sqlite"             // SQLite
)

// system is one system of the run: the application its writers use,
// how tandem reaches it (through a proxy where faults apply), and what
// undoes it.
type system struct {
	app     App
	name    string
	kind    string // postgres, mysql, sqlite, http, queue
	yaml    string // its entry under systems:, indented by 2
	mapping string // its entry under mappings:, indented by 2
	tcp     *tcpProxy
	api     *apiProxy
	cleanup []func()
}

func (s *system) close() {
	if s.app != nil {
		_ = s.app.Close()
	}
	for i := len(s.cleanup) - 1; i >= 0; i-- {
		s.cleanup[i]()
	}
}

func randomName(prefix string) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

func execAll(ctx context.Context, db *sql.DB, stmts []string) error {
	for _, q := range stmts {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("%w; statement: %s", err, q)
		}
	}
	return nil
}

// postgresSystem makes a database on the server admin names (a DSN of
// a user who may create databases), and a proxy tandem reaches it through.
func postgresSystem(ctx context.Context, admin string) (*system, error) {
	adb, err := sql.Open("pgx", admin)
	if err != nil {
		return nil, err
	}
	defer adb.Close()
	name := randomName("torture_")
	if _, err := adb.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		return nil, fmt.Errorf("create PostgreSQL database (is the server at %s up?): %w", redact(admin), err)
	}
	s := &system{name: "pg", kind: "postgres"}
	s.cleanup = append(s.cleanup, func() {
		db, err := sql.Open("pgx", admin)
		if err == nil {
			_, _ = db.ExecContext(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
			db.Close()
		}
	})
	u, err := url.Parse(admin)
	if err != nil {
		s.close()
		return nil, err
	}
	u.Path = "/" + name
	db, err := sql.Open("pgx", u.String())
	if err != nil {
		s.close()
		return nil, err
	}
	db.SetMaxOpenConns(8)
	if err := execAll(ctx, db, []string{
		`CREATE TABLE accounts (id bigserial PRIMARY KEY, code text NOT NULL, name text NOT NULL, tier text, score integer)`,
		`CREATE INDEX ON accounts (code)`,
		`CREATE TABLE contacts (id bigserial PRIMARY KEY, code text NOT NULL, full_name text NOT NULL, account_id bigint)`,
		`CREATE INDEX ON contacts (code)`,
	}); err != nil {
		db.Close()
		s.close()
		return nil, err
	}
	s.app = &sqlApp{name: "pg", db: db, dollar: true, returning: true,
		a: acctCols{"accounts", "id", "code", "name", "tier", "score"},
		c: contCols{"contacts", "id", "code", "full_name", "account_id"}}
	if s.tcp, err = newTCPProxy(ctx, u.Host); err != nil {
		s.close()
		return nil, err
	}
	s.cleanup = append(s.cleanup, s.tcp.Close)
	tu := *u
	tu.Host = s.tcp.Addr()
	s.yaml = fmt.Sprintf("  pg: {type: postgres, dsn: %q, poll: 100ms, batch: 200}\n", tu.String())
	s.mapping = `  pg:
    account: {table: accounts, key_generated: true, fields: {ref: code, name: name, tier: tier, score: score}}
    contact: {table: contacts, key_generated: true, fields: {ref: code, name: full_name, account: account_id}}
`
	return s, nil
}

// mysqlSystem makes a database on the MariaDB or MySQL server admin names.
func mysqlSystem(ctx context.Context, admin string) (*system, error) {
	cfg, err := mysql.ParseDSN(admin)
	if err != nil {
		return nil, fmt.Errorf("MySQL DSN: %w", err)
	}
	adb, err := sql.Open("mysql", admin)
	if err != nil {
		return nil, err
	}
	defer adb.Close()
	name := randomName("torture_")
	if _, err := adb.ExecContext(ctx, "CREATE DATABASE "+name+" CHARACTER SET utf8mb4"); err != nil {
		return nil, fmt.Errorf("create MySQL database (is the server at %s up?): %w", cfg.Addr, err)
	}
	s := &system{name: "maria", kind: "mysql"}
	s.cleanup = append(s.cleanup, func() {
		db, err := sql.Open("mysql", admin)
		if err == nil {
			_, _ = db.ExecContext(context.Background(), "DROP DATABASE IF EXISTS "+name)
			db.Close()
		}
	})
	cfg.DBName = name
	db, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		s.close()
		return nil, err
	}
	db.SetMaxOpenConns(8)
	if err := execAll(ctx, db, []string{
		`CREATE TABLE companies (company_id INT AUTO_INCREMENT PRIMARY KEY, company_code VARCHAR(64) NOT NULL,
			title VARCHAR(255) NOT NULL, level CHAR(1), points INT, KEY (company_code)) ENGINE=InnoDB`,
		`CREATE TABLE people (person_id INT AUTO_INCREMENT PRIMARY KEY, person_code VARCHAR(64) NOT NULL,
			display_name VARCHAR(255) NOT NULL, company_id INT, KEY (person_code)) ENGINE=InnoDB`,
	}); err != nil {
		db.Close()
		s.close()
		return nil, err
	}
	s.app = &sqlApp{name: "maria", db: db,
		a:       acctCols{"companies", "company_id", "company_code", "title", "level", "points"},
		c:       contCols{"people", "person_id", "person_code", "display_name", "company_id"},
		tierOut: map[string]string{"gold": "A", "silver": "B", "bronze": "C"}}
	if s.tcp, err = newTCPProxy(ctx, cfg.Addr); err != nil {
		s.close()
		return nil, err
	}
	s.cleanup = append(s.cleanup, s.tcp.Close)
	tc := *cfg
	tc.Addr = s.tcp.Addr()
	s.yaml = fmt.Sprintf("  maria: {type: mysql, dsn: %q, poll: 100ms, batch: 200}\n", tc.FormatDSN())
	s.mapping = `  maria:
    account:
      table: companies
      key: company_id
      key_generated: true
      fields:
        ref: company_code
        name: title
        tier: {column: level, values: {A: gold, B: silver, C: bronze}}
        score: points
    contact: {table: people, key: person_id, key_generated: true, fields: {ref: person_code, name: display_name, account: company_id}}
`
	return s, nil
}

// sqliteSystem makes a SQLite file in dir. Its accounts are keyed by
// rowid, which SQLite reuses after the highest row is deleted; its
// contacts by text keys the application (or tandem) makes.
func sqliteSystem(ctx context.Context, dir string) (*system, error) {
	path := filepath.Join(dir, "lite.db")
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(20000)&_pragma=journal_mode(WAL)&_txlock=immediate")
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	if err := execAll(ctx, db, []string{
		`CREATE TABLE orgs (org_id INTEGER PRIMARY KEY, org_ref TEXT NOT NULL, org_name TEXT NOT NULL, tier TEXT, score REAL)`,
		`CREATE INDEX orgs_ref ON orgs (org_ref)`,
		`CREATE TABLE members (member_id TEXT PRIMARY KEY, member_ref TEXT NOT NULL, name TEXT NOT NULL, org_id INTEGER)`,
		`CREATE INDEX members_ref ON members (member_ref)`,
	}); err != nil {
		db.Close()
		return nil, err
	}
	s := &system{name: "lite", kind: "sqlite"}
	s.app = &sqlApp{name: "lite", db: db,
		a: acctCols{"orgs", "org_id", "org_ref", "org_name", "tier", "score"},
		c: contCols{"members", "member_id", "member_ref", "name", "org_id"}, textContactKeys: true,
		newKey: func() string { return randomName("m-") }}
	s.yaml = fmt.Sprintf("  lite: {type: sqlite, dsn: %q, poll: 100ms, batch: 200}\n", path)
	s.mapping = `  lite:
    account: {table: orgs, key: org_id, key_generated: true, fields: {ref: org_ref, name: org_name, tier: tier, score: score}}
    contact: {table: members, key: member_id, fields: {ref: member_ref, name: name, account: org_id}}
`
	return s, nil
}

// jsonServerSystem starts json-server in dir behind an API proxy.
func jsonServerSystem(ctx context.Context, bin, dir string) (*system, error) {
	js, err := startJSONServer(ctx, bin, dir)
	if err != nil {
		return nil, err
	}
	s := &system{name: "shop", kind: "http", app: newJSONApp("shop", js.url)}
	s.cleanup = append(s.cleanup, js.stop)
	if s.api, err = newAPIProxy(ctx, js.url); err != nil {
		s.close()
		return nil, err
	}
	s.cleanup = append(s.cleanup, s.api.Close)
	s.yaml = fmt.Sprintf(`  shop:
    type: http
    dsn: %q
    poll: 200ms
    batch: 200
    http:
      timeout: 2s
      retries: 3
      max_wait: 30s
      resources:
        accounts: &shop
          updated: updatedAt
          since: {updatedAt_gte: "{since}"}
          params: {_sort: "updatedAt,id", _order: "asc,asc"}
          paging: {style: page, page: _page, limit: _limit, size: 100}
          lookup: tandem_gid
          condition: {field: if_updatedAt, from: updatedAt}
          deletes: {scan: 1s}
        contacts: *shop
`, s.api.URL())
	s.mapping = `  shop:
    account: {table: accounts, key_generated: true, fields: {ref: code, name: name, tier: tier, score: score}}
    contact: {table: contacts, key_generated: true, fields: {ref: code, name: name, account: account}}
`
	return s, nil
}

func redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return "the configured server"
	}
	u.User = nil
	return u.String()
}

// config renders tandem.yaml for the systems.
func config(dataDir string, systems []*system) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# tandem.yaml written by tandem torture\nversion: 1\nstore: {dir: %q}\nsystems:\n", dataDir)
	names := make([]string, len(systems))
	for i, s := range systems {
		b.WriteString(s.yaml)
		names[i] = s.name
	}
	b.WriteString(`delivery: {attempts: 8, backoff: 50ms, max_backoff: 1s}
entities:
  account:
    match: [ref]
    schema:
      type: object
      properties:
        ref: {type: string, minLength: 1}
        name: {type: string, minLength: 1}
        tier: {enum: [gold, silver, bronze]}
        score: {type: integer}
      required: [ref, name]
  contact:
    match: [ref]
    refs: {account: account}
    schema:
      type: object
      properties:
        ref: {type: string, minLength: 1}
        name: {type: string, minLength: 1}
        account: {type: [string, "null"]}
      required: [ref, name]
mappings:
`)
	for _, s := range systems {
		b.WriteString(s.mapping)
	}
	list := strings.Join(names, ", ")
	fmt.Fprintf(&b, "routes:\n  - {entity: account, between: [%s]}\n  - {entity: contact, between: [%s]}\n", list, list)
	return b.String()
}

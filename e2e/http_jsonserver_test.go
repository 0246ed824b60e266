package e2e

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tandemhub/tandem/internal/testenv"
)

// The http connector end to end: a PostgreSQL database and json-server (a
// real third-party REST server with its own ids and paging, started here)
// kept in step both ways by the tandem binary: creates, updates, deletes,
// and references between customers and contacts.

func jsonServerBin(t *testing.T) string { return testenv.JSONServer(t) }

func httpFreePort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// jsonServer is a running json-server and a client for playing its users.
type jsonServer struct {
	t   *testing.T
	url string
}

func startJSONServer(t *testing.T, db map[string][]map[string]any) *jsonServer {
	t.Helper()
	bin := jsonServerBin(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "db.json")
	data, _ := json.Marshal(db)
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}
	port := httpFreePort(t)
	cmd := exec.Command(bin, "--host", "127.0.0.1", "--port", fmt.Sprint(port), "--quiet", file)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start json-server: %v", err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("json-server output:\n%s", out.String())
		}
	})
	s := &jsonServer{t: t, url: fmt.Sprintf("http://127.0.0.1:%d", port)}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(s.url + "/customers")
		if err == nil {
			resp.Body.Close()
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("json-server did not start: %v\n%s", err, out.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// do sends a request as json-server's own users would and decodes the answer.
func (s *jsonServer) do(method, path string, body any, out any) error {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, s.url+path, rd)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		return fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, data)
	}
	if out != nil {
		return json.Unmarshal(data, out)
	}
	return nil
}

// stamped returns fields with updatedAt set to now, as an application
// that keeps an updated-at would write them.
func stamped(f map[string]any) map[string]any {
	f["updatedAt"] = time.Now().UnixMilli()
	return f
}

const httpConfig = `# tandem.yaml of the http end-to-end test: PostgreSQL and json-server.
version: 1
store:
  dir: ./store
systems:
  pg:
    type: postgres
    dsn: %q
    poll: 50ms
  shop:
    type: http
    dsn: %q
    poll: 100ms
    http:
      timeout: 5s
      rate_limit: 200/s
      resources:
        customers: &resource
          updated: updatedAt
          since: {updatedAt_gte: "{since}"}
          params: {_sort: "updatedAt,id", _order: "asc,asc"}
          paging: {style: page, page: _page, limit: _limit, size: 50}
          lookup: tandem_gid
          deletes: {scan: 500ms}
        contacts: *resource
delivery:
  attempts: 5
  backoff: 50ms
  max_backoff: 500ms
entities:
  customer:
    match: [email]
    schema:
      type: object
      properties:
        name: {type: string, minLength: 1}
        email: {type: string}
      required: [name]
  contact:
    match: [email]
    refs: {customer: customer}
    schema:
      type: object
      properties:
        name: {type: string, minLength: 1}
        email: {type: string}
        customer: {type: [string, "null"]}
      required: [name]
mappings:
  pg:
    customer:
      table: customers
      key_generated: true
      fields: {name: name, email: email}
    contact:
      table: contacts
      key_generated: true
      fields: {name: name, email: email, customer: customer_id}
  shop:
    customer:
      table: customers
      key_generated: true
      fields: {name: name, email: email}
    contact:
      table: contacts
      key_generated: true
      fields: {name: name, email: email, customer: customer}
routes:
  - entity: customer
    between: [pg, shop]
  - entity: contact
    between: [pg, shop]
`

// side is what one system holds, by email: customers' names, and
// contacts' names with their customer's email.
type side struct {
	customers map[string]string
	contacts  map[string][2]string
	dupes     []string
}

func (s side) String() string {
	var b strings.Builder
	keys := make([]string, 0, len(s.customers))
	for k := range s.customers {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "  customer %s %q\n", k, s.customers[k])
	}
	keys = keys[:0]
	for k := range s.contacts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "  contact %s %q of %s\n", k, s.contacts[k][0], s.contacts[k][1])
	}
	return b.String()
}

func readPG(db *sql.DB) (side, error) {
	s := side{customers: map[string]string{}, contacts: map[string][2]string{}}
	byID, err := readPGCustomers(db, &s)
	if err != nil {
		return s, err
	}
	rows, err := db.Query(`SELECT name, email, customer_id FROM contacts`)
	if err != nil {
		return s, err
	}
	defer rows.Close()
	for rows.Next() {
		var name, email string
		var cust sql.NullInt64
		if err := rows.Scan(&name, &email, &cust); err != nil {
			return s, err
		}
		if _, dup := s.contacts[email]; dup {
			s.dupes = append(s.dupes, "pg contact "+email)
		}
		ce := ""
		if cust.Valid {
			ce = byID[cust.Int64]
			if ce == "" {
				ce = fmt.Sprintf("<missing customer %d>", cust.Int64)
			}
		}
		s.contacts[email] = [2]string{name, ce}
	}
	return s, rows.Err()
}

// readPGCustomers reads PostgreSQL's customers into s and returns their
// emails by id.
func readPGCustomers(db *sql.DB, s *side) (map[int64]string, error) {
	rows, err := db.Query(`SELECT id, name, email FROM customers`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	byID := map[int64]string{}
	for rows.Next() {
		var id int64
		var name, email string
		if err := rows.Scan(&id, &name, &email); err != nil {
			return nil, err
		}
		if _, dup := s.customers[email]; dup {
			s.dupes = append(s.dupes, "pg customer "+email)
		}
		s.customers[email], byID[id] = name, email
	}
	return byID, rows.Err()
}

func (js *jsonServer) read() (side, error) {
	s := side{customers: map[string]string{}, contacts: map[string][2]string{}}
	var custs, cons []map[string]any
	if err := js.do("GET", "/customers", nil, &custs); err != nil {
		return s, err
	}
	if err := js.do("GET", "/contacts", nil, &cons); err != nil {
		return s, err
	}
	byID := map[string]string{}
	for _, c := range custs {
		email := fmt.Sprint(c["email"])
		if _, dup := s.customers[email]; dup {
			s.dupes = append(s.dupes, "shop customer "+email)
		}
		s.customers[email] = fmt.Sprint(c["name"])
		byID[fmt.Sprint(c["id"])] = email
	}
	for _, c := range cons {
		email := fmt.Sprint(c["email"])
		if _, dup := s.contacts[email]; dup {
			s.dupes = append(s.dupes, "shop contact "+email)
		}
		ce := ""
		if ref := c["customer"]; ref != nil && ref != "" {
			ce = byID[fmt.Sprint(ref)]
			if ce == "" {
				ce = fmt.Sprintf("<missing customer %v>", ref)
			}
		}
		s.contacts[email] = [2]string{fmt.Sprint(c["name"]), ce}
	}
	return s, nil
}

func TestHTTPJSONServerBothWays(t *testing.T) {
	ctx := context.Background()
	pgDSN := testenv.Postgres(t)
	pg, err := sql.Open("pgx", pgDSN)
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	for _, q := range []string{
		`CREATE TABLE customers (id bigserial PRIMARY KEY, name text NOT NULL, email text)`,
		`CREATE TABLE contacts (id bigserial PRIMARY KEY, name text NOT NULL, email text, customer_id bigint)`,
		`INSERT INTO customers (name, email) VALUES ('Acme', 'acme@example.com'), ('Globex', 'globex@example.com')`,
		`INSERT INTO contacts (name, email, customer_id) VALUES ('Ada', 'ada@example.com', 1), ('Hank', 'hank@example.com', 2), ('Solo', 'solo@example.com', NULL)`,
	} {
		if _, err := pg.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	// json-server starts with records of its own, one customer shared
	// with PostgreSQL by email (matched, not copied twice).
	js := startJSONServer(t, map[string][]map[string]any{
		"customers": {
			{"id": 1, "name": "Initech", "email": "initech@example.com", "updatedAt": time.Now().UnixMilli()},
			{"id": 2, "name": "Acme", "email": "acme@example.com", "updatedAt": time.Now().UnixMilli()},
		},
		"contacts": {
			{"id": 1, "name": "Peter", "email": "peter@example.com", "customer": 1, "updatedAt": time.Now().UnixMilli()},
		},
	})

	dir := t.TempDir()
	cfg := filepath.Join(dir, "tandem.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(httpConfig, pgDSN, js.url)), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := runTandem(dir, "check", "-c", cfg); err != nil {
		t.Fatalf("tandem check: %v\n%s", err, out)
	}
	if out, err := runTandem(dir, "setup", "-c", cfg); err != nil {
		t.Fatalf("tandem setup: %v\n%s", err, out)
	}
	hub := startHTTPHub(t, dir, cfg)

	agree := func(what string, want func(pg, shop side) error) {
		t.Helper()
		var last error
		deadline := time.Now().Add(45 * time.Second)
		for time.Now().Before(deadline) {
			a, err1 := readPG(pg)
			b, err2 := js.read()
			switch {
			case err1 != nil:
				last = err1
			case err2 != nil:
				last = err2
			case len(a.dupes)+len(b.dupes) > 0:
				t.Fatalf("%s: duplicates: %v %v", what, a.dupes, b.dupes)
			case a.String() != b.String():
				last = fmt.Errorf("pg:\n%sshop:\n%s", a, b)
			default:
				if last = want(a, b); last == nil {
					return
				}
			}
			time.Sleep(200 * time.Millisecond)
		}
		t.Fatalf("%s: not within 45s: %v\nhub log:\n%s", what, last, tail(hub.String(), 80))
	}
	agree("initial sync", func(a, _ side) error {
		if len(a.customers) != 3 || len(a.contacts) != 4 {
			return fmt.Errorf("want 3 customers and 4 contacts, have\n%s", a)
		}
		if a.contacts["peter@example.com"][1] != "initech@example.com" {
			return fmt.Errorf("peter's customer is %q", a.contacts["peter@example.com"][1])
		}
		return nil
	})

	// PostgreSQL's users: rename, a contact of the shop's customer, a delete.
	for _, q := range []string{
		`UPDATE customers SET name = 'Acme Ltd' WHERE email = 'acme@example.com'`,
		`INSERT INTO contacts (name, email, customer_id) SELECT 'Milton', 'milton@example.com', id FROM customers WHERE email = 'initech@example.com'`,
		`DELETE FROM contacts WHERE email = 'solo@example.com'`,
	} {
		if _, err := pg.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	// json-server's users: rename, a new customer with a contact, a delete.
	var shopCustomers, shopContacts []map[string]any
	if err := js.do("GET", "/customers", nil, &shopCustomers); err != nil {
		t.Fatal(err)
	}
	if err := js.do("GET", "/contacts", nil, &shopContacts); err != nil {
		t.Fatal(err)
	}
	idOf := func(list []map[string]any, email string) any {
		for _, r := range list {
			if r["email"] == email {
				return r["id"]
			}
		}
		t.Fatalf("json-server has no %s", email)
		return nil
	}
	if err := js.do("PATCH", fmt.Sprintf("/customers/%v", idOf(shopCustomers, "globex@example.com")), stamped(map[string]any{"name": "Globex Corp"}), nil); err != nil {
		t.Fatal(err)
	}
	var umbrella map[string]any
	if err := js.do("POST", "/customers", stamped(map[string]any{"name": "Umbrella", "email": "umbrella@example.com"}), &umbrella); err != nil {
		t.Fatal(err)
	}
	if err := js.do("POST", "/contacts", stamped(map[string]any{"name": "Alice", "email": "alice@example.com", "customer": umbrella["id"]}), nil); err != nil {
		t.Fatal(err)
	}
	if err := js.do("DELETE", fmt.Sprintf("/contacts/%v", idOf(shopContacts, "hank@example.com")), nil, nil); err != nil {
		t.Fatal(err)
	}

	agree("edits on both sides", func(a, _ side) error {
		want := side{customers: map[string]string{
			"acme@example.com": "Acme Ltd", "globex@example.com": "Globex Corp", "initech@example.com": "Initech",
			"umbrella@example.com": "Umbrella"}, contacts: map[string][2]string{
			"ada@example.com": {"Ada", "acme@example.com"}, "peter@example.com": {"Peter", "initech@example.com"},
			"milton@example.com": {"Milton", "initech@example.com"}, "alice@example.com": {"Alice", "umbrella@example.com"}}}
		if a.String() != want.String() {
			return fmt.Errorf("want\n%shave\n%s", want, a)
		}
		return nil
	})

	// Deleting a customer in json-server removes it from PostgreSQL.
	if err := js.do("DELETE", fmt.Sprintf("/customers/%v", idOf(shopCustomers, "globex@example.com")), nil, nil); err != nil {
		t.Fatal(err)
	}
	agree("a deleted customer", func(a, _ side) error {
		if _, ok := a.customers["globex@example.com"]; ok {
			return fmt.Errorf("globex still there")
		}
		return nil
	})
	out, err := runTandem(dir, "dlq", "list", "--json", "--state", "open", "-c", cfg)
	if err != nil {
		t.Fatalf("tandem dlq list: %v\n%s", err, out)
	}
	if s := strings.TrimSpace(out); s != "[]" && s != "null" && s != "" {
		t.Errorf("open dead letters:\n%s", out)
	}
}

// startHTTPHub starts `tandem run` and waits for its initial snapshots.
func startHTTPHub(t *testing.T, dir, cfg string) *syncBuffer {
	t.Helper()
	out := &syncBuffer{}
	cmd := exec.Command(tandemBin, "run", "-c", cfg, "--log-level", os.Getenv("TANDEM_E2E_LOG"))
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start tandem run: %v", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("tandem run output:\n%s", tail(out.String(), 120))
		}
	})
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(out.String(), "initial snapshots done") {
		select {
		case <-done:
			t.Fatalf("tandem run exited:\n%s", out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("tandem run not ready within 60s:\n%s", out.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	return out
}

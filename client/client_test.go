package client

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/tandemhub/tandem/internal/broker"
	"github.com/tandemhub/tandem/internal/broker/brokertest"
	"github.com/tandemhub/tandem/internal/contract"
	"github.com/tandemhub/tandem/internal/record"
)

const (
	outQ     = "tandem.shop.changes"
	inQ      = "tandem.shop.inbound"
	reportsQ = "tandem.shop.reports"
)

// app is an application with a customers table, its client on a fake broker.
type app struct {
	t  *testing.T
	db *sql.DB
	c  *Client
	f  *brokertest.Fake
}

func newApp(t *testing.T, o Options) *app {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "app.db")+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ctx := context.Background()
	if _, err := db.ExecContext(ctx, "CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT, email TEXT)"); err != nil {
		t.Fatal(err)
	}
	o.System, o.Broker, o.URL, o.DB, o.Dialect = "shop", "rabbitmq", "amqp://unused", db, SQLite
	if o.RelayPoll == 0 {
		o.RelayPoll = 5 * time.Millisecond
	}
	c, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	f := brokertest.New()
	c.dial = func(context.Context) (broker.Broker, error) { return f, nil }
	if err := c.Setup(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.Setup(ctx); err != nil {
		t.Fatalf("Setup a second time: %v", err)
	}
	return &app{t: t, db: db, c: c, f: f}
}

// run runs Relay and, with h, Consume until the test ends.
func (a *app) run(h Handler) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); _ = a.c.Relay(ctx) }()
	if h != nil {
		wg.Add(1)
		go func() { defer wg.Done(); _ = a.c.Consume(ctx, h) }()
	}
	a.t.Cleanup(func() { cancel(); wg.Wait(); _ = a.c.Close() })
}

// save writes a customer as the application does, publishing the change.
func (a *app) save(ctx context.Context, id int64, name string, rollback bool) {
	a.t.Helper()
	tx, err := a.db.BeginTx(ctx, nil)
	if err != nil {
		a.t.Fatal(err)
	}
	defer func() {
		if err := tx.Rollback(); err != nil && !errors.Is(err, sql.ErrTxDone) {
			a.t.Error(err)
		}
	}()
	if _, err := tx.ExecContext(ctx, "INSERT INTO customers (id, name) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET name = excluded.name", id, name); err != nil {
		a.t.Fatal(err)
	}
	if err := a.c.Publish(ctx, tx, Change{Entity: "customer", Key: fmt.Sprint(id), Fields: map[string]any{"name": name}}); err != nil {
		a.t.Fatal(err)
	}
	if !rollback {
		if err := tx.Commit(); err != nil {
			a.t.Fatal(err)
		}
	}
}

func (a *app) count(q string, args ...any) int {
	a.t.Helper()
	var n int
	if err := a.db.QueryRow(q, args...).Scan(&n); err != nil {
		a.t.Fatal(err)
	}
	return n
}

// waitFor waits until queue holds n messages and decodes them.
func (a *app) changes(n int) []contract.Change {
	a.t.Helper()
	var ms []broker.Message
	eventually(a.t, func() error {
		if ms = a.f.Published(outQ); len(ms) < n {
			return fmt.Errorf("%d changes sent, want %d", len(ms), n)
		}
		return nil
	})
	var out []contract.Change
	for _, m := range ms {
		c, err := contract.DecodeChange(m.Body)
		if err != nil {
			a.t.Fatalf("%s: %v", m.Body, err)
		}
		if c.ID != m.ID {
			a.t.Errorf("transport id %q, message id %q", m.ID, c.ID)
		}
		out = append(out, c)
	}
	return out
}

func (a *app) results(n int) []contract.Result {
	a.t.Helper()
	var ms []broker.Message
	eventually(a.t, func() error {
		if ms = a.f.Published(reportsQ); len(ms) < n {
			return fmt.Errorf("%d results sent, want %d", len(ms), n)
		}
		return nil
	})
	// A result sent twice (its relay round failed after sending) keeps
	// its id; tandem takes it once, and so does this.
	var out []contract.Result
	seen := map[string]bool{}
	for _, m := range ms {
		r, err := contract.DecodeResult(m.Body)
		if err != nil {
			a.t.Fatalf("%s: %v", m.Body, err)
		}
		if !seen[r.ID] {
			seen[r.ID] = true
			out = append(out, r)
		}
	}
	return out
}

// send puts an inbound change from tandem on the inbound queue.
func (a *app) send(c contract.Change) {
	a.t.Helper()
	c.System = "shop"
	if c.Entity == "" {
		c.Entity = "customer"
	}
	b, err := c.Append(nil)
	if err != nil {
		a.t.Fatal(err)
	}
	a.f.Put(inQ, c.ID, string(b))
}

func eventually(t *testing.T, fn func() error) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := fn()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestQueueClientPublishAndRelay(t *testing.T) {
	a := newApp(t, Options{})
	ctx := context.Background()
	a.save(ctx, 1, "Ann", false)
	a.save(ctx, 2, "Never", true) // rolled back: never sent
	a.save(ctx, 1, "Ann B", false)
	a.f.SetDown(true) // the broker is down: writes still succeed
	a.save(ctx, 3, "Cy", false)
	a.run(nil)
	time.Sleep(50 * time.Millisecond)
	if n := a.count("SELECT COUNT(*) FROM tandem_client_outbox"); n != 3 {
		t.Fatalf("outbox holds %d rows during the outage, want 3", n)
	}
	a.f.SetDown(false)
	cs := a.changes(3)
	var got []string
	for _, c := range cs {
		got = append(got, fmt.Sprintf("%s=%v", c.Key, c.Fields["name"]))
		if c.System != "shop" || c.Entity != "customer" || c.Op != record.Upsert || c.Cause != "" || c.GID != "" {
			t.Errorf("change %+v", c)
		}
	}
	if want := "[1=Ann 1=Ann B 3=Cy]"; fmt.Sprint(got) != want {
		t.Fatalf("sent %v, want %s", got, want)
	}
	if !(cs[0].Version < cs[1].Version && cs[1].Version < cs[2].Version) {
		t.Errorf("versions %d %d %d do not grow", cs[0].Version, cs[1].Version, cs[2].Version)
	}
	eventually(t, func() error {
		if n := a.count("SELECT COUNT(*) FROM tandem_client_outbox"); n != 0 {
			return fmt.Errorf("outbox holds %d rows after sending", n)
		}
		return nil
	})
}

func TestQueueClientRelayRetriesAFailedPublish(t *testing.T) {
	a := newApp(t, Options{})
	ctx := context.Background()
	a.f.FailPublishes = 3
	a.save(ctx, 1, "Ann", false)
	a.run(nil)
	a.changes(1)
	time.Sleep(50 * time.Millisecond)
	if cs := a.changes(1); len(cs) != 1 {
		t.Fatalf("sent %d times", len(cs))
	}
}

func TestQueueClientConsume(t *testing.T) {
	a := newApp(t, Options{MaxAttempts: 3})
	ctx := context.Background()
	var mu sync.Mutex
	calls := map[string]int{}
	flaky := 0
	a.run(func(ctx context.Context, tx *sql.Tx, in Inbound) (Result, error) {
		mu.Lock()
		calls[in.ID]++
		mu.Unlock()
		name, _ := in.Fields["name"].(string)
		switch {
		case name == "flaky" && flaky < 2:
			flaky++
			return Result{}, errors.New("lock timeout")
		case name == "broken":
			return Result{}, errors.New("the disk is on fire")
		case in.Delete:
			_, err := tx.ExecContext(ctx, "DELETE FROM customers WHERE id = ?", in.Key)
			return Applied(), err
		case name == "":
			if _, err := tx.ExecContext(ctx, "INSERT INTO customers (id, name) VALUES (99, 'partial')"); err != nil {
				return Result{}, err
			}
			return Failed("a customer needs a name", "name"), nil
		case in.Key == "":
			res, err := tx.ExecContext(ctx, "INSERT INTO customers (name) VALUES (?)", name)
			if err != nil {
				return Result{}, err
			}
			id, _ := res.LastInsertId()
			// The application publishes its own writes, also these.
			key := fmt.Sprint(id)
			return Created(key), a.c.Publish(ctx, tx, Change{Entity: "customer", Key: key, Fields: map[string]any{"name": name}})
		default:
			_, err := tx.ExecContext(ctx, "UPDATE customers SET name = ? WHERE id = ?", name, in.Key)
			return Applied(), err
		}
	})
	create := contract.Change{ID: "in-1", Op: record.Upsert, GID: "G1", Fields: record.Fields{"name": "Ann"}}
	a.send(create)
	rs := a.results(1)
	if r := rs[0]; r.Outcome != contract.Created || r.Key == "" || r.GID != "G1" || r.Change != "in-1" || r.Entity != "customer" {
		t.Fatalf("result %+v", r)
	}
	key := rs[0].Key
	// The change the handler published is marked as an echo of in-1.
	if cs := a.changes(1); cs[0].Cause != "in-1" || cs[0].Key != key {
		t.Fatalf("change published while applying: %+v", cs[0])
	}
	// The same message again (a lost acknowledgement): not applied twice.
	a.send(create)
	// The same create in a new message (tandem sent it again): finds the record.
	a.send(contract.Change{ID: "in-2", Op: record.Upsert, GID: "G1", Fields: record.Fields{"name": "Ann 2"}})
	rs = a.results(2)
	if r := rs[1]; r.Outcome != contract.Applied || r.Key != key || r.Change != "in-2" {
		t.Fatalf("second create: %+v", r)
	}
	if n := a.count("SELECT COUNT(*) FROM customers"); n != 1 {
		t.Fatalf("%d customers, want 1", n)
	}
	mu.Lock()
	if calls["in-1"] != 1 {
		t.Errorf("in-1 applied %d times", calls["in-1"])
	}
	mu.Unlock()
	// A later change of that record from the application carries its global id.
	a.save(ctx, mustInt(t, key), "Ann 3", false)
	if cs := a.changes(2); cs[1].GID != "G1" || cs[1].Cause != "" {
		t.Fatalf("own change of a record made from tandem: %+v", cs[1])
	}

	// A refusal rolls back what the handler wrote and reports the reason.
	a.send(contract.Change{ID: "in-3", Op: record.Upsert, GID: "G2", Fields: record.Fields{"name": ""}})
	rs = a.results(3)
	if r := rs[2]; r.Outcome != contract.Failed || r.Reason != "a customer needs a name" || r.Field != "name" || r.GID != "G2" {
		t.Fatalf("refusal: %+v", r)
	}
	if n := a.count("SELECT COUNT(*) FROM customers WHERE id = 99"); n != 0 {
		t.Fatal("the refused change's writes were kept")
	}
	// A failure that passes is retried; one that does not is reported after MaxAttempts.
	a.send(contract.Change{ID: "in-4", Op: record.Upsert, GID: "G1", Key: key, Fields: record.Fields{"name": "flaky"}})
	a.send(contract.Change{ID: "in-5", Op: record.Upsert, GID: "G1", Key: key, Fields: record.Fields{"name": "broken"}})
	rs = a.results(5)
	if r := rs[3]; r.Outcome != contract.Applied || r.Change != "in-4" {
		t.Fatalf("flaky: %+v", r)
	}
	if r := rs[4]; r.Outcome != contract.Failed || !strings.Contains(r.Reason, "gave up after 3 attempts: the disk is on fire") {
		t.Fatalf("broken: %+v", r)
	}
	// A delete; and a delete of a record never made here needs no handler.
	a.send(contract.Change{ID: "in-6", Op: record.Delete, GID: "G1"})
	a.send(contract.Change{ID: "in-7", Op: record.Delete, GID: "G-unknown"})
	rs = a.results(7)
	if r := rs[5]; r.Outcome != contract.Applied || r.Key != key || r.Op != record.Delete {
		t.Fatalf("delete: %+v", r)
	}
	if r := rs[6]; r.Outcome != contract.Applied || r.Key != "" {
		t.Fatalf("delete of an unknown record: %+v", r)
	}
	if n := a.count("SELECT COUNT(*) FROM customers"); n != 0 {
		t.Fatalf("%d customers after the delete", n)
	}
	mu.Lock()
	if calls["in-7"] != 0 {
		t.Error("the handler saw a delete of a record never made here")
	}
	mu.Unlock()
	// Unreadable messages are refused without stopping the queue.
	a.f.Put(inQ, "junk", "{not json")
	a.send(contract.Change{ID: "in-8", Op: record.Upsert, GID: "G3", Fields: record.Fields{"name": "Dee"}})
	rs = a.results(8)
	if r := rs[7]; r.Outcome != contract.Created || r.Change != "in-8" {
		t.Fatalf("after junk: %+v", r)
	}
	eventually(t, func() error {
		if n := len(a.f.Acked(inQ)); n != 10 {
			return fmt.Errorf("%d inbound messages acknowledged, want 10", n)
		}
		return nil
	})
}

func mustInt(t *testing.T, s string) int64 {
	var n int64
	if _, err := fmt.Sscan(s, &n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestQueueClientNewChecksOptions(t *testing.T) {
	_, err := New(Options{Broker: "kafka", TablePrefix: "Bad-"})
	for _, want := range []string{"System is empty", `Broker "kafka"`, "URL is empty", "DB is nil", `TablePrefix "Bad-"`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("err = %v, want it to say %q", err, want)
		}
	}
}

func TestQueueClientStatements(t *testing.T) {
	s := newStatements(Postgres, "tandem_client_")
	if got := s.bind(s.outboxDelete + s.in(3)); got != "DELETE FROM tandem_client_outbox WHERE seq IN ($1, $2, $3)" {
		t.Errorf("got %q", got)
	}
	if got := newStatements(MySQL, "x_").bind("SELECT ?"); got != "SELECT ?" {
		t.Errorf("got %q", got)
	}
}

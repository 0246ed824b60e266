package e2e

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tandemhub/tandem/internal/config"
	"github.com/tandemhub/tandem/internal/hub"
	"github.com/tandemhub/tandem/internal/verify"
)

// TestDrainAgreesAndCountersSteady: users of all three systems create,
// update and delete accounts, contacts and products at once for a few
// seconds, starting from records that partly existed in several systems
// before tandem was switched on. Once tandem has drained, every system
// holds the same records, field by field, with no duplicates and no dead
// letters, the golden records agree with every system, and tandem's
// counters stand still: its own writes do not come back as changes.
func TestDrainAgreesAndCountersSteady(t *testing.T) {
	t.Parallel()
	e := newEnv(t, configOptions{})
	ctx := context.Background()

	// Records that exist before tandem runs: one account in two systems
	// (same email, so the same account), and a few of each system's own.
	seed := []struct {
		sys, name, email, country string
	}{
		{catalogue, "Shared Corp", "shared@e2e.example", "US"},
		{crm, "Shared Corporation", "shared@e2e.example", "US"},
		{catalogue, "Cat One", "cat1@e2e.example", "DE"},
		{accounting, "Acc One", "acc1@e2e.example", "FR"},
		{crm, "Crm One", "crm1@e2e.example", "GB"},
	}
	for _, s := range seed {
		if _, err := e.sys[s.sys].createAccount(ctx, e.sys[s.sys].db, s.name, s.email, s.country); err != nil {
			t.Fatal(err)
		}
	}
	e.startHub()

	const streamFor = 4 * time.Second
	var wg sync.WaitGroup
	writers := make([]*writer, len(systemNames))
	for i, name := range systemNames {
		w := &writer{s: e.sys[name], rng: rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), uint64(i))), ops: map[string]int{}}
		writers[i] = w
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.run(ctx, streamFor, 10*time.Millisecond)
		}()
	}
	wg.Wait()
	for _, w := range writers {
		t.Logf("%s: %v", w.s.name, w.ops)
		for _, err := range w.errs {
			t.Errorf("%s: %v", w.s.name, err)
		}
		if w.ops["create account"] == 0 || w.ops["update contact"] == 0 {
			t.Errorf("%s made too few edits for the test to mean anything: %v", w.s.name, w.ops)
		}
	}

	e.drain(60 * time.Second)
	hs := e.agree(30 * time.Second)
	for _, s := range systemNames {
		if _, ok := hs[s].accounts["shared@e2e.example"]; !ok {
			t.Errorf("the account that existed before tandem is missing from %s", s)
		}
		t.Logf("%s holds %d accounts, %d contacts, %d products", s, len(hs[s].accounts), len(hs[s].contacts), len(hs[s].products))
	}
	e.noDeadLetters()

	// No echo: with nobody editing, nothing is captured or delivered.
	before, err := e.status()
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * time.Second)
	after, err := e.status()
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(before) != fmt.Sprint(after) {
		t.Errorf("counters moved while nobody edited:\nbefore %+v\nafter  %+v", before, after)
	}
	if c, _, p, d, _ := totals(after); c == 0 || d == 0 || p != 0 {
		t.Errorf("status after the stream: captured %d, delivered %d, pending %d", c, d, p)
	}
	// No echo, counted: tandem captured no more changes from a system than
	// its users made there (each seed row may be read twice: by the
	// initial snapshot and from the outbox).
	for i, name := range systemNames {
		edits := 0
		for _, n := range writers[i].ops {
			edits += n
		}
		for _, s := range seed {
			if s.sys == name {
				edits += 2
			}
		}
		var captured int64
		for _, r := range after {
			if r.System == name {
				captured += r.Captured
			}
		}
		if captured > int64(edits) {
			t.Errorf("tandem captured %d changes from %s, whose users made at most %d: its own writes came back", captured, name, edits)
		}
	}
	if t.Failed() {
		return
	}

	// tandem stops cleanly on SIGTERM, and its golden records match what
	// every system holds.
	h := e.hub
	h.stop()
	if h.err != nil {
		t.Errorf("tandem run after SIGTERM: %v; want a clean exit", h.err)
	}
	e.hub = nil
	cfg, err := config.Load(e.cfg)
	if err != nil {
		t.Fatal(err)
	}
	hb, err := hub.Open(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), hub.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer hb.Close(ctx)
	diffs, err := verify.Compare(ctx, cfg, hb.Model().Maps, hb.Store(), hb.Sources())
	if err != nil {
		t.Fatal(err)
	}
	if len(diffs) > 0 {
		t.Errorf("%d differences from the golden records:\n%s", len(diffs), verify.Summary(diffs, 20))
	}
}

// writer edits one system the way its users would, at random.
type writer struct {
	s    *system
	rng  *rand.Rand
	n    int
	ops  map[string]int
	errs []error
}

func (w *writer) run(ctx context.Context, d time.Duration, every time.Duration) {
	end := time.Now().Add(d)
	for i := 0; i < 2000 && time.Now().Before(end); i++ {
		op, err := w.step(ctx)
		for try := 0; err != nil && try < 3 && retryable(err); try++ {
			time.Sleep(20 * time.Millisecond)
			op, err = w.step(ctx)
		}
		if err != nil {
			w.errs = append(w.errs, fmt.Errorf("%s: %w", op, err))
			if len(w.errs) > 5 {
				return
			}
		}
		if op != "" && err == nil {
			w.ops[op]++
		}
		time.Sleep(every)
	}
}

// retryable tells a database's transient refusals (deadlock, lock wait,
// busy file) from real errors; an application would retry them too.
func retryable(err error) bool {
	s := err.Error()
	return strings.Contains(s, "Deadlock") || strings.Contains(s, "Lock wait timeout") ||
		strings.Contains(s, "SQLITE_BUSY") || strings.Contains(s, "database is locked") || strings.Contains(s, "deadlock detected")
}

var countries = []string{"US", "DE", "FR", "GB"}

// step makes one edit and says what it was ("" when there was nothing to edit).
func (w *writer) step(ctx context.Context) (string, error) {
	s := w.s
	r := w.rng.IntN(100)
	switch {
	case s.name == catalogue && r < 12:
		return "upsert product", w.upsertProduct(ctx)
	case s.name == catalogue && r < 15:
		return w.deleteRandom(ctx, "delete product", "products", "id", "")
	case r < 30:
		w.n++
		email := fmt.Sprintf("%s-%d-%s@e2e.example", s.name, w.n, randHex())
		if w.rng.IntN(4) == 0 {
			// Temporary accounts are never anyone's parent, so deleting
			// them later leaves no contact dangling.
			email = "tmp-" + email
		}
		_, err := s.createAccount(ctx, s.db, fmt.Sprintf("Account %d", w.rng.IntN(1e6)), email, countries[w.rng.IntN(4)])
		return "create account", err
	case r < 45:
		parent, err := w.pick(ctx, s.acc, s.accKey, s.accEmail+" NOT LIKE 'tmp-%'")
		if err != nil {
			return "", err
		}
		w.n++
		_, err = s.createContact(ctx, s.db, pick(w.rng, firstNames), pick(w.rng, lastNames),
			fmt.Sprintf("%s-p%d-%s@e2e.example", s.name, w.n, randHex()), parent)
		return "create contact", err
	case r < 60:
		k, err := w.pick(ctx, s.acc, s.accKey, "")
		if k == "" || err != nil {
			return "", err
		}
		_, err = s.exec(ctx, fmt.Sprintf("UPDATE %s SET %s = %s, %s = %s WHERE %s = %s", s.acc, s.accName, s.param(1),
			s.accCountry, s.param(2), s.accKey, s.param(3)), fmt.Sprintf("Account %d", w.rng.IntN(1e6)), s.toLocal[countries[w.rng.IntN(4)]], k)
		return "update account", err
	case r < 75:
		k, err := w.pick(ctx, s.con, s.conKey, "")
		if k == "" || err != nil {
			return "", err
		}
		_, err = s.exec(ctx, fmt.Sprintf("UPDATE %s SET %s = %s, %s = %s WHERE %s = %s", s.con, s.conFirst, s.param(1),
			s.conLast, s.param(2), s.conKey, s.param(3)), pick(w.rng, firstNames), pick(w.rng, lastNames), k)
		return "update contact", err
	case r < 82:
		k, err := w.pick(ctx, s.con, s.conKey, "")
		if k == "" || err != nil {
			return "", err
		}
		parent, err := w.pick(ctx, s.acc, s.accKey, s.accEmail+" NOT LIKE 'tmp-%'")
		if parent == "" || err != nil {
			return "", err
		}
		_, err = s.exec(ctx, fmt.Sprintf("UPDATE %s SET %s = %s WHERE %s = %s", s.con, s.conAcc, s.param(1), s.conKey, s.param(2)), parent, k)
		return "move contact", err
	case r < 90:
		return w.deleteRandom(ctx, "delete contact", s.con, s.conKey, "")
	default:
		return w.deleteRandom(ctx, "delete account", s.acc, s.accKey, s.accEmail+" LIKE 'tmp-%'")
	}
}

// pick returns the key of a random row of table matching where, or "".
func (w *writer) pick(ctx context.Context, table, key, where string) (string, error) {
	q := "SELECT " + key + " FROM " + table
	if where != "" {
		q += " WHERE " + where
	}
	var k sql.NullString
	err := w.s.db.QueryRowContext(ctx, q+" ORDER BY "+w.s.random+" LIMIT 1").Scan(&k)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return k.String, err
}

func (w *writer) deleteRandom(ctx context.Context, op, table, key, where string) (string, error) {
	k, err := w.pick(ctx, table, key, where)
	if k == "" || err != nil {
		return "", err
	}
	_, err = w.s.exec(ctx, fmt.Sprintf("DELETE FROM %s WHERE %s = %s", table, key, w.s.param(1)), k)
	return op, err
}

func (w *writer) upsertProduct(ctx context.Context) error {
	sku := fmt.Sprintf("RND-%04d", w.rng.IntN(60))
	price := float64(w.rng.IntN(100000)) / 100
	_, err := w.s.exec(ctx, `INSERT INTO products (sku, title, price) VALUES ($1, $2, $3)
		ON CONFLICT (sku) DO UPDATE SET price = excluded.price, title = excluded.title`,
		sku, fmt.Sprintf("Item %s v%d", sku, w.rng.IntN(100)), price)
	return err
}

var (
	firstNames = []string{"Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Radia", "Tim"}
	lastNames  = []string{"Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson", "Perlman", "Berners-Lee"}
)

func pick(rng *rand.Rand, s []string) string { return s[rng.IntN(len(s))] }

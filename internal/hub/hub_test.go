package hub_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tandemhub/tandem/internal/admin"
	"github.com/tandemhub/tandem/internal/config"
	"github.com/tandemhub/tandem/internal/connector"
	"github.com/tandemhub/tandem/internal/connector/memory"
	"github.com/tandemhub/tandem/internal/connector/registry"
	"github.com/tandemhub/tandem/internal/hub"
	"github.com/tandemhub/tandem/internal/record"
	"github.com/tandemhub/tandem/internal/store"
	"github.com/tandemhub/tandem/internal/verify"
)

const testYAML = `version: 1
store: {dir: STORE}
systems:
  a: {type: sqlite, dsn: unused, poll: 10ms, batch: 50}
  b: {type: sqlite, dsn: unused, poll: 10ms, batch: 50, delivery: {attempts: 3, backoff: 5ms, max_backoff: 20ms}}
  c: {type: sqlite, dsn: unused, poll: 10ms, batch: 50}
delivery: {attempts: 4, backoff: 5ms, max_backoff: 20ms}
entities:
  account:
    match: [email]
    schema:
      type: object
      properties:
        name: {type: string, minLength: 1}
        email: {type: string}
        tier: {enum: [gold, silver]}
      required: [name]
  contact:
    refs: {account: account}
    schema:
      type: object
      properties:
        name: {type: string}
        account: {type: string}
      required: [name]
mappings:
  a:
    account: {table: accounts, fields: {name: name, email: email, tier: tier}}
    contact: {table: contacts, fields: {name: name, account: account_id}}
  b:
    account:
      table: Account
      key_generated: true
      fields:
        name: AccountName
        email: Mail
        tier: {column: Level, values: {G: gold, S: silver}}
    contact: {table: Contact, key_generated: true, fields: {name: LastName, account: AccountId}}
  c:
    account: {table: customers, fields: {name: cust_name, email: mail}}
    contact: {table: people, fields: {name: full_name, account: cust}}
routes:
  - {entity: account, between: [a, b, c]}
  - {entity: contact, between: [a, b, c]}
`

type fixture struct {
	t      *testing.T
	cfg    *config.Config
	h      *hub.Hub
	sys    map[string]*memory.System
	cancel context.CancelFunc
	wg     sync.WaitGroup
	runErr error // what Run returned, once stopped
}

// newFixture runs a hub on three memory systems; prepare, if set, fills
// them first, and adjust, if given, changes the hub's options.
func newFixture(t *testing.T, prepare func(map[string]*memory.System), adjust ...func(*config.Config, *hub.Options)) *fixture {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "tandem.yaml")
	if err := os.WriteFile(path, []byte(strings.Replace(testYAML, "STORE", filepath.Join(dir, "data"), 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	model, err := hub.Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, cfg: cfg, sys: map[string]*memory.System{}}
	systems := map[string]registry.System{}
	for _, n := range []string{"a", "b", "c"} {
		f.sys[n] = memory.New(n, model.Tables(n))
		systems[n] = f.sys[n]
	}
	if prepare != nil {
		prepare(f.sys)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	opt := hub.Options{Systems: systems}
	for _, a := range adjust {
		a(cfg, &opt)
	}
	f.h, err = hub.Open(context.Background(), cfg, log, opt)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	f.cancel = cancel
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		f.runErr = f.h.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		if !f.stopped(30 * time.Second) {
			t.Error("the hub did not stop within 30s of shutdown")
			return
		}
		_ = f.h.Close(context.Background())
	})
	return f
}

// stopped waits up to d for the hub's Run to return.
func (f *fixture) stopped(d time.Duration) bool {
	done := make(chan struct{})
	go func() { f.wg.Wait(); close(done) }()
	select {
	case <-done:
		return true
	case <-time.After(d):
		return false
	}
}

// drain waits until nothing is captured, pending or held.
func (f *fixture) drain() {
	f.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	quiet := 0
	for quiet < 5 {
		if time.Now().After(deadline) {
			rows, _ := admin.Status(context.Background(), f.h.Store(), time.Now())
			f.t.Fatalf("hub did not drain: %+v held=%v", rows, f.h.Held())
		}
		time.Sleep(20 * time.Millisecond)
		busy := len(f.h.Held()) > 0
		for _, s := range f.sys {
			busy = busy || s.Backlog() > 0
		}
		rows, err := admin.Status(context.Background(), f.h.Store(), time.Now())
		if err != nil {
			f.t.Fatal(err)
		}
		for _, r := range rows {
			busy = busy || r.Pending > 0
		}
		if busy {
			quiet = 0
		} else {
			quiet++
		}
	}
}

func (f *fixture) agree() {
	f.t.Helper()
	sources := map[string]connector.Source{}
	for n, s := range f.sys {
		sources[n] = s
	}
	diffs, err := verify.Compare(context.Background(), f.cfg, f.h.Model().Maps, f.h.Store(), sources)
	if err != nil {
		f.t.Fatal(err)
	}
	if len(diffs) > 0 {
		f.t.Fatalf("systems disagree:\n%s", verify.Summary(diffs, 20))
	}
}

func (f *fixture) dead() []store.DeadLetter {
	f.t.Helper()
	ds, err := admin.DeadLetters(context.Background(), f.h.Store(), store.DeadOpen, 100)
	if err != nil {
		f.t.Fatal(err)
	}
	return ds
}

func only(t *testing.T, rows map[string]record.Fields) (string, record.Fields) {
	t.Helper()
	if len(rows) != 1 {
		t.Fatalf("want exactly one row, have %d: %v", len(rows), rows)
	}
	for k, v := range rows {
		return k, v
	}
	return "", nil
}

func TestCreateUpdateDeleteReachEverySystem(t *testing.T) {
	f := newFixture(t, nil)
	<-f.h.Ready()
	f.sys["a"].Put("account", "A1", record.Fields{"name": "Acme", "email": "x@acme.test", "tier": "gold"})
	f.drain()
	bk, brow := only(t, f.sys["b"].Rows("account"))
	if brow["AccountName"] != "Acme" || brow["Level"] != "G" || brow["Mail"] != "x@acme.test" {
		t.Fatalf("b holds %v", brow)
	}
	ck, crow := only(t, f.sys["c"].Rows("account"))
	if crow["cust_name"] != "Acme" {
		t.Fatalf("c holds %v", crow)
	}
	if bk == "A1" || ck == "A1" || bk == ck {
		t.Fatalf("each system should have its own key: a=A1 b=%s c=%s", bk, ck)
	}
	// A contact made in b pointing at b's account reaches a and c pointing at theirs.
	f.sys["b"].Put("contact", "900", record.Fields{"LastName": "Ada", "AccountId": bk})
	f.drain()
	if _, row := only(t, f.sys["a"].Rows("contact")); row["account_id"] != "A1" {
		t.Fatalf("a's contact points at %v, want A1", row["account_id"])
	}
	if _, row := only(t, f.sys["c"].Rows("contact")); row["cust"] != ck {
		t.Fatalf("c's contact points at %v, want %s", row["cust"], ck)
	}
	f.sys["c"].Put("account", ck, record.Fields{"cust_name": "Acme Ltd", "mail": "x@acme.test"})
	f.drain()
	if _, row := only(t, f.sys["a"].Rows("account")); row["name"] != "Acme Ltd" || row["tier"] != "gold" {
		t.Fatalf("a's account after update in c: %v", row)
	}
	f.agree()
	ck2, _ := only(t, f.sys["c"].Rows("contact"))
	f.sys["c"].Delete("contact", ck2)
	f.drain()
	for _, s := range []string{"a", "b", "c"} {
		if n := len(f.sys[s].Rows("contact")); n != 0 {
			t.Fatalf("%s still has %d contacts after delete", s, n)
		}
	}
	f.agree()
	// No echo: once drained, nothing moves.
	before, _ := admin.Status(context.Background(), f.h.Store(), time.Now())
	time.Sleep(100 * time.Millisecond)
	after, _ := admin.Status(context.Background(), f.h.Store(), time.Now())
	for i := range before {
		if before[i].Captured != after[i].Captured || before[i].Delivered != after[i].Delivered {
			t.Fatalf("counters move after drain (echo loop?): %+v then %+v", before[i], after[i])
		}
	}
}

func TestExistingRecordsMatchedByNaturalKey(t *testing.T) {
	f := newFixture(t, func(s map[string]*memory.System) {
		// The same customer already exists in a and c before tandem starts.
		s["a"].Put("account", "A7", record.Fields{"name": "Globex", "email": "AP@globex.test"})
		s["c"].Put("account", "C9", record.Fields{"cust_name": "Globex Corp", "mail": "ap@globex.test"})
	})
	<-f.h.Ready()
	f.drain()
	for _, s := range []string{"a", "b", "c"} {
		if n := len(f.sys[s].Rows("account")); n != 1 {
			t.Fatalf("%s has %d accounts, want 1 (matched by email, not duplicated)", s, n)
		}
	}
	f.agree()
}

func TestInvalidRecordIsDeadLetteredAndRetried(t *testing.T) {
	f := newFixture(t, nil)
	<-f.h.Ready()
	f.sys["a"].Put("account", "A1", record.Fields{"name": "Good", "email": "g@x.test"})
	f.sys["a"].Put("account", "A2", record.Fields{"name": "Bad", "email": "b@x.test", "tier": "platinum"})
	f.drain()
	ds := f.dead()
	if len(ds) != 1 {
		t.Fatalf("want one dead letter, have %+v", ds)
	}
	d := ds[0]
	if d.System != "a" || d.Entity != "account" || d.Key != "A2" || d.Field != "tier" || !strings.Contains(d.Error, "tier") {
		t.Fatalf("dead letter should name system a, entity account, key A2, field tier: %+v", d)
	}
	if n := len(f.sys["b"].Rows("account")); n != 1 {
		t.Fatalf("the good record should flow on; b has %d accounts", n)
	}
	// Fix the record at the source without a new change reaching tandem,
	// then retry the dead letter: tandem re-reads it.
	f.sys["a"].Overwrite("account", "A2", record.Fields{"name": "Bad", "email": "b@x.test", "tier": "silver"})
	if err := admin.SetDead(context.Background(), f.h.Store(), []int64{d.ID}, store.DeadRetry); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(f.sys["b"].Rows("account")) != 2 {
		if time.Now().After(deadline) {
			t.Fatalf("retried record never reached b: %v", f.sys["b"].Rows("account"))
		}
		time.Sleep(20 * time.Millisecond)
	}
	f.drain()
	if ds := f.dead(); len(ds) != 0 {
		t.Fatalf("dead letter should be resolved, open: %+v", ds)
	}
	f.agree()
}

func TestPoisonRecordIsIsolatedAndTheRestFlows(t *testing.T) {
	f := newFixture(t, func(s map[string]*memory.System) {
		s["b"].Fail = func(_ string, ws []record.Write) error {
			for _, w := range ws {
				if w.Fields["AccountName"] == "poison" {
					return &connector.Permanent{Err: errors.New("value too long"), Field: "AccountName"}
				}
			}
			return nil
		}
	})
	<-f.h.Ready()
	for i := range 20 {
		name := "ok"
		if i == 13 {
			name = "poison"
		}
		f.sys["a"].Put("account", string(rune('a'+i)), record.Fields{"name": name})
	}
	f.drain()
	if n := len(f.sys["b"].Rows("account")); n != 19 {
		t.Fatalf("b should have the 19 good accounts, has %d", n)
	}
	if n := len(f.sys["c"].Rows("account")); n != 20 {
		t.Fatalf("c should have all 20 accounts, has %d", n)
	}
	ds := f.dead()
	if len(ds) != 1 || ds[0].System != "b" || ds[0].Field != "AccountName" || ds[0].Stage != store.StageDeliver {
		t.Fatalf("want one delivery dead letter for b naming AccountName: %+v", ds)
	}
	if !strings.Contains(ds[0].Error, "a:n") {
		t.Errorf("the dead letter of a create should name the record by its key in a (a:n): %s", ds[0].Error)
	}
}

func TestTransientFailuresAreRetriedAndChildrenWaitForParents(t *testing.T) {
	var mu sync.Mutex
	fails := 2 // b allows 3 attempts
	f := newFixture(t, func(s map[string]*memory.System) {
		s["b"].Fail = func(entity string, _ []record.Write) error {
			mu.Lock()
			defer mu.Unlock()
			if entity == "account" && fails > 0 {
				fails--
				return errors.New("connection reset")
			}
			return nil
		}
	})
	<-f.h.Ready()
	f.sys["a"].Put("account", "P", record.Fields{"name": "Parent"})
	f.sys["a"].Put("contact", "K", record.Fields{"name": "Kid", "account_id": "P"})
	f.drain()
	bk, _ := only(t, f.sys["b"].Rows("account"))
	if _, row := only(t, f.sys["b"].Rows("contact")); row["AccountId"] != bk {
		t.Fatalf("b's contact should point at b's account %s: %v", bk, row)
	}
	if ds := f.dead(); len(ds) != 0 {
		t.Fatalf("transient failures must not dead-letter: %+v", ds)
	}
	f.agree()
}

// A destination that fails every write for longer than the retry budget
// is down, not fed bad records: nothing is dead-lettered, and everything
// arrives once it is back.
func TestOutageLongerThanRetriesDeadLettersNothing(t *testing.T) {
	var mu sync.Mutex
	down := true
	calls := 0
	f := newFixture(t, func(s map[string]*memory.System) {
		s["b"].Fail = func(string, []record.Write) error {
			mu.Lock()
			defer mu.Unlock()
			calls++
			if down {
				return errors.New("connection refused")
			}
			return nil
		}
	})
	<-f.h.Ready()
	for i := range 30 {
		f.sys["a"].Put("account", fmt.Sprint("k", i), record.Fields{"name": fmt.Sprint("n", i)})
	}
	// b allows 3 attempts; let many more rounds fail.
	deadline := time.Now().Add(15 * time.Second)
	for {
		mu.Lock()
		n := calls
		mu.Unlock()
		if n >= 12 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d delivery calls to b in 15s", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if ds := f.dead(); len(ds) != 0 {
		t.Fatalf("an outage dead-lettered %d records, first: %s", len(ds), ds[0].Error)
	}
	mu.Lock()
	down = false
	mu.Unlock()
	f.drain()
	if n := len(f.sys["b"].Rows("account")); n != 30 {
		t.Fatalf("b has %d accounts after the outage, want 30", n)
	}
	if ds := f.dead(); len(ds) != 0 {
		t.Fatalf("dead letters after the outage: %+v", ds)
	}
	f.agree()
}

// A record a destination reports busy (one of its own transactions
// holds the row) is tried again, however often, without using up its
// attempts, while the records around it are delivered.
func TestBusyRecordUsesUpNoAttempts(t *testing.T) {
	const times = 6 // b allows 3 attempts
	var mu sync.Mutex
	answered := 0
	f := newFixture(t, func(s map[string]*memory.System) {
		s["b"].FailEach = func(entity string, w record.Write) error {
			mu.Lock()
			defer mu.Unlock()
			if entity == "account" && w.Fields["AccountName"] == "held" && answered < times {
				answered++
				return &connector.Busy{Err: errors.New("row locked by another transaction")}
			}
			return nil
		}
	})
	<-f.h.Ready()
	f.sys["a"].Put("account", "held", record.Fields{"name": "held"})
	deadline := time.Now().Add(20 * time.Second)
	for i := 0; ; i++ {
		mu.Lock()
		n := answered
		mu.Unlock()
		if n == times {
			break
		}
		if ds := f.dead(); len(ds) != 0 {
			t.Fatalf("a busy record was dead-lettered after %d busy answers: %s", n, ds[0].Error)
		}
		// Another record, delivered in the rounds that find "held" busy.
		f.sys["a"].Put("account", fmt.Sprint("k", i), record.Fields{"name": fmt.Sprint("n", i)})
		for len(f.sys["b"].Rows("account")) < i+1 {
			if time.Now().After(deadline) {
				t.Fatalf("b has %d accounts, want %d", len(f.sys["b"].Rows("account")), i+1)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	f.drain()
	found := false
	for _, row := range f.sys["b"].Rows("account") {
		found = found || row["AccountName"] == "held"
	}
	if !found {
		t.Fatal("the busy record never reached b")
	}
	if ds := f.dead(); len(ds) != 0 {
		t.Fatalf("dead letters: %s", ds[0].Error)
	}
	f.agree()
}

func TestChildCapturedBeforeItsParentIsHeld(t *testing.T) {
	f := newFixture(t, nil)
	<-f.h.Ready()
	// The contact arrives referencing an account tandem has not seen yet.
	f.sys["a"].Put("contact", "K", record.Fields{"name": "Early", "account_id": "LATE"})
	time.Sleep(50 * time.Millisecond)
	if n := len(f.sys["b"].Rows("contact")); n != 0 {
		t.Fatalf("an orphan contact reached b")
	}
	f.sys["a"].Put("account", "LATE", record.Fields{"name": "Late parent"})
	f.drain()
	bk, _ := only(t, f.sys["b"].Rows("account"))
	if _, row := only(t, f.sys["b"].Rows("contact")); row["AccountId"] != bk {
		t.Fatalf("b's contact should point at %s: %v", bk, row)
	}
	f.agree()
}

// Every state of a record reaches a destination at most once and in
// order: a record changed while its delivery is in flight gets the newer
// state next, never the same one again nor an older one.
func TestNoStateIsDeliveredTwice(t *testing.T) {
	var mu sync.Mutex
	last := map[string]string{} // gid → fields last written to b
	round := map[string]int{}   // gid → round of the name last written to b
	var dups, backwards []string
	f := newFixture(t, func(s map[string]*memory.System) {
		s["b"].Fail = func(entity string, ws []record.Write) error {
			mu.Lock()
			defer mu.Unlock()
			for _, w := range ws {
				got := fmt.Sprint(w.Op, w.Fields)
				if last[w.GID] == got {
					dups = append(dups, fmt.Sprintf("%s %s %s", entity, w.GID, got))
				}
				last[w.GID] = got
				var i, r int
				if _, err := fmt.Sscanf(fmt.Sprint(w.Fields["AccountName"]), "n%d-%d", &i, &r); err == nil {
					if prev, ok := round[w.GID]; ok && r < prev {
						backwards = append(backwards, fmt.Sprintf("%s: round %d after %d", w.GID, r, prev))
					}
					round[w.GID] = r
				}
			}
			return nil
		}
	})
	<-f.h.Ready()
	for round := range 4 {
		for i := range 150 {
			f.sys["a"].Put("account", fmt.Sprint("k", i), record.Fields{"name": fmt.Sprintf("n%d-%d", i, round)})
		}
		time.Sleep(15 * time.Millisecond)
	}
	f.drain()
	mu.Lock()
	defer mu.Unlock()
	if len(dups) > 0 {
		t.Fatalf("%d states delivered again, first: %s", len(dups), dups[0])
	}
	if len(backwards) > 0 {
		t.Fatalf("%d older states delivered after newer ones, first: %s", len(backwards), backwards[0])
	}
	if len(round) != 150 {
		t.Fatalf("names of %d records seen in writes to b, want 150", len(round))
	}
	if n := len(f.sys["b"].Rows("account")); n != 150 {
		t.Fatalf("b has %d accounts, want 150", n)
	}
	f.agree()
}

// Shutting down while a destination is still writing a batch ends the
// hub promptly; what was not recorded is delivered by the next run.
func TestShutdownDuringASlowWriteEnds(t *testing.T) {
	entered := make(chan struct{}, 1)
	gate := make(chan struct{})
	f := newFixture(t, func(s map[string]*memory.System) {
		s["b"].Fail = func(entity string, ws []record.Write) error {
			select {
			case entered <- struct{}{}:
			default:
			}
			<-gate
			return nil
		}
	})
	<-f.h.Ready()
	f.sys["a"].Put("account", "A1", record.Fields{"name": "Acme"})
	select {
	case <-entered:
	case <-time.After(20 * time.Second):
		t.Fatal("the write to b never started")
	}
	f.cancel()
	close(gate)
	if !f.stopped(20 * time.Second) {
		t.Fatal("the hub did not stop after a slow write was cut short by shutdown")
	}
}

package hub_test

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/tandemhub/tandem/internal/admin"
	"github.com/tandemhub/tandem/internal/config"
	"github.com/tandemhub/tandem/internal/connector"
	"github.com/tandemhub/tandem/internal/connector/memory"
	"github.com/tandemhub/tandem/internal/connector/registry"
	"github.com/tandemhub/tandem/internal/hub"
	"github.com/tandemhub/tandem/internal/record"
	"github.com/tandemhub/tandem/internal/store"
)

// goneYAML: a and b exchange accounts both ways; d only receives them,
// from both.
const goneYAML = `version: 1
store: {dir: STORE}
systems:
  a: {type: sqlite, dsn: unused, poll: 10ms, batch: 50}
  b: {type: sqlite, dsn: unused, poll: 10ms, batch: 50}
  d: {type: sqlite, dsn: unused, poll: 10ms, batch: 50}
delivery: {attempts: 3, backoff: 5ms, max_backoff: 20ms}
entities:
  account:
    schema:
      type: object
      properties:
        name: {type: string, minLength: 1}
      required: [name]
mappings:
  a:
    account: {table: accounts, fields: {name: name}}
  b:
    account: {table: Account, key_generated: true, fields: {name: Name}}
  d:
    account: {table: Ledger, key_generated: true, fields: {name: Title}}
routes:
  - {entity: account, between: [a, b]}
  - {entity: account, from: a, to: [d]}
  - {entity: account, from: b, to: [d]}
`

// goneRig is a hub between memory systems a, b and d whose b and d
// answer an update of a row their users removed unseen as an API answers
// 404: with a connector.Gone result.
type goneRig struct {
	t   *testing.T
	h   *hub.Hub
	sys map[string]*memory.System

	mu      sync.Mutex
	removed map[string]bool // system/key of rows removed unseen
	gone    map[string]int  // system/key → Gone answers given
}

func newGoneRig(t *testing.T) *goneRig {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "tandem.yaml")
	if err := os.WriteFile(path, []byte(strings.Replace(goneYAML, "STORE", filepath.Join(dir, "data"), 1)), 0o600); err != nil {
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
	g := &goneRig{t: t, sys: map[string]*memory.System{}, removed: map[string]bool{}, gone: map[string]int{}}
	systems := map[string]registry.System{}
	for _, n := range []string{"a", "b", "d"} {
		s := memory.New(n, model.Tables(n))
		s.FailEach = func(entity string, w record.Write) error {
			g.mu.Lock()
			defer g.mu.Unlock()
			if w.Op != record.Upsert || w.Key == "" || !g.removed[n+"/"+w.Key] {
				return nil
			}
			g.gone[n+"/"+w.Key]++
			return &connector.Gone{Err: fmt.Errorf("update %s %s in %s: 404 Not Found", entity, w.Key, n)}
		}
		g.sys[n], systems[n] = s, s
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	g.h, err = hub.Open(context.Background(), cfg, log, hub.Options{Systems: systems})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = g.h.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
			_ = g.h.Close(context.Background())
		case <-time.After(30 * time.Second):
			t.Error("the hub did not stop within 30s of shutdown")
		}
	})
	select {
	case <-g.h.Ready():
	case <-time.After(20 * time.Second):
		t.Fatal("the hub is not ready within 20s")
	}
	return g
}

// remove deletes system's row unseen by tandem, as a user of an API
// without a delete feed would.
func (g *goneRig) remove(system, key string) {
	g.mu.Lock()
	g.removed[system+"/"+key] = true
	g.mu.Unlock()
	g.sys[system].Remove("account", key)
}

func (g *goneRig) goneAnswers(system, key string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.gone[system+"/"+key]
}

// until waits up to 20s for ok, failing with what the systems hold.
func (g *goneRig) until(what string, ok func() bool) {
	g.t.Helper()
	for deadline := time.Now().Add(20 * time.Second); !ok(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			rows, _ := admin.Status(context.Background(), g.h.Store(), time.Now())
			g.t.Fatalf("%s: not within 20s; a=%v b=%v d=%v; status %+v", what,
				g.sys["a"].Rows("account"), g.sys["b"].Rows("account"), g.sys["d"].Rows("account"), rows)
		}
	}
}

// settled reports whether nothing is captured but unread, or pending.
func (g *goneRig) settled() bool {
	g.t.Helper()
	for _, s := range g.sys {
		if s.Backlog() > 0 {
			return false
		}
	}
	rows, err := admin.Status(context.Background(), g.h.Store(), time.Now())
	if err != nil {
		g.t.Fatal(err)
	}
	for _, r := range rows {
		if r.Pending > 0 {
			return false
		}
	}
	return true
}

func (g *goneRig) noDeadLetters() {
	g.t.Helper()
	ds, err := admin.DeadLetters(context.Background(), g.h.Store(), store.DeadOpen, 100)
	if err != nil {
		g.t.Fatal(err)
	}
	for _, d := range ds {
		g.t.Errorf("dead letter: %s %s %s key %q: %s", d.Stage, d.System, d.Entity, d.Key, d.Error)
	}
}

func (g *goneRig) golden(gid string) *store.Golden {
	g.t.Helper()
	var out *store.Golden
	err := g.h.Store().View(context.Background(), func(tx store.Tx) error {
		var err error
		out, err = tx.Golden("account", gid)
		return err
	})
	if err != nil || out == nil {
		g.t.Fatalf("golden record %s: %v %v", gid, out, err)
	}
	return out
}

func (g *goneRig) gidOf(system, key string) string {
	g.t.Helper()
	var gid string
	err := g.h.Store().View(context.Background(), func(tx store.Tx) error {
		var err error
		gid, _, err = tx.GID("account", system, key)
		return err
	})
	if err != nil || gid == "" {
		g.t.Fatalf("%s key %s is not linked: %v", system, key, err)
	}
	return gid
}

// oneRow returns system's only account row.
func (g *goneRig) oneRow(system string) (string, record.Fields) {
	g.t.Helper()
	rows := g.sys[system].Rows("account")
	if len(rows) != 1 {
		g.t.Fatalf("%s holds %d accounts, want 1: %v", system, len(rows), rows)
	}
	for k, f := range rows {
		return k, f
	}
	return "", nil
}

// An update whose record b's users deleted unseen is answered Gone.
// Since b's changes are captured, that is b's delete: it is taken as
// captured and reaches every other system; the update is not tried again.
func TestUpdateOfRecordGoneFromCapturedSystemIsItsDelete(t *testing.T) {
	g := newGoneRig(t)
	g.sys["a"].Put("account", "A1", record.Fields{"name": "Acme"})
	g.until("the account reaches b and d", func() bool {
		return len(g.sys["b"].Rows("account")) == 1 && len(g.sys["d"].Rows("account")) == 1
	})
	bKey, _ := g.oneRow("b")
	gid := g.gidOf("a", "A1")
	g.remove("b", bKey)
	g.sys["a"].Put("account", "A1", record.Fields{"name": "Acme Ltd"})
	g.until("b's delete reaches a and d", func() bool {
		return len(g.sys["a"].Rows("account")) == 0 && len(g.sys["d"].Rows("account")) == 0
	})
	g.until("nothing is pending", g.settled)
	if !g.golden(gid).Deleted {
		t.Error("the golden record is not deleted")
	}
	if n := g.goneAnswers("b", bKey); n != 1 {
		t.Errorf("the update of the gone record was sent to b %d times, want once", n)
	}
	if n := len(g.sys["b"].Rows("account")); n != 0 {
		t.Errorf("b holds %d accounts again", n)
	}
	g.noDeadLetters()
}

// An update whose record d's users deleted unseen is answered Gone.
// d only receives accounts, so no delete of its users counts: the
// record is made there again, with the update, and stays everywhere.
func TestUpdateOfRecordGoneFromDestinationOnlySystemRemakesIt(t *testing.T) {
	g := newGoneRig(t)
	g.sys["a"].Put("account", "A1", record.Fields{"name": "Acme"})
	g.until("the account reaches b and d", func() bool {
		return len(g.sys["b"].Rows("account")) == 1 && len(g.sys["d"].Rows("account")) == 1
	})
	dKey, _ := g.oneRow("d")
	gid := g.gidOf("a", "A1")
	g.remove("d", dKey)
	g.sys["a"].Put("account", "A1", record.Fields{"name": "Acme Ltd"})
	g.until("the account is made in d again, updated", func() bool {
		rows := g.sys["d"].Rows("account")
		for k, f := range rows {
			return len(rows) == 1 && k != dKey && f["Title"] == "Acme Ltd"
		}
		return false
	})
	g.until("nothing is pending", g.settled)
	if g.golden(gid).Deleted {
		t.Error("the golden record was deleted")
	}
	if _, f := g.oneRow("a"); f["name"] != "Acme Ltd" {
		t.Errorf("a holds %v, want the update", f)
	}
	if _, f := g.oneRow("b"); f["Name"] != "Acme Ltd" {
		t.Errorf("b holds %v, want the update", f)
	}
	newKey, _ := g.oneRow("d")
	if got := g.gidOf("d", newKey); got != gid {
		t.Errorf("d's new row %s is linked to %s, want the record %s", newKey, got, gid)
	}
	if n := g.goneAnswers("d", dKey); n != 1 {
		t.Errorf("the update of the gone record was sent to d %d times, want once", n)
	}
	g.noDeadLetters()
}

// goneSQLYAML: a SQLite table that only receives accounts from a.
const goneSQLYAML = `version: 1
store: {dir: %q}
systems:
  a: {type: sqlite, dsn: unused, poll: 10ms}
  d: {type: sqlite, dsn: %q, poll: 10ms}
delivery: {attempts: 3, backoff: 5ms, max_backoff: 20ms}
entities:
  account:
    schema: {type: object, properties: {name: {type: string}}}
mappings:
  a:
    account: {table: accounts, fields: {name: name}}
  d:
    account: {table: ledger, key_generated: true, fields: {name: title}}
routes:
  - {entity: account, from: a, to: [d]}
`

// The same with a real database: the SQL connector answers Gone to the
// update of a row its users deleted, and the create that makes the
// record again makes a new row, instead of finding the deleted one by
// the global id tandem recorded for it and answering Gone for ever.
func TestUpdateOfRowGoneFromDestinationOnlyTableRemakesIt(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "d.db")
	db, err := sql.Open("sqlite", "file:"+file+"?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Exec(`CREATE TABLE ledger (id INTEGER PRIMARY KEY, title TEXT)`); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "tandem.yaml")
	if err := os.WriteFile(path, []byte(fmt.Sprintf(goneSQLYAML, filepath.Join(dir, "store"), file)), 0o600); err != nil {
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
	a := memory.New("a", model.Tables("a"))
	h, err := hub.Open(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)),
		hub.Options{Systems: map[string]registry.System{"a": a}})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Setup(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = h.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done; _ = h.Close(context.Background()) })
	<-h.Ready()

	type row struct {
		id    int64
		title string
	}
	rows := func() []row {
		t.Helper()
		rs, err := db.Query(`SELECT id, title FROM ledger ORDER BY id`)
		if err != nil {
			t.Fatal(err)
		}
		defer rs.Close()
		var out []row
		for rs.Next() {
			var r row
			if err := rs.Scan(&r.id, &r.title); err != nil {
				t.Fatal(err)
			}
			out = append(out, r)
		}
		if err := rs.Err(); err != nil {
			t.Fatal(err)
		}
		return out
	}
	until := func(what string, ok func([]row) bool) {
		t.Helper()
		for deadline := time.Now().Add(20 * time.Second); !ok(rows()); time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within 20s; d holds %+v", what, rows())
			}
		}
	}
	a.Put("account", "A1", record.Fields{"name": "Acme"})
	until("the account reaches d", func(rs []row) bool { return len(rs) == 1 })
	if _, err := db.Exec(`DELETE FROM ledger`); err != nil {
		t.Fatal(err)
	}
	a.Put("account", "A1", record.Fields{"name": "Acme Ltd"})
	until("the account is made in d again, updated", func(rs []row) bool {
		return len(rs) == 1 && rs[0].title == "Acme Ltd"
	})
	ds, err := admin.DeadLetters(context.Background(), h.Store(), store.DeadOpen, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) > 0 {
		t.Errorf("dead letters: %+v", ds)
	}
}

package hub_test

import (
	"context"
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
)

const reportsYAML = `version: 1
store: {dir: STORE}
systems:
  a: {type: sqlite, dsn: unused, poll: 10ms, batch: 50}
  q: {type: queue, queue: {broker: rabbitmq, url: "amqp://unused"}, poll: 10ms, batch: 50}
delivery: {attempts: 4, backoff: 5ms, max_backoff: 20ms}
entities:
  account: {schema: {type: object, properties: {name: {type: string}}}}
  contact:
    refs: {account: account}
    schema: {type: object, properties: {name: {type: string}, account: {type: string}}}
mappings:
  a:
    account: {table: accounts, fields: {name: name}}
    contact: {table: contacts, fields: {name: name, account: account_id}}
  q:
    account: {table: company, key_generated: true, fields: {name: title}}
    contact: {table: customer, key_generated: true, fields: {name: full_name, account: company_id}}
routes:
  - {entity: account, between: [a, q]}
  - {entity: contact, between: [a, q]}
`

// asyncSystem stands for a system on a queue: Apply only hands writes
// over, and the application applies them later and reports back.
type asyncSystem struct {
	*memory.System
	mu      sync.Mutex
	inbox   []asyncWrite
	reports []connector.Report
}

type asyncWrite struct {
	entity string
	w      record.Write
}

func (q *asyncSystem) Apply(_ context.Context, entity string, ws []record.Write) ([]record.Result, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	res := make([]record.Result, len(ws))
	for i, w := range ws {
		q.inbox = append(q.inbox, asyncWrite{entity, w})
		res[i].Key = w.Key
	}
	return res, nil
}

// process applies what was handed over, as the application would, and
// reports; refuse gives a reason to refuse a write, or "".
func (q *asyncSystem) process(t *testing.T, refuse func(entity string, w record.Write) string) []asyncWrite {
	t.Helper()
	q.mu.Lock()
	in := q.inbox
	q.inbox = nil
	q.mu.Unlock()
	for _, iw := range in {
		w := iw.w
		if refuse != nil {
			if why := refuse(iw.entity, w); why != "" {
				q.report(connector.Report{Kind: connector.Failed, Entity: iw.entity, GID: w.GID, Key: w.Key, Op: w.Op, Reason: why, Field: "title"})
				continue
			}
		}
		res, err := q.System.Apply(context.Background(), iw.entity, []record.Write{w})
		if err != nil {
			t.Fatal(err)
		}
		kind := connector.Applied
		if w.Key == "" && w.Op == record.Upsert {
			kind = connector.Created
		}
		q.report(connector.Report{Kind: kind, Entity: iw.entity, GID: w.GID, Key: res[0].Key, Op: w.Op})
	}
	return in
}

func (q *asyncSystem) report(r connector.Report) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.reports = append(q.reports, r)
}

func (q *asyncSystem) Reports(ctx context.Context, max int) (connector.ReportBatch, error) {
	q.mu.Lock()
	n := min(max, len(q.reports))
	out := append([]connector.Report(nil), q.reports[:n]...)
	q.mu.Unlock()
	if n == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	return connector.ReportBatch{Reports: out, Ack: n}, nil
}

func (q *asyncSystem) AckReports(_ context.Context, b connector.ReportBatch) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.reports = q.reports[b.Ack.(int):]
	return nil
}

func (q *asyncSystem) waitInbox(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		q.mu.Lock()
		got := len(q.inbox)
		q.mu.Unlock()
		if got >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d writes handed over, want %d", got, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestReportsLinkAndDeadLetter(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "tandem.yaml")
	if err := os.WriteFile(path, []byte(strings.Replace(reportsYAML, "STORE", filepath.Join(dir, "data"), 1)), 0o600); err != nil {
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
	q := &asyncSystem{System: memory.New("q", model.Tables("q"))}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	h, err := hub.Open(context.Background(), cfg, log, hub.Options{Systems: map[string]registry.System{"a": a, "q": q}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); _ = h.Run(ctx) }()
	defer func() { cancel(); wg.Wait(); _ = h.Close(context.Background()) }()
	<-h.Ready()
	st := h.Store()
	keyOf := func(entity, gid string) string {
		var k string
		_ = st.View(context.Background(), func(tx store.Tx) error { k, _, _ = tx.Key(entity, gid, "q"); return nil })
		return k
	}
	gidOf := func(entity, key string) string {
		var g string
		_ = st.View(context.Background(), func(tx store.Tx) error { g, _, _ = tx.GID(entity, "a", key); return nil })
		return g
	}
	eventually := func(what string, ok func() bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !ok() {
			if time.Now().After(deadline) {
				t.Fatalf("not within 10s: %s", what)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}

	// A create goes over keyless; the created report links the new key.
	a.Put("account", "A1", record.Fields{"name": "Acme"})
	q.waitInbox(t, 1)
	// A contact of that account waits until the account's key in q is known.
	a.Put("contact", "C1", record.Fields{"name": "Ann", "account_id": "A1"})
	time.Sleep(100 * time.Millisecond)
	if got := q.process(t, nil); len(got) != 1 || got[0].w.Key != "" || got[0].entity != "account" {
		t.Fatalf("handed over %+v, want only the account's create", got)
	}
	gid := gidOf("account", "A1")
	eventually("the created key is linked", func() bool { return keyOf("account", gid) != "" })
	qkey := keyOf("account", gid)
	q.waitInbox(t, 1)
	got := q.process(t, nil)
	if len(got) != 1 || got[0].entity != "contact" || got[0].w.Fields["company_id"] != qkey {
		t.Fatalf("contact handed over as %+v, want one pointing at %s", got, qkey)
	}

	// A refused update becomes a dead letter with the system's reason.
	a.Put("account", "A1", record.Fields{"name": "Acme!!"})
	q.waitInbox(t, 1)
	q.process(t, func(string, record.Write) string { return "titles may not shout" })
	var dead []store.DeadLetter
	eventually("a dead letter", func() bool {
		dead, _ = admin.DeadLetters(context.Background(), st, store.DeadOpen, 10)
		return len(dead) == 1
	})
	if d := dead[0]; d.Stage != store.StageDeliver || d.System != "q" || d.Entity != "account" || d.Key != qkey ||
		d.Field != "title" || !strings.Contains(d.Error, "titles may not shout") {
		t.Fatalf("dead letter %+v", d)
	}
	// A later success resolves it.
	a.Put("account", "A1", record.Fields{"name": "Acme Ltd"})
	q.waitInbox(t, 1)
	q.process(t, nil)
	eventually("the dead letter is resolved", func() bool {
		dead, _ = admin.DeadLetters(context.Background(), st, store.DeadOpen, 10)
		return len(dead) == 0
	})

	// A record deleted before its created report came back still gets deleted.
	a.Put("account", "A2", record.Fields{"name": "Brief"})
	q.waitInbox(t, 1)
	a.Delete("account", "A2")
	time.Sleep(100 * time.Millisecond) // the delete is skipped: no key yet
	q.process(t, nil)
	q.waitInbox(t, 1)
	if got := q.process(t, nil); len(got) != 1 || got[0].w.Op != record.Delete || got[0].w.Key == "" {
		t.Fatalf("after the created report got %+v, want the delete with the new key", got)
	}
	if rows := q.Rows("account"); len(rows) != 1 {
		t.Fatalf("q holds %v, want only Acme", rows)
	}

	// A message the system sent that could not be read is a capture dead letter.
	q.report(connector.Report{Kind: connector.Rejected, Entity: "contact", Key: "77", Field: "full_name", Reason: "not a string"})
	eventually("a capture dead letter", func() bool {
		dead, _ = admin.DeadLetters(context.Background(), st, store.DeadOpen, 10)
		return len(dead) == 1
	})
	if d := dead[0]; d.Stage != store.StageCapture || d.Key != "77" || d.Field != "full_name" || !strings.Contains(d.Error, "not a string") {
		t.Fatalf("dead letter %+v", d)
	}
}

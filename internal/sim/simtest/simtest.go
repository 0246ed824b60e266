// Package simtest runs a hub between an in-memory application and a
// simulated API system, for the API connectors' tests. Only tests import it.
package simtest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
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

// Options describe a rig.
type Options struct {
	// Handler is the simulated API.
	Handler http.Handler
	// System is the YAML of systems.crm with %s where its dsn goes,
	// indented by four spaces.
	System string
	// Mapping is the YAML of mappings.crm.contact's body (fields and
	// more), indented by six spaces.
	Mapping string
	// Seed puts n contacts in the app before the hub starts:
	// name "Person i", email "pi@example.com".
	Seed int
}

// Rig is a running hub between "app" (memory) and "crm" (the simulator).
type Rig struct {
	T      *testing.T
	URL    string // the simulator's base URL
	Listen string // the hub's webhook address
	App    *memory.System
	Hub    *hub.Hub
	writes sync.Map // app key or global id → writes to the app
}

const yaml = `version: 1
store: {dir: %q}
listen: %q
delivery: {attempts: 10, backoff: 50ms, max_backoff: 500ms}
systems:
  app: {type: sqlite, dsn: ./unused.db, poll: 20ms, batch: 200}
  crm:
%s
entities:
  contact:
    match: [email]
    schema:
      type: object
      properties:
        name: {type: string}
        email: {type: [string, "null"]}
        tier: {type: [string, "null"]}
mappings:
  app:
    contact: {table: contacts, key: id, fields: {name: name, email: email, tier: tier}}
  crm:
    contact:
%s
routes:
  - entity: contact
    between: [app, crm]
`

// FreeAddr is a loopback address no one listens on now.
func FreeAddr(t testing.TB) string {
	var lc net.ListenConfig
	ln, err := lc.Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// New starts a rig; it stops when the test ends.
func New(t *testing.T, o Options) *Rig {
	t.Helper()
	r := &Rig{T: t, Listen: FreeAddr(t)}
	srv := httptest.NewServer(o.Handler)
	t.Cleanup(srv.Close)
	r.URL = srv.URL
	dir := t.TempDir()
	y := fmt.Sprintf(yaml, filepath.Join(dir, "store"), r.Listen, fmt.Sprintf(o.System, srv.URL), o.Mapping)
	path := filepath.Join(dir, "tandem.yaml")
	if err := os.WriteFile(path, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	r.App = memory.New("app", []connector.Table{{Entity: "contact", Name: "contacts", Key: "id", Columns: []string{"name", "email", "tier"}}})
	r.App.Fail = func(_ string, ws []record.Write) error {
		if os.Getenv("SIMTEST_DEBUG") != "" {
			for _, w := range ws {
				t.Logf("app write %+v", w)
			}
		}
		for _, w := range ws {
			for i, k := range []string{w.GID, w.Key} {
				if k != "" && (i == 0 || k != w.GID) {
					n, _ := r.writes.LoadOrStore(k, new(int))
					*(n.(*int))++
				}
			}
		}
		return nil
	}
	for i := range o.Seed {
		r.App.Put("contact", fmt.Sprintf("a%04d", i), record.Fields{"name": fmt.Sprintf("Person %d", i),
			"email": fmt.Sprintf("p%d@example.com", i), "tier": "gold"})
	}
	r.Hub = StartHub(t, cfg, map[string]registry.System{"app": r.App})
	return r
}

// StartHub opens and runs a hub on cfg with the given systems, waits
// until it is ready, and stops it when the test ends.
func StartHub(t testing.TB, cfg *config.Config, systems map[string]registry.System) *hub.Hub {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	ctx, cancel := context.WithCancel(context.Background())
	h, err := hub.Open(ctx, cfg, log, hub.Options{Systems: systems})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = h.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		_ = h.Close(context.Background())
	})
	select {
	case <-h.Ready():
	case <-time.After(60 * time.Second):
		t.Fatal("hub not ready")
	}
	return h
}

// Writes is how many writes the app received for a global id or app key.
func (r *Rig) Writes(k string) int {
	n, ok := r.writes.Load(k)
	if !ok {
		return 0
	}
	return *(n.(*int))
}

// Until polls fn every 50ms until it returns nil or limit passes.
func Until(t testing.TB, limit time.Duration, what string, fn func() error) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		err := fn()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s: %v", what, limit, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Status sums the hub's counters.
func (r *Rig) Status() (pending, delivered, dead int64) {
	rows, err := admin.Status(context.Background(), r.Hub.Store(), time.Now())
	if err != nil {
		r.T.Fatal(err)
	}
	for _, x := range rows {
		pending += x.Pending
		delivered += x.Delivered
		dead += x.Dead
	}
	return
}

// Dead lists the open dead letters.
func (r *Rig) Dead() []store.DeadLetter {
	var out []store.DeadLetter
	_ = r.Hub.Store().View(context.Background(), func(tx store.Tx) error {
		var err error
		out, err = tx.DeadLetters(store.DeadOpen, 100)
		return err
	})
	return out
}

package http_test

import (
	"context"
	"fmt"
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
	"github.com/tandemhub/tandem/internal/sim"
	"github.com/tandemhub/tandem/internal/sim/simtest"
)

// crmYAML is a hub with an application (in memory) and the CRM simulator
// (type http) keeping contacts in step. Slots: store dir, CRM URL,
// listen address, webhook secret, resource extras.
const crmYAML = `version: 1
store: {dir: %q}
listen: %q
delivery: {attempts: 10, backoff: 50ms, max_backoff: 500ms}
systems:
  app: {type: sqlite, dsn: ./unused.db, poll: 20ms, batch: 200}
  crm:
    type: http
    dsn: %q
    poll: 20ms
    batch: 200
    http:
      timeout: 2s
      max_wait: 1m
      webhook:
        secret: %q
        header: X-CRM-Signature
        prefix: "sha256="
        timestamp: X-CRM-Timestamp
        events: events
        resource: collection
      resources:
        contacts:
          records: data
          paging: {style: token, size: 100, limit: limit, token: cursor, next: next_cursor}
          lookup: tandem_id
%s
entities:
  contact:
    match: [email]
    schema:
      type: object
      properties:
        name: {type: string}
        email: {type: [string, "null"]}
mappings:
  app:
    contact: {table: contacts, key: id, fields: {name: name, email: email}}
  crm:
    contact: {table: contacts, key: id, key_generated: true, fields: {name: name, email: email}}
routes:
  - entity: contact
    between: [app, crm]
`

// pollYAML lets the CRM's changes be polled (and its deletes seen).
const pollYAML = `          updated: updated_at
          since: {updated_since: "{since}"}
          since_format: rfc3339
          params: {include_deleted: "true"}
          deletes: {field: deleted}`

const secret = "s3cret"

// rig is a running hub between an in-memory app and the CRM simulator.
type rig struct {
	t         *testing.T
	crm       *sim.CRM
	url       string
	listen    string
	app       *memory.System
	hub       *hub.Hub
	writes    sync.Map // global id → writes to the app
	keyWrites sync.Map // app key → writes to the app
}

func newRig(t *testing.T, faults sim.Faults, extra string, seedApp int) *rig {
	t.Helper()
	r := &rig{t: t, crm: sim.NewCRM(faults), listen: simtest.FreeAddr(t)}
	srv := httptest.NewServer(r.crm)
	t.Cleanup(srv.Close)
	r.url = srv.URL
	dir := t.TempDir()
	y := fmt.Sprintf(crmYAML, filepath.Join(dir, "store"), r.listen, srv.URL+"/v1", secret, extra)
	path := filepath.Join(dir, "tandem.yaml")
	if err := os.WriteFile(path, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	r.app = memory.New("app", []connector.Table{{Entity: "contact", Name: "contacts", Key: "id", Columns: []string{"name", "email"}}})
	r.app.Fail = func(_ string, ws []record.Write) error {
		for _, w := range ws {
			n, _ := r.writes.LoadOrStore(w.GID, new(int))
			*(n.(*int))++
			if w.Key != "" {
				k, _ := r.keyWrites.LoadOrStore(w.Key, new(int))
				*(k.(*int))++
			}
		}
		return nil
	}
	for i := range seedApp {
		r.app.Put("contact", fmt.Sprintf("a%04d", i), record.Fields{"name": fmt.Sprintf("Person %d", i), "email": fmt.Sprintf("p%d@example.com", i)})
	}
	r.hub = simtest.StartHub(t, cfg, map[string]registry.System{"app": r.app})
	return r
}

// status sums the hub's counters.
func (r *rig) status() (pending, delivered, dead int64) {
	rows, err := admin.Status(context.Background(), r.hub.Store(), time.Now())
	if err != nil {
		r.t.Fatal(err)
	}
	for _, x := range rows {
		pending += x.Pending
		delivered += x.Delivered
		dead += x.Dead
	}
	return
}

// crmByEmail is the CRM's live contacts by email, failing on duplicates.
func (r *rig) crmByEmail() (map[string]map[string]any, error) {
	return r.crm.Store.LiveBy("contacts", "email", "id")
}

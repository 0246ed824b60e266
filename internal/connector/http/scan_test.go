package http_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/tandemhub/tandem/internal/config"
	tandemhttp "github.com/tandemhub/tandem/internal/connector/http"
	"github.com/tandemhub/tandem/internal/hub"
	"github.com/tandemhub/tandem/internal/record"
)

// scanYAML: json-server's customers, whose deletes a scan of every id
// finds (json-server keeps no record of them).
const scanYAML = `version: 1
store: {dir: unused}
systems:
  app: {type: sqlite, dsn: unused}
  shop:
    type: http
    dsn: %q
    http:
      resources:
        customers:
          updated: updatedAt
          since: {updatedAt_gte: "{since}"}
          params: {_sort: "updatedAt,id", _order: "asc,asc"}
          paging: {style: page, page: _page, limit: _limit, size: 50}
          deletes: {scan: 1ms}
entities:
  customer:
    schema:
      type: object
      properties:
        name: {type: string}
        email: {type: string}
mappings:
  app:
    customer: {table: customers, fields: {name: name, email: email}}
  shop:
    customer: {table: customers, key_generated: true, fields: {name: name, email: email}}
routes:
  - {entity: customer, between: [app, shop]}
`

// listingHook is a proxy in front of json-server that can run a function
// after json-server answered a page of a listing of every customer (a
// delete scan's) and before the answer reaches tandem.
type listingHook struct {
	proxy *httputil.ReverseProxy
	mu    sync.Mutex
	page  string // the page to hold up
	fn    func()
}

// arm runs fn once, when json-server has answered page of the next scan.
func (h *listingHook) arm(page string, fn func()) {
	h.mu.Lock()
	h.page, h.fn = page, fn
	h.mu.Unlock()
}

func (h *listingHook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	h.mu.Lock()
	fn := h.fn
	scan := r.Method == "GET" && r.URL.Path == "/customers" && !q.Has("updatedAt_gte") && q.Get("_page") == h.page
	if scan {
		h.fn = nil
	}
	h.mu.Unlock()
	if !scan || fn == nil {
		h.proxy.ServeHTTP(w, r)
		return
	}
	rec := httptest.NewRecorder()
	h.proxy.ServeHTTP(rec, r)
	fn()
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}

// scanRig is the shop system of scanYAML on json-server behind a hook.
type scanRig struct {
	t    *testing.T
	js   *jsonServer
	hook *listingHook
	shop *tandemhttp.System
}

func newScanRig(t *testing.T, customers []map[string]any) *scanRig {
	t.Helper()
	ctx := context.Background()
	g := &scanRig{t: t, js: startJSONServer(t, map[string][]map[string]any{"customers": customers})}
	target, err := url.Parse(g.js.URL)
	if err != nil {
		t.Fatal(err)
	}
	g.hook = &listingHook{proxy: httputil.NewSingleHostReverseProxy(target)}
	srv := httptest.NewServer(g.hook)
	t.Cleanup(srv.Close)
	path := filepath.Join(t.TempDir(), "tandem.yaml")
	if err := os.WriteFile(path, []byte(fmt.Sprintf(scanYAML, srv.URL)), 0o600); err != nil {
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
	if g.shop, err = tandemhttp.New(ctx, "shop", cfg.Systems["shop"], model.Tables("shop"), nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = g.shop.Close(ctx) })
	// As the hub starts a system: from a position taken now.
	pos, err := g.shop.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := g.shop.Resume(ctx, pos); err != nil {
		t.Fatal(err)
	}
	if d := g.deletes(); len(d) > 0 {
		t.Fatalf("deletes reported before any: %v", d)
	}
	return g
}

// deletes reads and acknowledges the system's changes, as the hub does,
// and returns the keys of those that are deletes.
func (g *scanRig) deletes() []string {
	g.t.Helper()
	ctx := context.Background()
	b, err := g.shop.Changes(ctx, 100)
	if err != nil {
		g.t.Fatal(err)
	}
	var out []string
	for _, c := range b.Changes {
		if c.Op == record.Delete {
			out = append(out, c.Key)
		}
	}
	if err := g.shop.Ack(ctx, b); err != nil {
		g.t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

// A delete scan lists every id and compares the listing with the ids it
// knew. A record tandem creates while the listing is on its way is
// missing from the listing, but known already: it is not reported
// deleted. A record really deleted is, then and later.
func TestDeleteScanSparesRecordCreatedWhileItLists(t *testing.T) {
	ctx := context.Background()
	long := time.Now().Add(-time.Hour).UnixMilli() // before the feed starts: it reports none of them
	g := newScanRig(t, []map[string]any{
		{"id": 1, "name": "Acme", "email": "acme@example.com", "updatedAt": long},
		{"id": 2, "name": "Globex", "email": "globex@example.com", "updatedAt": long},
		{"id": 3, "name": "Initech", "email": "initech@example.com", "updatedAt": long},
	})
	// A user deletes Globex. While the next scan's listing is on its way
	// (json-server has answered it), tandem creates a customer.
	if err := g.js.do("DELETE", "/customers/2", nil, nil); err != nil {
		t.Fatal(err)
	}
	created := ""
	g.hook.arm("1", func() {
		res, err := g.shop.Apply(ctx, "customer", []record.Write{{Op: record.Upsert, GID: "G-NEW",
			Fields: record.Fields{"name": "Umbrella", "email": "umbrella@example.com"}}})
		if err != nil || res[0].Err != nil {
			t.Errorf("create during the scan: %v %+v", err, res)
			return
		}
		created = res[0].Key
	})
	if d := g.deletes(); !slices.Equal(d, []string{"2"}) {
		t.Errorf("the scan reported deletes of %v, want only 2 (Globex); tandem created %q while it listed", d, created)
	}
	if created == "" {
		t.Fatal("the scan's listing was not held up for a create")
	}
	if d := g.deletes(); len(d) > 0 {
		t.Errorf("the next scan reported deletes of %v, want none", d)
	}
	// The new customer is known: once a user deletes it, the scan says so.
	if err := g.js.do("DELETE", "/customers/"+created, nil, nil); err != nil {
		t.Fatal(err)
	}
	if d := g.deletes(); !slices.Equal(d, []string{created}) {
		t.Errorf("after its user deleted %s, the scan reported deletes of %v", created, d)
	}
}

// A listing sorted by updated-at shifts while records change: a record
// edited while the scan pages moves to the end, and the first record of
// the next page slides onto the page already read. The record missing
// from the listing that way is still there, and is not reported deleted.
func TestDeleteScanSparesRecordSkippedByShiftingPages(t *testing.T) {
	long := time.Now().Add(-time.Hour)
	var customers []map[string]any
	for i := 1; i <= 60; i++ { // two pages of 50
		customers = append(customers, map[string]any{"id": i, "name": fmt.Sprint("Customer ", i),
			"email": fmt.Sprintf("c%d@example.com", i), "updatedAt": long.Add(time.Duration(i) * time.Second).UnixMilli()})
	}
	g := newScanRig(t, customers)
	if err := g.js.do("DELETE", "/customers/30", nil, nil); err != nil {
		t.Fatal(err)
	}
	// Once the scan has read the first page, a user edits customer 1.
	edited := false
	g.hook.arm("1", func() {
		if err := g.js.do("PATCH", "/customers/1", map[string]any{"name": "Customer 1 renamed",
			"updatedAt": time.Now().UnixMilli()}, nil); err != nil {
			t.Errorf("edit during the scan: %v", err)
			return
		}
		edited = true
	})
	if d := g.deletes(); !slices.Equal(d, []string{"30"}) {
		t.Errorf("the scan reported deletes of %v, want only 30", d)
	}
	if !edited {
		t.Fatal("the scan's listing was not held up for an edit")
	}
	if d := g.deletes(); len(d) > 0 {
		t.Errorf("the next scan reported deletes of %v, want none", d)
	}
}

// A record tandem made just before the hub was killed is in no stored
// baseline; deleted by a user before the hub came back, no listing shows
// it. The hub tells the connector every key tandem links there, and the
// scan reports the delete.
func TestDeleteScanReportsKnownKeyMadeBeforeTheBaseline(t *testing.T) {
	long := time.Now().Add(-time.Hour).UnixMilli()
	g := newScanRig(t, []map[string]any{
		{"id": 1, "name": "Acme", "email": "acme@example.com", "updatedAt": long},
	})
	// Made by tandem in an earlier run (not in the stored baseline), then
	// deleted by the shop's user while no hub ran.
	if err := g.js.do("POST", "/customers", map[string]any{"id": 7, "name": "Initech", "email": "i@example.com", "updatedAt": long}, nil); err != nil {
		t.Fatal(err)
	}
	if err := g.js.do("DELETE", "/customers/7", nil, nil); err != nil {
		t.Fatal(err)
	}
	g.shop.Known("customer", []string{"1", "7"})
	if d := g.deletes(); !slices.Equal(d, []string{"7"}) {
		t.Errorf("the scan reported deletes of %v, want 7, a key tandem links that the shop no longer holds", d)
	}
	if d := g.deletes(); len(d) > 0 {
		t.Errorf("the next scan reported deletes of %v, want none", d)
	}
}

package http_test

import (
	"context"
	"fmt"
	"net/http/httputil"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/tandemhub/tandem/internal/record"
	"github.com/tandemhub/tandem/internal/sim/simtest"
	"github.com/tandemhub/tandem/internal/store"
)

// jsonServerSystem is simtest's crm system on json-server's contacts;
// %s is where simtest puts its address, SCAN where a delete scan goes.
const jsonServerSystem = `    type: http
    dsn: %s
    poll: 20ms
    http:
      resources:
        contacts:
          updated: updatedAt
          since: {updatedAt_gte: "{since}"}
          params: {_sort: "updatedAt,id", _order: "asc,asc"}
          paging: {style: page, page: _page, limit: _limit, size: 50}
          lookup: tandem_gid
SCAN`

const jsonServerMapping = `      table: contacts
      key_generated: true
      fields: {name: name, email: email}`

// keyRig is a hub between simtest's app and json-server.
type keyRig struct {
	*simtest.Rig
	js *jsonServer
}

func newKeyRig(t *testing.T, contacts []map[string]any, scan string) *keyRig {
	t.Helper()
	js := startJSONServer(t, map[string][]map[string]any{"contacts": contacts})
	target, err := url.Parse(js.URL)
	if err != nil {
		t.Fatal(err)
	}
	r := simtest.New(t, simtest.Options{Handler: httputil.NewSingleHostReverseProxy(target),
		System: strings.Replace(jsonServerSystem, "SCAN", scan, 1), Mapping: jsonServerMapping})
	return &keyRig{Rig: r, js: js}
}

// app lists the app's contacts as "key name", sorted.
func (r *keyRig) app() []string {
	var out []string
	for k, f := range r.App.Rows("contact") {
		out = append(out, fmt.Sprintf("%s %v", k, f["name"]))
	}
	sort.Strings(out)
	return out
}

// shop lists json-server's contacts as "id name", sorted.
func (r *keyRig) shop() []string {
	var out []string
	for _, c := range r.js.list("contacts") {
		out = append(out, fmt.Sprintf("%v %v", c["id"], c["name"]))
	}
	sort.Strings(out)
	return out
}

// until waits up to 20s for the app and json-server to hold app and shop
// and for nothing to be pending.
func (r *keyRig) until(what string, app, shop []string) {
	r.T.Helper()
	simtest.Until(r.T, 20*time.Second, what, func() error {
		a, s := r.app(), r.shop()
		if fmt.Sprint(a) != fmt.Sprint(app) || fmt.Sprint(s) != fmt.Sprint(shop) {
			return fmt.Errorf("app holds %q, json-server %q; want %q and %q", a, s, app, shop)
		}
		if pending, _, _ := r.Status(); pending > 0 {
			return fmt.Errorf("%d deliveries pending", pending)
		}
		return nil
	})
}

func (r *keyRig) link(system, key string) string {
	r.T.Helper()
	var gid string
	err := r.Hub.Store().View(context.Background(), func(tx store.Tx) error {
		var err error
		gid, _, err = tx.GID("contact", system, key)
		return err
	})
	if err != nil {
		r.T.Fatal(err)
	}
	return gid
}

func (r *keyRig) deleted(gid string) bool {
	r.T.Helper()
	var g *store.Golden
	err := r.Hub.Store().View(context.Background(), func(tx store.Tx) error {
		var err error
		g, err = tx.Golden("contact", gid)
		return err
	})
	if err != nil || g == nil {
		r.T.Fatalf("golden record %s: %v %v", gid, g, err)
	}
	return g.Deleted
}

func (r *keyRig) noDeadLetters() {
	r.T.Helper()
	for _, d := range r.Dead() {
		r.T.Errorf("dead letter: %s %s %s key %q: %s", d.Stage, d.System, d.Entity, d.Key, d.Error)
	}
}

// json-server gives a created record the largest id plus one: the id of
// a record its users deleted goes to the next record tandem creates.
// Tandem takes that as the deleted record gone from json-server (its
// delete reaches the app) and links the id to the new record, instead
// of moving the old record's link to it.
func TestCreateGivenAFreedIDDoesNotTakeTheOldLink(t *testing.T) {
	r := newKeyRig(t, []map[string]any{}, "") // no delete scan: json-server's deletes go unseen
	r.App.Put("contact", "a1", record.Fields{"name": "Old", "email": "old@example.com"})
	r.until("the contact reaches json-server", []string{"a1 Old"}, []string{"1 Old"})
	old := r.link("app", "a1")
	if got := r.link("crm", "1"); got != old {
		t.Fatalf("json-server's contact 1 is linked to %q, want %s", got, old)
	}
	if err := r.js.do("DELETE", "/contacts/1", nil, nil); err != nil {
		t.Fatal(err)
	}
	r.App.Put("contact", "a2", record.Fields{"name": "New", "email": "new@example.com"})
	r.until("the old contact is deleted from the app, the new one made in json-server under the freed id",
		[]string{"a2 New"}, []string{"1 New"})
	fresh := r.link("app", "a2")
	if got := r.link("crm", "1"); got != fresh {
		t.Errorf("json-server's contact 1 is linked to %q, want the new record %s", got, fresh)
	}
	if !r.deleted(old) {
		t.Errorf("the old record %s is not deleted", old)
	}
	for _, c := range r.js.list("contacts") {
		if c["tandem_gid"] != fresh {
			t.Errorf("json-server's contact %v carries the global id %v, want %s", c["id"], c["tandem_gid"], fresh)
		}
	}
	r.noDeadLetters()
}

// A record json-server's users create after deleting the last one gets
// its id. Its delete seen first, the id's new record is a new record of
// theirs: it reaches the app and is not erased as the deleted one ("the
// delete wins").
func TestUserCreateGivenAFreedIDIsANewRecord(t *testing.T) {
	r := newKeyRig(t, []map[string]any{
		{"id": 1, "name": "Shop Old", "email": "shopold@example.com", "updatedAt": time.Now().UnixMilli()},
	}, "          deletes: {scan: 100ms}")
	simtest.Until(t, 20*time.Second, "the contact reaches the app", func() error {
		if rows := r.App.Rows("contact"); len(rows) != 1 {
			return fmt.Errorf("app holds %v", rows)
		}
		return nil
	})
	old := r.link("crm", "1")
	if err := r.js.do("DELETE", "/contacts/1", nil, nil); err != nil {
		t.Fatal(err)
	}
	r.until("the delete reaches the app", nil, nil)
	if !r.deleted(old) {
		t.Fatalf("the deleted record %s is not deleted", old)
	}
	var made map[string]any
	if err := r.js.do("POST", "/contacts", map[string]any{"name": "Shop New", "email": "shopnew@example.com",
		"updatedAt": time.Now().UnixMilli()}, &made); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(made["id"]) != "1" {
		t.Fatalf("json-server gave the new contact the id %v, not the freed 1", made["id"])
	}
	simtest.Until(t, 20*time.Second, "the new contact reaches the app", func() error {
		rows := r.App.Rows("contact")
		for _, f := range rows {
			if len(rows) == 1 && f["name"] == "Shop New" {
				return nil
			}
		}
		return fmt.Errorf("app holds %v; json-server %q", rows, r.shop())
	})
	simtest.Until(t, 20*time.Second, "nothing is pending", func() error {
		if pending, _, _ := r.Status(); pending > 0 {
			return fmt.Errorf("%d deliveries pending", pending)
		}
		return nil
	})
	if s := r.shop(); fmt.Sprint(s) != "[1 Shop New]" {
		t.Errorf("json-server holds %q, want its user's new contact 1", s)
	}
	if fresh := r.link("crm", "1"); fresh == "" || fresh == old || r.deleted(fresh) {
		t.Errorf("json-server's contact 1 is linked to %q, want a new, live record (the deleted one is %s)", fresh, old)
	}
	if !r.deleted(old) {
		t.Errorf("the deleted record %s came back", old)
	}
	r.noDeadLetters()
}

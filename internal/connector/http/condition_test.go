package http_test

import (
	"context"
	"fmt"
	nethttp "net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	httpapi "github.com/tandemhub/tandem/internal/connector/http"

	"github.com/tandemhub/tandem/internal/connector"
	"github.com/tandemhub/tandem/internal/record"
	"github.com/tandemhub/tandem/internal/sim"
)

// A CRM user who writes a record in the moment between tandem's look at
// it and tandem's write keeps the edit: with a condition, the update
// names the version tandem looked at, the CRM refuses it as stale, and
// tandem writes again once capture has the user's edit.
func TestUserWriteBetweenTandemsLookAndItsWriteIsKept(t *testing.T) {
	for _, batch := range []bool{false, true} {
		name := "single update"
		if batch {
			name = "batch update"
		}
		t.Run(name, func(t *testing.T) {
			crm := sim.NewCRM(sim.Faults{})
			rec, err := crm.Store.Create("contacts", map[string]any{"name": "Ada"})
			if err != nil {
				t.Fatal(err)
			}
			var race sync.Once
			srv := httptest.NewServer(nethttp.HandlerFunc(func(w nethttp.ResponseWriter, req *nethttp.Request) {
				if req.Method != nethttp.MethodGet && strings.HasPrefix(req.URL.Path, "/v1/contacts") {
					// The user's save lands just before tandem's write.
					race.Do(func() {
						if _, err := crm.Store.Update("contacts", rec.ID, map[string]any{"name": "Ada (user)"}); err != nil {
							t.Error(err)
						}
					})
				}
				crm.ServeHTTP(w, req)
			}))
			defer srv.Close()
			res := contactsResource()
			res.Condition = &httpapi.Condition{Field: "if_version", From: "version"}
			if batch {
				res.Batch = &httpapi.Batch{Update: &httpapi.BatchEndpoint{Path: "/contacts/batch", Body: "records", Results: "results"}}
			}
			s, read := contactFeedOf(t, srv.URL, res, 0)
			ctx := context.Background()
			read() // the feed knows the record as it was: writes to it are guarded
			write := func() error {
				t.Helper()
				rs, err := s.Apply(ctx, "contact", []record.Write{{Op: record.Upsert, Key: rec.ID, Fields: record.Fields{"name": "Ada (tandem)"}, Ver: 3}})
				if err != nil {
					t.Fatal(err)
				}
				return rs[0].Err
			}
			if err := write(); !connector.IsBusy(err) {
				t.Fatalf("tandem's write over the user's: %v; want it refused as busy", err)
			}
			if got := crm.Store.Get("contacts", rec.ID).Fields["name"]; got != "Ada (user)" {
				t.Fatalf("the CRM holds %q: the user's edit was overwritten", got)
			}
			cs := read()
			if len(cs) != 1 || cs[0].Fields["name"] != "Ada (user)" || cs[0].Echo {
				t.Fatalf("capture read %+v; want the user's edit, not an echo", cs)
			}
			if err := write(); err != nil {
				t.Fatalf("tandem's write once the user's edit is in: %v", err)
			}
			if got := crm.Store.Get("contacts", rec.ID).Fields["name"]; got != "Ada (tandem)" {
				t.Errorf("the CRM holds %q after tandem's second write", got)
			}
		})
	}
}

// A create that finds its record made already (an earlier answer lost,
// or an earlier hub's) updates it only as any update would: after a look
// for an edit tandem has yet to capture. Unguarded, it overwrote a CRM
// user's edit of the record made moments before.
func TestCreateFindingItsRecordKeepsAUsersEdit(t *testing.T) {
	for _, batch := range []bool{false, true} {
		name := "single create"
		if batch {
			name = "batch create"
		}
		t.Run(name, func(t *testing.T) {
			crm := sim.NewCRM(sim.Faults{})
			srv := httptest.NewServer(crm)
			defer srv.Close()
			rec, err := crm.Store.Create("contacts", map[string]any{"name": "Ada", "tandem_id": "g1"})
			if err != nil {
				t.Fatal(err)
			}
			res := contactsResource()
			if batch {
				res.Batch = &httpapi.Batch{Create: &httpapi.BatchEndpoint{Path: "/contacts/batch", Body: "records", Results: "results"}}
			}
			s, read := contactFeedOf(t, srv.URL, res, 0)
			ctx := context.Background()
			read()
			// A CRM user edits the record; capture has yet to read it.
			if _, err := crm.Store.Update("contacts", rec.ID, map[string]any{"name": "Ada (user)"}); err != nil {
				t.Fatal(err)
			}
			create := func() record.Result {
				t.Helper()
				rs, err := s.Apply(ctx, "contact", []record.Write{{Op: record.Upsert, GID: "g1", Fields: record.Fields{"name": "Ada (tandem)"}, Ver: 5, Doubt: true}})
				if err != nil {
					t.Fatal(err)
				}
				return rs[0]
			}
			if r := create(); !connector.IsBusy(r.Err) {
				t.Fatalf("the create finding its record, which a user edited since: %+v; want it busy", r)
			}
			if got := crm.Store.Get("contacts", rec.ID).Fields["name"]; got != "Ada (user)" {
				t.Fatalf("the CRM holds %q: the user's edit was overwritten", got)
			}
			if cs := read(); len(cs) != 1 || cs[0].Fields["name"] != "Ada (user)" {
				t.Fatalf("capture read %+v; want the user's edit", cs)
			}
			if r := create(); r.Err != nil || r.Key != rec.ID {
				t.Fatalf("the create once the edit is in: %+v; want the record %s updated", r, rec.ID)
			}
		})
	}
}

// Guarded batch updates get through an API whose every answer takes a
// while: a hundred looks do not fit in the moment a guard holds, so the
// batch is cut into pieces that do; with a condition, the looks may take
// as long as they take.
func TestGuardedBatchesOnASlowAPIGetThrough(t *testing.T) {
	for _, conditional := range []bool{false, true} {
		t.Run(fmt.Sprintf("conditional %v", conditional), func(t *testing.T) {
			crm := sim.NewCRM(sim.Faults{})
			const n = 100
			var ids []string
			for i := range n {
				rec, err := crm.Store.Create("contacts", map[string]any{"name": fmt.Sprint("c", i)})
				if err != nil {
					t.Fatal(err)
				}
				ids = append(ids, rec.ID)
			}
			srv := httptest.NewServer(crm)
			defer srv.Close()
			res := contactsResource()
			res.Paging = &httpapi.Paging{Style: "token", Size: 100, Limit: "limit", Token: "cursor", Next: "next_cursor"}
			res.Batch = &httpapi.Batch{Update: &httpapi.BatchEndpoint{Path: "/contacts/batch", Body: "records", Results: "results"}}
			if conditional {
				res.Condition = &httpapi.Condition{Field: "if_version", From: "version"}
			}
			s, read := contactFeedOf(t, srv.URL, res, 0)
			ctx := context.Background()
			for len(read()) > 0 { // until the feed has read every record: writes to them are guarded
			}
			crm.SetFaults(sim.Faults{Latency: 5 * time.Millisecond}) // 25 rounds of 4 looks: 125ms
			todo := map[string]bool{}
			for _, id := range ids {
				todo[id] = true
			}
			for round := 0; len(todo) > 0; round++ {
				if round == 20 {
					t.Fatalf("after 20 rounds %d of %d updates are still not written", len(todo), n)
				}
				var ws []record.Write
				for _, id := range ids {
					if todo[id] {
						ws = append(ws, record.Write{Op: record.Upsert, Key: id, Fields: record.Fields{"name": "new " + id}, Ver: 7})
					}
				}
				rs, err := s.Apply(ctx, "contact", ws)
				if err != nil {
					t.Fatal(err)
				}
				for i, r := range rs {
					switch {
					case r.Err == nil:
						delete(todo, ws[i].Key)
					case !connector.IsBusy(r.Err):
						t.Fatalf("update of %s: %v", ws[i].Key, r.Err)
					}
				}
				if conditional && len(todo) > 0 {
					t.Fatalf("conditional updates: %d of %d late in the first round", len(todo), n)
				}
			}
			for _, id := range ids {
				if got := crm.Store.Get("contacts", id).Fields["name"]; got != "new "+id {
					t.Fatalf("%s holds %q", id, got)
				}
			}
		})
	}
}

// A conditional batch update whose answer was lost is sent again; its
// condition then finds the record changed by the first try, which did
// land. The write is unsure, not refused: the record as the first try
// left it is read back as tandem's own write, not a CRM user's change
// that would undo newer edits elsewhere.
func TestConditionalUpdateResentAfterALostAnswerIsOwnWrite(t *testing.T) {
	crm := sim.NewCRM(sim.Faults{})
	rec, err := crm.Store.Create("contacts", map[string]any{"name": "Ada"})
	if err != nil {
		t.Fatal(err)
	}
	var lost sync.Once
	srv := httptest.NewServer(nethttp.HandlerFunc(func(w nethttp.ResponseWriter, req *nethttp.Request) {
		if req.Method == nethttp.MethodPost && strings.HasSuffix(req.URL.Path, "/batch") {
			first := false
			lost.Do(func() { first = true })
			if first {
				crm.ServeHTTP(httptest.NewRecorder(), req) // done, but the answer never comes
				conn, _, err := w.(nethttp.Hijacker).Hijack()
				if err == nil {
					conn.Close()
				}
				return
			}
		}
		crm.ServeHTTP(w, req)
	}))
	defer srv.Close()
	res := contactsResource()
	res.Condition = &httpapi.Condition{Field: "if_version", From: "version"}
	res.Batch = &httpapi.Batch{Update: &httpapi.BatchEndpoint{Path: "/contacts/batch", Body: "records", Results: "results"}}
	s, read := contactFeedOf(t, srv.URL, res, time.Millisecond)
	ctx := context.Background()
	read()
	rs, err := s.Apply(ctx, "contact", []record.Write{{Op: record.Upsert, Key: rec.ID, Fields: record.Fields{"name": "Ada (tandem)"}, Ver: 8}})
	if err != nil {
		t.Fatal(err)
	}
	if !connector.IsBusy(rs[0].Err) {
		t.Fatalf("the resent update: %+v; want it busy (its first try landed)", rs[0])
	}
	if got := crm.Store.Get("contacts", rec.ID).Fields["name"]; got != "Ada (tandem)" {
		t.Fatalf("the CRM holds %q; the first try should have landed", got)
	}
	if cs := read(); len(cs) != 1 || !cs[0].Echo || cs[0].Base != 8 {
		t.Errorf("the record as the first try left it read back as %+v; want tandem's own write, of version 8", cs)
	}
}

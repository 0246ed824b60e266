package http_test

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/tandemhub/tandem/internal/connector"
	httpapi "github.com/tandemhub/tandem/internal/connector/http"
	"github.com/tandemhub/tandem/internal/connector/rest"
	"github.com/tandemhub/tandem/internal/record"
	"github.com/tandemhub/tandem/internal/sim"
)

// Under a rate limit slower than the guard's window (here 5 requests a
// second, one at a time, as after a 429 storm), the read that guards a
// write and the write itself still go back to back: both tokens are
// taken before the read. Before, every guarded write waited 200 ms for
// its own token after the read, was late for its window, was busy and
// tried again, for ever: updates and deletes of an API stalled.
func TestGuardedWritesGoThroughASlowRateLimit(t *testing.T) {
	for _, batched := range []bool{false, true} {
		name := "single"
		if batched {
			name = "batch"
		}
		t.Run(name, func(t *testing.T) {
			crm := sim.NewCRM(sim.Faults{})
			srv := httptest.NewServer(crm)
			defer srv.Close()
			res := &httpapi.Resource{Records: "data", Updated: "updated_at", Since: map[string]string{"updated_since": "{since}"},
				SinceFormat: "rfc3339", Lookup: "tandem_id"}
			if batched {
				b := func(p string) *httpapi.BatchEndpoint {
					return &httpapi.BatchEndpoint{Path: p, Body: "records", Results: "results"}
				}
				res.Batch = &httpapi.Batch{Update: b("/contacts/batch"), Delete: b("/contacts/batch_delete")}
			}
			client, err := rest.NewClient(rest.Options{System: "crm", Base: srv.URL + "/v1",
				API: rest.API{RateLimit: "5/s", Burst: 1}})
			if err != nil {
				t.Fatal(err)
			}
			s, err := httpapi.Open("crm", client, &httpapi.Settings{Resources: map[string]*httpapi.Resource{"contacts": res}},
				[]connector.Table{{Entity: "contact", Name: "contacts", Key: "id", KeyGenerated: true, Columns: []string{"name"}}}, nil)
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			var keys []string
			for _, n := range []string{"Ada", "Bea", "Cy"} {
				c, err := crm.Store.Create("contacts", map[string]any{"name": n})
				if err != nil {
					t.Fatal(err)
				}
				keys = append(keys, c.ID)
			}
			pos, err := s.Capture.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Capture.Resume(ctx, pos); err != nil {
				t.Fatal(err)
			}
			// Capture reads the records, so the guard has a feed to look with.
			capture := func() {
				t.Helper()
				b, err := s.Capture.Changes(ctx, 100)
				if err != nil {
					t.Fatal(err)
				}
				if err := s.Capture.Ack(ctx, b); err != nil {
					t.Fatal(err)
				}
			}
			capture()
			var ws []record.Write
			for i, k := range keys {
				ws = append(ws, record.Write{Op: record.Upsert, Key: k, GID: "g" + k, Fields: record.Fields{"name": "v2 " + string(rune('A'+i))}})
			}
			out, err := s.Apply(ctx, "contact", ws)
			if err != nil {
				t.Fatal(err)
			}
			for i, r := range out {
				if r.Err != nil {
					t.Errorf("update of %s: %v", keys[i], r.Err)
				}
			}
			capture() // the updates' echoes
			out, err = s.Apply(ctx, "contact", []record.Write{{Op: record.Delete, Key: keys[0], GID: "g" + keys[0]}})
			if err != nil {
				t.Fatal(err)
			}
			if out[0].Err != nil {
				t.Errorf("delete of %s: %v", keys[0], out[0].Err)
			}
		})
	}
}

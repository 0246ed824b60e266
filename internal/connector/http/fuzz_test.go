package http

import (
	"context"
	"testing"
	"time"

	"github.com/tandemhub/tandem/internal/config"
	"github.com/tandemhub/tandem/internal/connector"
	"github.com/tandemhub/tandem/internal/connector/rest"
	"github.com/tandemhub/tandem/internal/record"
	"github.com/tandemhub/tandem/internal/testenv"
)

// FuzzAnswers: whatever an API answers (any status, any body), the
// connector's reads and writes return results or errors, never a panic.
func FuzzAnswers(f *testing.F) {
	f.Add(200, []byte(`{"data":[{"id":"c1","name":"Ada","updated_at":"2024-05-06T07:08:09.123Z","version":3}],"next_cursor":"c1"}`))
	f.Add(200, []byte(`{"results":[{"id":"c1","name":"Ada","updated_at":"2024-05-06T07:08:09.123Z"},{"error":{"code":"conflict","message":"x"}}]}`))
	f.Add(409, []byte(`{"error":{"code":"conflict","message":"changed"}}`))
	f.Add(200, []byte(`{"data":[{"id":null,"updated_at":7,"deleted":"yes"}],"next_cursor":{}}`))
	f.Add(200, []byte(`[1,"a",null]`))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		base := testenv.Answering(t, status, body)
		c, err := rest.NewClient(rest.Options{System: "crm", Base: base, Backoff: time.Millisecond,
			API: rest.API{Timeout: config.Duration(time.Second), MaxWait: config.Duration(10 * time.Millisecond)}})
		if err != nil {
			t.Fatal(err)
		}
		res := &Resource{Records: "data", Updated: "updated_at", Since: map[string]string{"updated_since": "{since}"},
			SinceFormat: "rfc3339", Lookup: "tandem_id", Paging: &Paging{Style: "token", Token: "cursor", Next: "next_cursor"},
			Deletes: &Deletes{Field: "deleted"}, Condition: &Condition{Field: "if_version", From: "version"},
			Batch: &Batch{Update: &BatchEndpoint{Path: "/contacts/batch", Body: "records", Results: "results"}}}
		s, err := Open("crm", c, &Settings{Resources: map[string]*Resource{"contacts": res}},
			[]connector.Table{{Entity: "contact", Name: "contacts", Key: "id", KeyGenerated: true, Columns: []string{"name"}}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		_, _ = s.Fetch(ctx, "contact", []string{"c1", "c2"})
		_, _ = s.Apply(ctx, "contact", []record.Write{
			{Op: record.Upsert, GID: "g1", Fields: record.Fields{"name": "Ada"}},
			{Op: record.Upsert, Key: "c1", Fields: record.Fields{"name": "Bo"}},
			{Op: record.Delete, Key: "c2"},
		})
		if pos, err := s.Capture.Begin(ctx); err == nil {
			_ = s.Capture.Resume(ctx, pos)
			_, _ = s.Capture.Changes(ctx, 10)
		}
	})
}

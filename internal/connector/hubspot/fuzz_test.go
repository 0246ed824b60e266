package hubspot

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

// FuzzAnswers: whatever HubSpot answers (any status, any body), the
// connector's reads and writes return results or errors, never a panic.
func FuzzAnswers(f *testing.F) {
	f.Add(200, []byte(`{"results":[{"id":"101","properties":{"lastname":"Ada","hs_lastmodifieddate":"2024-05-06T07:08:09.123Z"},"updatedAt":"2024-05-06T07:08:09.123Z"}],"paging":{"next":{"after":"101"}}}`))
	f.Add(207, []byte(`{"status":"COMPLETE","results":[{"id":"101"}],"errors":[{"status":"error","category":"VALIDATION_ERROR","context":{"ids":["102"]}}]}`))
	f.Add(400, []byte(`{"status":"error","message":"Property values were not valid","category":"VALIDATION_ERROR","errors":[{"name":"email"}]}`))
	f.Add(200, []byte(`{"results":[{"id":null,"properties":7,"archived":"yes"}],"paging":{"next":{"after":{}}}}`))
	f.Add(200, []byte(`{"total":"x","results":{}}`))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		base := testenv.Answering(t, status, body)
		c, err := rest.NewClient(rest.Options{System: "hs", Base: base, Backoff: time.Millisecond,
			API: rest.API{Timeout: config.Duration(time.Second), MaxWait: config.Duration(10 * time.Millisecond)}})
		if err != nil {
			t.Fatal(err)
		}
		s := Open("hs", c, Settings{IDProperty: "tandem_id"}, []connector.Table{{Entity: "contact", Name: "contacts", Key: "id", KeyGenerated: true, Columns: []string{"lastname"}}}, nil)
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		_, _, _ = s.Snapshot(ctx, "contact", "", 10)
		_, _ = s.Fetch(ctx, "contact", []string{"101", "102"})
		_, _ = s.Apply(ctx, "contact", []record.Write{
			{Op: record.Upsert, GID: "g1", Fields: record.Fields{"lastname": "Ada"}},
			{Op: record.Upsert, Key: "101", Fields: record.Fields{"lastname": "Bo"}},
			{Op: record.Delete, Key: "102"},
		})
		if pos, err := s.Capture.Begin(ctx); err == nil {
			_ = s.Capture.Resume(ctx, pos)
			_, _ = s.Capture.Changes(ctx, 10)
		}
	})
}

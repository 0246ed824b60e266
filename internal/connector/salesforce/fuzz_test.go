package salesforce

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

// FuzzAnswers: whatever Salesforce answers (any status, any body), the
// connector's reads and writes return results or errors, never a panic.
func FuzzAnswers(f *testing.F) {
	f.Add(200, []byte(`{"totalSize":1,"done":true,"records":[{"Id":"003A","LastName":"Ada","SystemModstamp":"2024-05-06T07:08:09.000+0000"}]}`))
	f.Add(200, []byte(`[{"id":"003A","success":true,"errors":[]},{"success":false,"errors":[{"statusCode":"REQUIRED_FIELD_MISSING","fields":["LastName"]}]}]`))
	f.Add(400, []byte(`[{"errorCode":"REQUEST_LIMIT_EXCEEDED","message":"TotalRequests Limit exceeded."}]`))
	f.Add(200, []byte(`{"records":[{"Id":null,"attributes":7}],"nextRecordsUrl":"/x"}`))
	f.Add(200, []byte(`{"ids":[1,{}],"deletedRecords":[{"id":3}]}`))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		base := testenv.Answering(t, status, body)
		c, err := rest.NewClient(rest.Options{System: "sf", Base: base, Decode: decodeError, Backoff: time.Millisecond,
			API: rest.API{Timeout: config.Duration(time.Second), MaxWait: config.Duration(10 * time.Millisecond)}})
		if err != nil {
			t.Fatal(err)
		}
		s := Open("sf", c, Settings{}, []connector.Table{{Entity: "contact", Name: "Contact", Key: "Id", KeyGenerated: true, Columns: []string{"LastName"}}}, nil)
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		_, _, _ = s.Snapshot(ctx, "contact", "", 10)
		_, _ = s.Fetch(ctx, "contact", []string{"003A", "003B"})
		_, _ = s.Apply(ctx, "contact", []record.Write{
			{Op: record.Upsert, GID: "g1", Fields: record.Fields{"LastName": "Ada"}},
			{Op: record.Upsert, Key: "003A", Fields: record.Fields{"LastName": "Bo"}},
			{Op: record.Delete, Key: "003B"},
		})
		if pos, err := s.Capture.Begin(ctx); err == nil {
			_ = s.Capture.Resume(ctx, pos)
			_, _ = s.Capture.Changes(ctx, 10)
		}
	})
}

package client

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"

	_ "github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/tandemhub/tandem/internal/broker"
	"github.com/tandemhub/tandem/internal/broker/brokertest"
	"github.com/tandemhub/tandem/internal/contract"
	"github.com/tandemhub/tandem/internal/record"
	"github.com/tandemhub/tandem/internal/testenv"
)

// Every dialect keeps the outbox, links and inbox tables working: a
// change published and relayed, a create applied once however often it
// comes, and found again by its global id.
func TestQueueClientDialects(t *testing.T) {
	for _, d := range []struct {
		dialect Dialect
		driver  string
		dsn     func(t *testing.T) string
	}{
		{Postgres, "pgx", func(t *testing.T) string { return testenv.Postgres(t) }},
		{MySQL, "mysql", func(t *testing.T) string { return testenv.MySQL(t) }},
		{SQLite, "sqlite", func(t *testing.T) string { return "file:" + filepath.Join(t.TempDir(), "app.db") }},
	} {
		t.Run(d.dialect.String(), func(t *testing.T) {
			db, err := sql.Open(d.driver, d.dsn(t))
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			ctx := context.Background()
			c, err := New(Options{System: "shop", Broker: "nats", URL: "nats://unused", DB: db, Dialect: d.dialect})
			if err != nil {
				t.Fatal(err)
			}
			f := brokertest.New()
			c.dial = func(context.Context) (broker.Broker, error) { return f, nil }
			for range 2 {
				if err := c.Setup(ctx); err != nil {
					t.Fatal(err)
				}
			}
			tx, err := db.BeginTx(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := c.Publish(ctx, tx, Change{Entity: "customer", Key: "7", Fields: map[string]any{"name": "Ann"}}); err != nil {
				t.Fatal(err)
			}
			if err := tx.Commit(); err != nil {
				t.Fatal(err)
			}
			b, _ := c.broker(ctx)
			if n, err := c.relayOnce(ctx, b); err != nil || n != 1 {
				t.Fatalf("relay: %d rows, %v", n, err)
			}
			if n, err := c.relayOnce(ctx, b); err != nil || n != 0 {
				t.Fatalf("relay again: %d rows, %v", n, err)
			}
			msgs := f.Published("tandem.shop.changes")
			if len(msgs) != 1 {
				t.Fatalf("%d changes sent", len(msgs))
			}
			if m, err := contract.DecodeChange(msgs[0].Body); err != nil || m.Key != "7" || m.Version < 1 {
				t.Fatalf("change %+v %v", m, err)
			}

			calls := 0
			h := func(_ context.Context, _ *sql.Tx, in Inbound) (Result, error) {
				calls++
				if in.Key != "" {
					return Applied(), nil
				}
				return Created("k1"), nil
			}
			deliver := func(id string) {
				t.Helper()
				m := contract.Change{ID: id, System: "shop", Entity: "customer", Op: record.Upsert, GID: "G1", Fields: record.Fields{"name": "Bo"}}
				body, _ := m.Append(nil)
				if err := c.applyOnce(ctx, broker.NewTestDelivery(id, body, nil), h, 1); err != nil {
					t.Fatal(err)
				}
			}
			deliver("in-1")
			deliver("in-1")
			deliver("in-2")
			if calls != 2 {
				t.Fatalf("handler called %d times, want 2 (in-1 once, in-2 once)", calls)
			}
			if n, err := c.relayOnce(ctx, b); err != nil || n != 2 {
				t.Fatalf("relay results: %d rows, %v", n, err)
			}
			var got []string
			for _, m := range f.Published("tandem.shop.reports") {
				r, err := contract.DecodeResult(m.Body)
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, fmt.Sprintf("%s:%s:%s", r.Change, r.Outcome, r.Key))
			}
			if fmt.Sprint(got) != "[in-1:created:k1 in-2:applied:k1]" {
				t.Fatalf("results %v", got)
			}
			c.pruneInbox(ctx)
		})
	}
}

package queue

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/tandemhub/tandem/internal/broker"
	"github.com/tandemhub/tandem/internal/config"
	"github.com/tandemhub/tandem/internal/connector"
	"github.com/tandemhub/tandem/internal/contract"
	"github.com/tandemhub/tandem/internal/record"
	"github.com/tandemhub/tandem/internal/testenv"
)

// realSystem opens a queue system on a real broker with fresh queues, and
// a second connection that plays the application's side. Both are
// closed, and the queues deleted, when the test ends.
func realSystem(tb testing.TB, kind string) (*System, broker.Broker, Settings) {
	tb.Helper()
	var url string
	if kind == "rabbitmq" {
		url = testenv.RabbitMQ(tb)
	} else {
		url = testenv.NATS(tb)
	}
	name := testenv.Name()
	q := &Settings{Broker: kind, URL: url, Outbound: name + ".changes", Inbound: name + ".inbound",
		Reports: name + ".reports", Stream: strings.ToUpper(name), Prefetch: 2000}
	ctx := context.Background()
	s, err := New(ctx, "shop", &config.System{Type: "queue", Blocks: map[string]any{"queue": q}, Poll: config.Duration(20 * time.Millisecond)}, tables, nil)
	if err != nil {
		tb.Fatal(err)
	}
	app, err := broker.Dial(ctx, broker.Options{Kind: kind, URL: url, Stream: q.Stream, Name: "app"})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		_ = s.Close(ctx)
		if err := app.Remove(ctx, q.Outbound, q.Inbound, q.Reports); err != nil {
			tb.Error(err)
		}
		_ = app.Close()
	})
	return s, app, q.Resolved("shop")
}

func changeMsgs(n, from int) []broker.Message {
	out := make([]broker.Message, n)
	for i := range out {
		c := contract.Change{ID: ulid.Make().String(), System: "shop", Entity: "customer", Op: record.Upsert,
			Key: fmt.Sprint(from + i), Version: int64(from + i + 1), At: time.Now(),
			Fields: record.Fields{"name": fmt.Sprintf("Customer %d", from+i), "email": fmt.Sprintf("c%d@example.com", from+i), "account_id": "17"}}
		b, _ := c.Append(nil)
		out[i] = broker.Message{ID: c.ID, Body: b}
	}
	return out
}

func TestQueueOnRealBrokers(t *testing.T) {
	for _, kind := range []string{"rabbitmq", "nats"} {
		t.Run(kind, func(t *testing.T) {
			s, app, q := realSystem(t, kind)
			ctx := context.Background()
			msgs := changeMsgs(30, 0)
			if err := app.Publish(ctx, q.Outbound, msgs); err != nil {
				t.Fatal(err)
			}
			// The application's relay sends one twice (a lost confirm).
			if err := app.Publish(ctx, q.Outbound, msgs[29:]); err != nil {
				t.Fatal(err)
			}
			var got []record.Change
			deadline := time.Now().Add(10 * time.Second)
			for len(got) < 30 && time.Now().Before(deadline) {
				b, err := s.Changes(ctx, 10)
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, b.Changes...)
				if err := s.Ack(ctx, b); err != nil {
					t.Fatal(err)
				}
			}
			if len(got) != 30 {
				t.Fatalf("got %d changes, want 30", len(got))
			}
			for i, c := range got {
				if c.Key != fmt.Sprint(i) {
					t.Fatalf("change %d is of key %s: out of order", i, c.Key)
				}
			}
			time.Sleep(100 * time.Millisecond)
			if b, _ := s.Changes(ctx, 10); len(b.Changes) != 0 {
				t.Fatalf("after all: %d more changes (a copy?)", len(b.Changes))
			}

			res, err := s.Apply(ctx, "contact", []record.Write{{Op: record.Upsert, GID: "G1", Fields: record.Fields{"name": "Ann"}}})
			if err != nil || len(res) != 1 {
				t.Fatalf("Apply: %v %v", res, err)
			}
			c, err := app.Consume(ctx, q.Inbound, "app", 10)
			if err != nil {
				t.Fatal(err)
			}
			ds, err := c.Fetch(ctx, 10, 5*time.Second)
			if err != nil || len(ds) != 1 {
				t.Fatalf("inbound: %d messages, %v", len(ds), err)
			}
			in, err := contract.DecodeChange(ds[0].Body)
			if err != nil || in.GID != "G1" || in.Entity != "customer" {
				t.Fatalf("inbound %+v %v", in, err)
			}
			if err := c.Ack(ds); err != nil {
				t.Fatal(err)
			}
			r := contract.Result{ID: "r-" + in.ID, System: "shop", Change: in.ID, Entity: "customer", GID: "G1",
				Op: record.Upsert, Key: "41", Outcome: contract.Created}
			if err := app.Publish(ctx, q.Reports, []broker.Message{{ID: r.ID, Body: r.Append(nil)}}); err != nil {
				t.Fatal(err)
			}
			var rb connector.ReportBatch
			for deadline := time.Now().Add(5 * time.Second); len(rb.Reports) == 0 && time.Now().Before(deadline); {
				if rb, err = s.Reports(ctx, 10); err != nil {
					t.Fatal(err)
				}
			}
			if len(rb.Reports) != 1 || rb.Reports[0].Kind != connector.Created || rb.Reports[0].Key != "41" {
				t.Fatalf("reports %+v", rb.Reports)
			}
			if err := s.AckReports(ctx, rb); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// BenchmarkCapture measures changes taken from a system's outbound queue
// per second: fetched, decoded, validated and acknowledged in batches of
// 500, as the hub's capture loop does (without the hub's store).
func BenchmarkCapture(b *testing.B) {
	for _, kind := range []string{"rabbitmq", "nats"} {
		b.Run(kind, func(b *testing.B) {
			s, app, q := realSystem(b, kind)
			ctx := context.Background()
			const chunk = 1000
			for i := 0; i < b.N; i += chunk {
				if err := app.Publish(ctx, q.Outbound, changeMsgs(min(chunk, b.N-i), i)); err != nil {
					b.Fatal(err)
				}
			}
			b.ResetTimer()
			start := time.Now()
			n := 0
			for n < b.N {
				bt, err := s.Changes(ctx, 500)
				if err != nil {
					b.Fatal(err)
				}
				n += len(bt.Changes)
				if err := s.Ack(ctx, bt); err != nil {
					b.Fatal(err)
				}
				if time.Since(start) > 2*time.Minute {
					b.Fatalf("only %d of %d changes arrived", n, b.N)
				}
			}
			b.ReportMetric(float64(n)/time.Since(start).Seconds(), "msgs/s")
		})
	}
}

// BenchmarkApply measures writes sent to a system's inbound queue per
// second: encoded and published with broker confirms, 500 per call, as a
// delivery worker sends them.
func BenchmarkApply(b *testing.B) {
	for _, kind := range []string{"rabbitmq", "nats"} {
		b.Run(kind, func(b *testing.B) {
			s, _, _ := realSystem(b, kind)
			ctx := context.Background()
			writes := make([]record.Write, 500)
			for i := range writes {
				writes[i] = record.Write{Op: record.Upsert, GID: ulid.Make().String(), Key: fmt.Sprint(i),
					Fields: record.Fields{"name": fmt.Sprintf("Customer %d", i), "email": fmt.Sprintf("c%d@example.com", i), "account_id": "17"}}
			}
			b.ResetTimer()
			start := time.Now()
			for i := 0; i < b.N; i += len(writes) {
				if _, err := s.Apply(ctx, "contact", writes[:min(len(writes), b.N-i)]); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
		})
	}
}

package broker

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tandemhub/tandem/internal/testenv"
)

// target is one real broker the tests run against.
type target struct {
	kind string
	url  func(t *testing.T) string
}

var targets = []target{
	{"rabbitmq", func(t *testing.T) string { return testenv.RabbitMQ(t) }},
	{"nats", func(t *testing.T) string { return testenv.NATS(t) }},
}

// open dials kind at rawURL with a fresh stream; queues are removed when the test ends.
func open(t *testing.T, kind, rawURL, stream string, queues ...string) Broker {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	b, err := Dial(ctx, Options{Kind: kind, URL: rawURL, Stream: stream, Name: t.Name()})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Declare(ctx, queues...); err != nil {
		t.Fatal(err)
	}
	return b
}

func cleanup(t *testing.T, kind, rawURL, stream string, queues ...string) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		b, err := Dial(ctx, Options{Kind: kind, URL: rawURL, Stream: stream})
		if err != nil {
			t.Error(err)
			return
		}
		defer b.Close()
		if err := b.Remove(ctx, queues...); err != nil {
			t.Error(err)
		}
	})
}

func msgs(prefix string, from, to int) []Message {
	var out []Message
	for i := from; i < to; i++ {
		id := fmt.Sprintf("%s-%d", prefix, i)
		out = append(out, Message{ID: id, Body: []byte(`"` + id + `"`)})
	}
	return out
}

// drain fetches until n messages arrived or 10s passed.
func drain(t *testing.T, c Consumer, n int) []Delivery {
	t.Helper()
	ctx := context.Background()
	var got []Delivery
	deadline := time.Now().Add(10 * time.Second)
	for len(got) < n && time.Now().Before(deadline) {
		ds, err := c.Fetch(ctx, n-len(got), 200*time.Millisecond)
		if err != nil && !errors.Is(err, ErrUnavailable) {
			t.Fatal(err)
		}
		got = append(got, ds...)
	}
	if len(got) != n {
		t.Fatalf("received %d messages, want %d", len(got), n)
	}
	return got
}

// drainDistinct is drain counting each message once: a second delivery
// of one already received is left out (acknowledging the first
// acknowledges the message).
func drainDistinct(t *testing.T, c Consumer, n int) []Delivery {
	t.Helper()
	ctx := context.Background()
	var got []Delivery
	seen := map[string]bool{}
	deadline := time.Now().Add(10 * time.Second)
	for len(got) < n && time.Now().Before(deadline) {
		ds, err := c.Fetch(ctx, n-len(got), 200*time.Millisecond)
		if err != nil && !errors.Is(err, ErrUnavailable) {
			t.Fatal(err)
		}
		for _, d := range ds {
			if !seen[d.ID] {
				seen[d.ID] = true
				got = append(got, d)
			}
		}
	}
	if len(got) != n {
		t.Fatalf("received %d distinct messages, want %d", len(got), n)
	}
	return got
}

func ids(ms []Message) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.ID
	}
	return out
}

func bodies(ds []Delivery) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = strings.Trim(string(d.Body), `"`)
	}
	return out
}

func TestPublishConsumeAck(t *testing.T) {
	for _, tg := range targets {
		t.Run(tg.kind, func(t *testing.T) {
			u := tg.url(t)
			name := testenv.Name()
			q, stream := "tandem."+name+".changes", strings.ToUpper(name)
			cleanup(t, tg.kind, u, stream, q)
			b := open(t, tg.kind, u, stream, q)
			defer b.Close()
			ctx := context.Background()
			if err := b.Publish(ctx, q, msgs("m", 0, 50)); err != nil {
				t.Fatal(err)
			}
			c, err := b.Consume(ctx, q, "tandem-"+name, 20)
			if err != nil {
				t.Fatal(err)
			}
			// Prefetch bounds what is handed over before an ack.
			got := drain(t, c, 20)
			if more, _ := c.Fetch(ctx, 10, 300*time.Millisecond); len(more) != 0 {
				t.Fatalf("got %d messages beyond the prefetch of 20", len(more))
			}
			if want := fmt.Sprint(ids(msgs("m", 0, 20))); fmt.Sprint(bodies(got)) != want {
				t.Fatalf("got %v, want %v in order", bodies(got), want)
			}
			if got[0].ID != "m-0" || got[0].Redelivered {
				t.Errorf("first delivery: id %q redelivered %v", got[0].ID, got[0].Redelivered)
			}
			if err := c.Ack(got[:10]); err != nil {
				t.Fatal(err)
			}
			// The other ten are not acknowledged: a new consumer gets them again.
			if err := c.Close(); err != nil {
				t.Fatal(err)
			}
			if tg.kind == "nats" {
				waitAckExpiry(t, b, q, name)
			}
			c2, err := b.Consume(ctx, q, "tandem-"+name, 100)
			if err != nil {
				t.Fatal(err)
			}
			defer c2.Close()
			var rest []Delivery
			if tg.kind == "nats" {
				// The short ack wait may end again while this drains (a
				// slow machine): a message then comes twice, as JetStream
				// may always give one; receivers drop the second by version.
				rest = drainDistinct(t, c2, 40)
			} else {
				rest = drain(t, c2, 40)
			}
			got2, want2 := bodies(rest), ids(msgs("m", 10, 50))
			if tg.kind == "nats" {
				// JetStream gives unacknowledged messages again in the
				// order their ack waits end; receivers order by version.
				slices.Sort(got2)
				slices.Sort(want2)
			}
			if fmt.Sprint(got2) != fmt.Sprint(want2) {
				t.Fatalf("after reopening got %v, want %v", got2, want2)
			}
			redelivered := 0
			for _, d := range rest {
				if d.Redelivered {
					redelivered++
				}
			}
			if redelivered < 10 {
				t.Errorf("%d messages marked redelivered, want at least the 10 given before", redelivered)
			}
			if err := c2.Ack(rest); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// waitAckExpiry makes JetStream give unacknowledged messages of the
// durable consumer again now, instead of after the ack wait: it is
// recreated with a short ack wait by a second connection.
func waitAckExpiry(t *testing.T, b Broker, subject, name string) {
	t.Helper()
	nb := b.(*natsBroker)
	ctx := context.Background()
	cons, err := nb.js.Consumer(ctx, nb.stream, durableName("tandem-"+name))
	if err != nil {
		t.Fatal(err)
	}
	cfg := cons.CachedInfo().Config
	cfg.AckWait = 100 * time.Millisecond
	if _, err := nb.js.UpdateConsumer(ctx, nb.stream, cfg); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
}

func TestUnroutable(t *testing.T) {
	for _, tg := range targets {
		t.Run(tg.kind, func(t *testing.T) {
			u := tg.url(t)
			name := testenv.Name()
			stream := strings.ToUpper(name)
			cleanup(t, tg.kind, u, stream, "tandem."+name+".a")
			b := open(t, tg.kind, u, stream, "tandem."+name+".a")
			defer b.Close()
			err := b.Publish(context.Background(), "tandem."+name+".nowhere", msgs("x", 0, 2))
			if err == nil || !strings.Contains(err.Error(), "setup") {
				t.Fatalf("publish to a missing queue: err = %v", err)
			}
		})
	}
}

// An outage between tandem and the broker: publishing and receiving fail
// with ErrUnavailable while it lasts, and after it nothing is lost.
func TestOutage(t *testing.T) {
	for _, tg := range targets {
		t.Run(tg.kind, func(t *testing.T) {
			u := tg.url(t)
			name := testenv.Name()
			q, stream := "tandem."+name+".changes", strings.ToUpper(name)
			cleanup(t, tg.kind, u, stream, q)
			parsed, err := url.Parse(u)
			if err != nil {
				t.Fatal(err)
			}
			proxy := testenv.NewProxy(t, parsed.Host)
			parsed.Host = proxy.Addr()
			b := open(t, tg.kind, parsed.String(), stream, q)
			defer b.Close()
			ctx := context.Background()
			c, err := b.Consume(ctx, q, "tandem-"+name, 100)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if err := b.Publish(ctx, q, msgs("m", 0, 30)); err != nil {
				t.Fatal(err)
			}
			first := drain(t, c, 30)
			if err := c.Ack(first[:20]); err != nil {
				t.Fatal(err)
			}

			t0 := time.Now()
			proxy.Cut()
			var pubErr error
			eventually(t, 10*time.Second, func() error {
				pubErr = b.Publish(ctx, q, msgs("m", 30, 31))
				if pubErr == nil {
					return errors.New("publish still succeeds")
				}
				return nil
			})
			if !errors.Is(pubErr, ErrUnavailable) {
				t.Fatalf("publish during the outage: %v, want ErrUnavailable", pubErr)
			}
			eventually(t, 10*time.Second, func() error {
				_, err := c.Fetch(ctx, 10, 0)
				if err == nil {
					return errors.New("fetch during the outage still succeeds")
				}
				if !errors.Is(err, ErrUnavailable) {
					return fmt.Errorf("fetch during the outage: %w, want ErrUnavailable", err)
				}
				return nil
			})
			// Acknowledging what arrived before the outage does not fail
			// for good; the broker gives those messages again anyway.
			_ = c.Ack(first[20:25])
			wctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
			if err := b.Wait(wctx); !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("Wait during the outage: %v", err)
			}
			cancel()

			t.Logf("outage noticed after %v", time.Since(t0))
			proxy.Restore()
			wctx, cancel = context.WithTimeout(ctx, 20*time.Second)
			defer cancel()
			if err := b.Wait(wctx); err != nil {
				t.Fatalf("Wait after the outage: %v", err)
			}
			t.Logf("reconnected after %v", time.Since(t0))
			// The failed publish is sent again under the same id, as callers do.
			eventually(t, 10*time.Second, func() error { return b.Publish(ctx, q, msgs("m", 30, 40)) })
			// Unacknowledged messages come back; for JetStream after the
			// ack wait, shortened here so the test need not wait 30s.
			want := []string{"m-25", "m-26", "m-27", "m-28", "m-29"}
			if tg.kind == "rabbitmq" {
				want = append(want, "m-20", "m-21", "m-22", "m-23", "m-24") // their acks were skipped
			} else {
				shortenAckWait(t, b, name)
			}
			for i := 30; i < 40; i++ {
				want = append(want, fmt.Sprintf("m-%d", i))
			}
			after := map[string]int{}
			deadline := time.Now().Add(15 * time.Second)
			for time.Now().Before(deadline) && !hasAll(after, want) {
				ds, err := c.Fetch(ctx, 100, 200*time.Millisecond)
				if err != nil {
					continue
				}
				for _, d := range ds {
					after[strings.Trim(string(d.Body), `"`)]++
				}
				if err := c.Ack(ds); err != nil {
					t.Logf("ack: %v", err)
				}
			}
			t.Logf("all back after %v", time.Since(t0))
			if !hasAll(after, want) {
				t.Fatalf("after the outage got %v, want at least %v", after, want)
			}
			for _, d := range first[:20] {
				if id := strings.Trim(string(d.Body), `"`); after[id] > 0 {
					t.Errorf("%s was acknowledged before the outage and came again", id)
				}
			}
			if tg.kind == "nats" && after["m-30"] > 1 {
				t.Errorf("m-30 stored %d times: JetStream should drop the second publish of its id", after["m-30"])
			}
		})
	}
}

func hasAll(got map[string]int, want []string) bool {
	for _, w := range want {
		if got[w] == 0 {
			return false
		}
	}
	return true
}

func shortenAckWait(t *testing.T, b Broker, name string) {
	t.Helper()
	nb := b.(*natsBroker)
	ctx := context.Background()
	cons, err := nb.js.Consumer(ctx, nb.stream, durableName("tandem-"+name))
	if err != nil {
		t.Fatal(err)
	}
	cfg := cons.CachedInfo().Config
	cfg.AckWait = 200 * time.Millisecond
	if _, err := nb.js.UpdateConsumer(ctx, nb.stream, cfg); err != nil {
		t.Fatal(err)
	}
}

func eventually(t *testing.T, limit time.Duration, fn func() error) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		err := fn()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %v", limit, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestSubjectMatches(t *testing.T) {
	for _, tc := range []struct {
		pattern, subject string
		want             bool
	}{
		{"a.b", "a.b", true}, {"a.*", "a.b", true}, {"a.>", "a.b.c", true}, {"a.>", "a", false},
		{"a.*", "a.b.c", false}, {"a.b", "a.c", false}, {">", "x", true},
	} {
		if got := subjectMatches(tc.pattern, tc.subject); got != tc.want {
			t.Errorf("subjectMatches(%q, %q) = %v", tc.pattern, tc.subject, got)
		}
	}
}

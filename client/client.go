package client

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/tandemhub/tandem/internal/broker"
	"github.com/tandemhub/tandem/internal/connector/queue"
)

// Options configure a Client. System, Broker, URL and DB are required.
type Options struct {
	// System is the application's system name in tandem.yaml.
	System string
	// Broker is "rabbitmq" or "nats"; URL is the broker's address.
	Broker, URL string
	// Outbound, Inbound and Reports are the queues (RabbitMQ) or subjects
	// (NATS) of the system, as in tandem.yaml. Defaults:
	// tandem.SYSTEM.changes, tandem.SYSTEM.inbound, tandem.SYSTEM.reports.
	Outbound, Inbound, Reports string
	// Stream is the JetStream stream holding the subjects (nats).
	// Default TANDEM_SYSTEM, as tandem uses.
	Stream string
	// Consumer names the durable consumer of the inbound queue.
	// Default SYSTEM-app.
	Consumer string

	// DB is the application's database, which holds the client's tables.
	DB *sql.DB
	// Dialect is DB's SQL dialect. Default Postgres.
	Dialect Dialect
	// TablePrefix starts the names of the client's tables. Default
	// "tandem_client_": tandem_client_outbox, tandem_client_links,
	// tandem_client_inbox.
	TablePrefix string

	// Prefetch bounds the inbound messages received ahead of the one
	// being applied. Default 100.
	Prefetch int
	// RelayBatch is the most outbox rows sent in one round. Default 500.
	RelayBatch int
	// RelayPoll is how often Relay looks at the outbox when it found it
	// empty. Default 100ms.
	RelayPoll time.Duration
	// MaxAttempts is how many times a Handler that returns an error is
	// tried with one message before the message is reported failed with
	// that error. Default 10.
	MaxAttempts int
	// InboxRetention is how long the ids of applied messages are kept to
	// recognise copies. Default 7 days.
	InboxRetention time.Duration
	// Log receives the client's events. Default: discarded.
	Log *slog.Logger
}

// Client speaks tandem's message contract for one system.
type Client struct {
	o    Options
	q    queue.Settings // the system's queues, defaults filled in
	sql  statements
	log  *slog.Logger
	dial func(ctx context.Context) (broker.Broker, error)

	mu sync.Mutex
	b  broker.Broker
}

// New checks o and makes a Client. It does not connect to the broker:
// Relay and Consume do, and keep trying while it is unreachable.
func New(o Options) (*Client, error) {
	var problems []string
	if o.System == "" {
		problems = append(problems, "System is empty; write the system's name in tandem.yaml")
	}
	if o.Broker != "rabbitmq" && o.Broker != "nats" {
		problems = append(problems, fmt.Sprintf("Broker %q is neither rabbitmq nor nats", o.Broker))
	}
	if o.URL == "" {
		problems = append(problems, "URL is empty; write the broker's address")
	}
	if o.DB == nil {
		problems = append(problems, "DB is nil; the client keeps its outbox in the application's database")
	}
	if o.Dialect > SQLite {
		problems = append(problems, fmt.Sprintf("Dialect %d is unknown", o.Dialect))
	}
	if o.TablePrefix == "" {
		o.TablePrefix = "tandem_client_"
	}
	if strings.Trim(o.TablePrefix, "abcdefghijklmnopqrstuvwxyz0123456789_") != "" {
		problems = append(problems, fmt.Sprintf("TablePrefix %q may hold only lower-case letters, digits and _", o.TablePrefix))
	}
	if len(problems) > 0 {
		return nil, errors.New("client: " + strings.Join(problems, "; "))
	}
	q := queue.Settings{Broker: o.Broker, URL: o.URL, Outbound: o.Outbound, Inbound: o.Inbound,
		Reports: o.Reports, Stream: o.Stream}.Resolved(o.System)
	if o.Consumer == "" {
		o.Consumer = o.System + "-app"
	}
	if o.Prefetch <= 0 {
		o.Prefetch = 100
	}
	if o.RelayBatch <= 0 {
		o.RelayBatch = 500
	}
	if o.RelayPoll <= 0 {
		o.RelayPoll = 100 * time.Millisecond
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 10
	}
	if o.InboxRetention <= 0 {
		o.InboxRetention = 7 * 24 * time.Hour
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	c := &Client{o: o, q: q, sql: newStatements(o.Dialect, o.TablePrefix), log: o.Log}
	c.dial = func(ctx context.Context) (broker.Broker, error) {
		return broker.Dial(ctx, broker.Options{Kind: q.Broker, URL: q.URL, Stream: q.Stream,
			Name: o.System + " (tandem client)", Log: o.Log})
	}
	return c, nil
}

// broker returns the broker connection, connecting (and declaring the
// system's queues) first if need be; it keeps trying until ctx ends.
func (c *Client) broker(ctx context.Context) (broker.Broker, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.b != nil {
		return c.b, nil
	}
	for n := 0; ; n++ {
		b, err := c.dial(ctx)
		if err == nil {
			if err = b.Declare(ctx, c.q.Outbound, c.q.Inbound, c.q.Reports); err == nil {
				c.b = b
				return b, nil
			}
			_ = b.Close()
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		lvl := slog.LevelDebug
		if n == 0 || n%20 == 19 {
			lvl = slog.LevelWarn
		}
		c.log.Log(ctx, lvl, "cannot reach the message broker; will retry", "err", err)
		if !pause(ctx, retryDelay(n)) {
			return nil, ctx.Err()
		}
	}
}

// Close disconnects from the broker. Run Relay and Consume with a
// context that ends before calling it.
func (c *Client) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.b == nil {
		return nil
	}
	err := c.b.Close()
	c.b = nil
	return err
}

// retryDelay is the pause before retry n (from 0): 100ms doubling to 10s.
func retryDelay(n int) time.Duration {
	return min(100*time.Millisecond<<min(n, 7), 10*time.Second)
}

// pause waits d or until ctx ends; it reports whether d passed.
func pause(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

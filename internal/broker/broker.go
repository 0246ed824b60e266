package broker

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/tandemhub/tandem/internal/backoff"

	"github.com/tandemhub/tandem/internal/secret"
)

// ErrUnavailable wraps every failure caused by the broker being
// unreachable: retrying later is the cure.
var ErrUnavailable = errors.New("message broker unreachable")

// ErrClosed is returned by a Broker after Close.
var ErrClosed = errors.New("broker connection closed")

// Message is one message to publish.
type Message struct {
	// ID identifies the message; the broker (JetStream) and receivers
	// drop copies with an ID they have seen.
	ID   string
	Body []byte
}

// Delivery is one received message, not yet acknowledged.
type Delivery struct {
	// ID is the transport's message id (AMQP message-id, JetStream
	// Nats-Msg-Id), if the publisher set one.
	ID   string
	Body []byte
	// Redelivered says the broker gave this message before.
	Redelivered bool
	token       any // what Ack needs, known to the implementation
}

// Broker is a connection to one message broker.
type Broker interface {
	// Declare makes sure queues (RabbitMQ queues; subjects of the
	// stream, for NATS) exist and are durable, and keeps them declared
	// across reconnections. It is idempotent.
	Declare(ctx context.Context, queues ...string) error
	// Publish sends msgs to queue in order and returns once the broker
	// has confirmed every one. An error means any of them may or may
	// not have arrived: publish them again, under the same IDs.
	Publish(ctx context.Context, queue string, msgs []Message) error
	// Consume starts receiving from queue as the durable consumer name,
	// with at most prefetch messages unacknowledged.
	Consume(ctx context.Context, queue, name string, prefetch int) (Consumer, error)
	// Wait blocks until the broker is reachable, or ctx ends.
	Wait(ctx context.Context) error
	// Remove deletes queues (RabbitMQ) or the whole stream (NATS) with
	// their messages.
	Remove(ctx context.Context, queues ...string) error
	Close() error
}

// Consumer receives from one queue.
type Consumer interface {
	// Fetch returns up to max received messages, waiting up to wait for
	// the first one; none is not an error.
	Fetch(ctx context.Context, max int, wait time.Duration) ([]Delivery, error)
	// Ack acknowledges deliveries: the broker forgets them.
	Ack(ds []Delivery) error
	Close() error
}

// Options say how to reach a broker.
type Options struct {
	// Kind is "rabbitmq" or "nats".
	Kind string
	// URL is the broker's address: amqp://…, or nats://… (several
	// separated by commas).
	URL string
	// Stream is the JetStream stream holding the subjects (nats).
	Stream string
	// Name names the connection in the broker's management views.
	Name string
	// Log receives connection events; nil discards them.
	Log *slog.Logger
	// TLS, when set, secures the connection (amqps:// or tls:// then).
	TLS *tls.Config
}

// Dial connects to a broker. The first connection must succeed (within
// ctx, or 10 seconds); after that the Broker reconnects by itself.
func Dial(ctx context.Context, o Options) (Broker, error) {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	switch o.Kind {
	case "rabbitmq":
		return dialRabbit(ctx, o)
	case "nats":
		return dialNATS(ctx, o)
	}
	return nil, fmt.Errorf("unknown broker %q; use rabbitmq or nats", o.Kind)
}

func unavailable(what string, err error) error {
	if err == nil {
		return fmt.Errorf("%s: %w", what, ErrUnavailable)
	}
	return fmt.Errorf("%s: %w: %w", what, err, ErrUnavailable)
}

// reconnectDelay is the pause before reconnection attempt n (from 0):
// 100ms doubling to 5s.
func reconnectDelay(n int) time.Duration {
	return backoff.Policy{Base: 100 * time.Millisecond, Max: 5 * time.Second}.Delay(n + 1)
}

// sleep waits d, or until done is closed; it reports whether d passed.
func sleep(d time.Duration, done <-chan struct{}) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-done:
		return false
	}
}

// redact hides the password of a URL for messages and logs.
func redact(raw string) string { return secret.DSN(raw) }

// NewTestDelivery makes a Delivery carrying token, for fake brokers in
// tests of packages that consume.
func NewTestDelivery(id string, body []byte, token any) Delivery {
	return Delivery{ID: id, Body: body, token: token}
}

// TestToken is the token of a Delivery made by NewTestDelivery.
func TestToken(d Delivery) any { return d.token }

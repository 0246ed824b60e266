package broker

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

func (b *natsBroker) Consume(ctx context.Context, subject, name string, prefetch int) (Consumer, error) {
	if err := b.check("consume from " + subject); err != nil {
		return nil, err
	}
	prefetch = max(prefetch, 1)
	c := &natsConsumer{b: b, subject: subject, in: make(chan jetstream.Msg, prefetch), stop: make(chan struct{}),
		cfg: jetstream.ConsumerConfig{Durable: durableName(name), FilterSubject: subject,
			AckPolicy: jetstream.AckExplicitPolicy, AckWait: ackWait, MaxAckPending: prefetch,
			DeliverPolicy: jetstream.DeliverAllPolicy, MaxDeliver: -1}}
	it, err := c.open(ctx)
	if err != nil {
		return nil, err
	}
	b.mu.Lock()
	b.consumers = append(b.consumers, c)
	b.mu.Unlock()
	c.wg.Add(1)
	go c.run(it)
	return c, nil
}

// durableName makes a JetStream consumer name of name (no dots, blanks or wildcards).
func durableName(name string) string {
	return strings.Map(func(r rune) rune {
		if strings.ContainsRune(". \t\r\n*>/\\", r) {
			return '_'
		}
		return r
	}, name)
}

// natsConsumer pulls from a durable consumer into a buffer that Fetch
// drains.
type natsConsumer struct {
	b       *natsBroker
	subject string
	cfg     jetstream.ConsumerConfig
	in      chan jetstream.Msg
	stop    chan struct{}
	once    sync.Once
	wg      sync.WaitGroup

	mu sync.Mutex
	it jetstream.MessagesContext
}

func (c *natsConsumer) open(ctx context.Context) (jetstream.MessagesContext, error) {
	cons, err := c.b.js.CreateOrUpdateConsumer(ctx, c.b.stream, c.cfg)
	if err != nil {
		return nil, c.b.streamErr(fmt.Errorf("consumer %s on %s: %w", c.cfg.Durable, c.subject, err))
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(min(c.cfg.MaxAckPending, 1000)))
	if err != nil {
		return nil, fmt.Errorf("consume from %s: %w", c.subject, err)
	}
	c.mu.Lock()
	c.it = it
	c.mu.Unlock()
	return it, nil
}

// run moves messages into the buffer until halted, opening the consumer
// again if the server ends it (the stream was deleted and made again, say).
func (c *natsConsumer) run(it jetstream.MessagesContext) {
	defer c.wg.Done()
	for n := 0; ; {
		for {
			msg, err := it.Next()
			if err != nil {
				if errors.Is(err, jetstream.ErrMsgIteratorClosed) {
					break
				}
				// The iterator stops itself on errors it cannot go on after.
				if !sleep(10*time.Millisecond, c.stop) {
					return
				}
				continue
			}
			n = 0
			select {
			case c.in <- msg:
			case <-c.stop:
				return
			}
		}
		it.Stop()
		for {
			select {
			case <-c.stop:
				return
			default:
			}
			if !sleep(reconnectDelay(n), c.stop) {
				return
			}
			n++
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			var err error
			it, err = c.open(ctx)
			cancel()
			if err == nil {
				break
			}
			c.b.opt.Log.Debug("could not resume consuming; retrying", "subject", c.subject, "err", err)
		}
	}
}

func (c *natsConsumer) Fetch(ctx context.Context, max int, wait time.Duration) ([]Delivery, error) {
	if err := c.b.check("receive from " + c.subject); err != nil {
		return nil, err
	}
	var out []Delivery
	take := func(m jetstream.Msg) {
		d := Delivery{ID: m.Headers().Get(jetstream.MsgIDHeader), Body: m.Data(), token: m}
		if md, err := m.Metadata(); err == nil {
			d.Redelivered = md.NumDelivered > 1
		}
		out = append(out, d)
	}
	err := collect(ctx, c.in, max, wait, func() int { return len(out) }, take)
	return out, err
}

func (c *natsConsumer) Ack(ds []Delivery) error {
	for _, d := range ds {
		m, ok := d.token.(jetstream.Msg)
		if !ok {
			return fmt.Errorf("ack on %s: not a delivery of this consumer", c.subject)
		}
		if err := m.Ack(); err != nil {
			return unavailable("acknowledge on "+c.subject, err)
		}
	}
	// Acknowledgements are sent without an answer; a round trip makes
	// sure the server has them, one per batch instead of one per message.
	if len(ds) > 0 {
		if !c.b.nc.IsConnected() {
			return unavailable("acknowledge on "+c.subject, nats.ErrDisconnected)
		}
		if err := c.b.nc.FlushTimeout(5 * time.Second); err != nil {
			return unavailable("acknowledge on "+c.subject, err)
		}
	}
	return nil
}

func (c *natsConsumer) halt() {
	c.once.Do(func() {
		close(c.stop)
		c.mu.Lock()
		if c.it != nil {
			c.it.Stop()
		}
		c.mu.Unlock()
	})
}

func (c *natsConsumer) Close() error {
	c.halt()
	c.wg.Wait()
	c.b.mu.Lock()
	c.b.consumers = slices.DeleteFunc(c.b.consumers, func(x *natsConsumer) bool { return x == c })
	c.b.mu.Unlock()
	return nil
}

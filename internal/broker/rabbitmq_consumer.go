package broker

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

func (r *rabbit) Consume(ctx context.Context, queue, name string, prefetch int) (Consumer, error) {
	c := &rabbitConsumer{b: r, queue: queue, tag: name, prefetch: max(prefetch, 1),
		in: make(chan rabbitDelivery, max(prefetch, 1)), stop: make(chan struct{})}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, ErrClosed
	}
	if !slices.Contains(r.queues, queue) {
		r.queues = append(r.queues, queue)
	}
	r.consumers = append(r.consumers, c)
	if r.conn != nil {
		if err := declareQueues(r.conn, []string{queue}); err != nil {
			return nil, err
		}
		if err := c.start(r.conn, r.gen); err != nil {
			// The supervisor starts it again once the connection is back.
			_ = r.conn.Close()
		}
	}
	return c, nil
}

// rabbitConsumer receives from one queue on a channel of its own (so
// its prefetch and delivery tags are its own), started again on every
// new connection.
type rabbitConsumer struct {
	b        *rabbit
	queue    string
	tag      string
	prefetch int
	in       chan rabbitDelivery
	stop     chan struct{}
	once     sync.Once

	mu  sync.Mutex
	ch  *amqp.Channel
	gen uint64
	// out holds the tags handed out by Fetch and not yet acknowledged,
	// in order, so that acknowledging a run from the oldest is one
	// "multiple" acknowledgement instead of one per message.
	out []uint64
}

type rabbitDelivery struct {
	amqp.Delivery
	gen uint64
}

type rabbitToken struct {
	gen, tag uint64
}

// start consumes on conn; called with b.mu held.
func (c *rabbitConsumer) start(conn *amqp.Connection, gen uint64) error {
	select {
	case <-c.stop:
		return nil
	default:
	}
	ch, err := conn.Channel()
	if err != nil {
		return err
	}
	if err := ch.Qos(c.prefetch, 0, false); err != nil {
		return err
	}
	deliveries, err := ch.Consume(c.queue, c.tag, false, false, false, false, nil)
	if err != nil {
		return err
	}
	c.b.watch(conn, ch)
	c.mu.Lock()
	c.ch, c.gen, c.out = ch, gen, nil
	c.mu.Unlock()
	c.b.wg.Add(1)
	go func() {
		defer c.b.wg.Done()
		for d := range deliveries {
			select {
			case c.in <- rabbitDelivery{Delivery: d, gen: gen}:
			case <-c.stop:
				return
			}
		}
	}()
	return nil
}

func (c *rabbitConsumer) current() (*amqp.Channel, uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ch, c.gen
}

func (c *rabbitConsumer) Fetch(ctx context.Context, max int, wait time.Duration) ([]Delivery, error) {
	c.b.mu.Lock()
	up, closed := c.b.conn != nil, c.b.closed
	c.b.mu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	if !up {
		return nil, unavailable("receive from "+c.queue, nil)
	}
	_, gen := c.current()
	var out []Delivery
	take := func(d rabbitDelivery) {
		if d.gen != gen {
			return // its connection is gone; the broker gives it again
		}
		out = append(out, Delivery{ID: d.MessageId, Body: d.Body, Redelivered: d.Redelivered,
			token: rabbitToken{gen: d.gen, tag: d.DeliveryTag}})
	}
	defer func() {
		c.mu.Lock()
		if c.gen == gen {
			for _, d := range out {
				c.out = append(c.out, d.token.(rabbitToken).tag)
			}
		}
		c.mu.Unlock()
	}()
	err := collect(ctx, c.in, max, wait, func() int { return len(out) }, take)
	return out, err
}

func (c *rabbitConsumer) Ack(ds []Delivery) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch, gen := c.ch, c.gen
	if ch == nil || len(ds) == 0 {
		return nil
	}
	acking := make(map[uint64]bool, len(ds))
	for _, d := range ds {
		t, ok := d.token.(rabbitToken)
		if !ok {
			return fmt.Errorf("ack on %s: not a delivery of this consumer", c.queue)
		}
		if t.gen == gen { // else its channel is gone; the broker gives it again
			acking[t.tag] = true
		}
	}
	if len(acking) == 0 {
		return nil
	}
	// The run of the oldest outstanding tags goes in one acknowledgement;
	// tags past a gap go one by one.
	run := 0
	for run < len(c.out) && acking[c.out[run]] {
		run++
	}
	if run > 0 {
		if err := ch.Ack(c.out[run-1], true); err != nil {
			return unavailable("acknowledge on "+c.queue, err)
		}
	}
	kept := c.out[:0]
	for i, tag := range c.out {
		switch {
		case i < run:
		case acking[tag]:
			if err := ch.Ack(tag, false); err != nil {
				return unavailable("acknowledge on "+c.queue, err)
			}
		default:
			kept = append(kept, tag)
		}
	}
	c.out = kept
	// Acknowledgements have no answer. A method that has one, sent after
	// them on the same channel, returns once the broker has handled them:
	// setting the prefetch again (it changes nothing for this consumer).
	if err := ch.Qos(c.prefetch, 0, false); err != nil {
		return unavailable("acknowledge on "+c.queue, err)
	}
	return nil
}

func (c *rabbitConsumer) halt() {
	c.once.Do(func() { close(c.stop) })
}

func (c *rabbitConsumer) Close() error {
	c.halt()
	c.b.mu.Lock()
	c.b.consumers = slices.DeleteFunc(c.b.consumers, func(x *rabbitConsumer) bool { return x == c })
	c.b.mu.Unlock()
	ch, _ := c.current()
	if ch != nil {
		_ = ch.Cancel(c.tag, false)
		return ignoreClosed(ch.Close())
	}
	return nil
}

package broker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// rabbit is a Broker over one AMQP connection, redialled when it drops.
//
// Each connection has a generation number. Deliveries remember theirs:
// an acknowledgement for an older generation cannot be sent (its channel
// is gone) and is skipped, and deliveries of an older generation still
// buffered are dropped by Fetch; the broker requeued all of them when the
// connection closed.
type rabbit struct {
	url  string
	cfg  amqp.Config
	log  *slog.Logger
	done chan struct{} // closed by Close

	pubMu sync.Mutex // one Publish at a time, so confirms match their batch
	wg    sync.WaitGroup

	mu        sync.Mutex
	conn      *amqp.Connection // nil while down
	pub       *amqp.Channel    // confirm mode
	returns   chan amqp.Return // unroutable messages published on pub
	gen       uint64
	up        chan struct{} // closed while connected
	queues    []string
	consumers []*rabbitConsumer
	closed    bool
}

func dialRabbit(ctx context.Context, o Options) (*rabbit, error) {
	name := o.Name
	if name == "" {
		name = "tandem"
	}
	r := &rabbit{url: o.URL, log: o.Log, done: make(chan struct{}), up: make(chan struct{}),
		cfg: amqp.Config{Heartbeat: 5 * time.Second, Locale: "en_US", Dial: amqp.DefaultDial(5 * time.Second),
			Properties: amqp.Table{"connection_name": name}, TLSClientConfig: o.TLS}}
	var err error
	for n := 0; ; n++ {
		var conn *amqp.Connection
		if conn, err = r.connect(); err == nil {
			r.wg.Add(1)
			go r.supervise(conn)
			return r, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("connect to RabbitMQ at %s: %w", redact(o.URL), err)
		case <-time.After(backoff(n)):
		}
	}
}

// connect dials and sets up the publishing channel, the declared queues
// and the consumers; the connection is live when it returns.
func (r *rabbit) connect() (*amqp.Connection, error) {
	conn, err := amqp.DialConfig(r.url, r.cfg)
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*amqp.Connection, error) {
		_ = conn.Close()
		return nil, err
	}
	pub, err := conn.Channel()
	if err != nil {
		return fail(err)
	}
	if err := pub.Confirm(false); err != nil {
		return fail(err)
	}
	returns := pub.NotifyReturn(make(chan amqp.Return, 10000))
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return fail(ErrClosed)
	}
	if err := declareQueues(conn, r.queues); err != nil {
		return fail(err)
	}
	gen := r.gen + 1
	for _, c := range r.consumers {
		if err := c.start(conn, gen); err != nil {
			return fail(fmt.Errorf("consume from %s: %w", c.queue, err))
		}
	}
	r.watch(conn, pub)
	r.conn, r.pub, r.returns, r.gen = conn, pub, returns, gen
	close(r.up)
	return conn, nil
}

// watch closes conn when ch closes, so that a channel the server shut
// (a failed operation, a deleted queue) leads to a clean reconnection.
func (r *rabbit) watch(conn *amqp.Connection, ch *amqp.Channel) {
	closed := ch.NotifyClose(make(chan *amqp.Error, 1))
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		if err, ok := <-closed; ok && err != nil {
			_ = conn.Close()
		}
	}()
}

// supervise waits for conn to close and connects again, until Close.
func (r *rabbit) supervise(conn *amqp.Connection) {
	defer r.wg.Done()
	for {
		lost := conn.NotifyClose(make(chan *amqp.Error, 1))
		var why error
		select {
		case <-r.done:
			_ = conn.Close()
			return
		case e := <-lost:
			if e != nil {
				why = e
			}
		}
		r.mu.Lock()
		r.conn, r.pub = nil, nil
		r.up = make(chan struct{})
		r.mu.Unlock()
		_ = conn.Close()
		down := time.Now()
		r.log.Warn("lost the connection to RabbitMQ; reconnecting", "err", why)
		for n := 0; ; n++ {
			if !sleep(backoff(n), r.done) {
				return
			}
			c, err := r.connect()
			if err == nil {
				conn = c
				break
			}
			if errors.Is(err, ErrClosed) {
				return
			}
			lvl := slog.LevelDebug
			if n%20 == 19 {
				lvl = slog.LevelWarn
			}
			r.log.Log(context.Background(), lvl, "RabbitMQ still unreachable", "err", err, "for", time.Since(down).Round(time.Second))
		}
		r.log.Info("reconnected to RabbitMQ", "after", time.Since(down).Round(time.Millisecond))
	}
}

func (r *rabbit) Wait(ctx context.Context) error {
	r.mu.Lock()
	up, closed := r.up, r.closed
	r.mu.Unlock()
	if closed {
		return ErrClosed
	}
	select {
	case <-up:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-r.done:
		return ErrClosed
	}
}

func (r *rabbit) Declare(ctx context.Context, queues ...string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, q := range queues {
		if !slices.Contains(r.queues, q) {
			r.queues = append(r.queues, q)
		}
	}
	if r.conn == nil {
		return unavailable("declare queues", nil)
	}
	return declareQueues(r.conn, queues)
}

// declareQueues declares durable queues. A queue that exists with other
// arguments (a quorum queue the application declared, say) is used as it is.
func declareQueues(conn *amqp.Connection, queues []string) error {
	var ch *amqp.Channel
	defer func() {
		if ch != nil {
			_ = ch.Close()
		}
	}()
	for _, q := range queues {
		if ch == nil || ch.IsClosed() {
			var err error
			if ch, err = conn.Channel(); err != nil {
				return unavailable("declare queue "+q, err)
			}
		}
		_, err := ch.QueueDeclare(q, true, false, false, false, nil)
		var ae *amqp.Error
		if errors.As(err, &ae) && ae.Code == amqp.PreconditionFailed {
			if ch, err = conn.Channel(); err != nil {
				return unavailable("declare queue "+q, err)
			}
			_, err = ch.QueueDeclarePassive(q, true, false, false, false, nil)
		}
		if err != nil {
			return fmt.Errorf("declare queue %s: %w", q, err)
		}
	}
	return nil
}

func (r *rabbit) Publish(ctx context.Context, queue string, msgs []Message) error {
	if len(msgs) == 0 {
		return nil
	}
	r.pubMu.Lock()
	defer r.pubMu.Unlock()
	r.mu.Lock()
	ch, returns, closed := r.pub, r.returns, r.closed
	r.mu.Unlock()
	if closed {
		return ErrClosed
	}
	if ch == nil {
		return unavailable("publish to "+queue, nil)
	}
	drainReturns(returns)
	now := time.Now()
	confirms := make([]*amqp.DeferredConfirmation, len(msgs))
	for i, m := range msgs {
		dc, err := ch.PublishWithDeferredConfirmWithContext(ctx, "", queue, true, false, amqp.Publishing{
			ContentType: "application/json", DeliveryMode: amqp.Persistent, MessageId: m.ID,
			Timestamp: now, Body: m.Body})
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return unavailable("publish to "+queue, err)
		}
		confirms[i] = dc
	}
	for _, dc := range confirms {
		ok, err := dc.WaitContext(ctx)
		if err != nil {
			return err
		}
		if !ok {
			return unavailable(fmt.Sprintf("publish to %s: the broker did not confirm every message", queue), nil)
		}
	}
	// A return arrives before the confirm of its message.
	if n := drainReturns(returns); n > 0 {
		return fmt.Errorf("publish to %s: %d messages came back unroutable: the queue does not exist; declare it or run `tandem setup`", queue, n)
	}
	return nil
}

// drainReturns takes the returns waiting on c and counts them. The
// channel is closed when its connection drops: then there is no more.
func drainReturns(c chan amqp.Return) int {
	n := 0
	for {
		select {
		case _, ok := <-c:
			if !ok {
				return n
			}
			n++
		default:
			return n
		}
	}
}

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

func (r *rabbit) Remove(ctx context.Context, queues ...string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.conn == nil {
		return unavailable("remove queues", nil)
	}
	ch, err := r.conn.Channel()
	if err != nil {
		return unavailable("remove queues", err)
	}
	defer ch.Close()
	for _, q := range queues {
		if _, err := ch.QueueDelete(q, false, false, false); err != nil {
			return fmt.Errorf("delete queue %s: %w", q, err)
		}
		r.queues = slices.DeleteFunc(r.queues, func(s string) bool { return s == q })
	}
	return nil
}

func (r *rabbit) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	close(r.done)
	conn, consumers := r.conn, r.consumers
	r.mu.Unlock()
	for _, c := range consumers {
		c.halt()
	}
	var err error
	if conn != nil {
		err = ignoreClosed(conn.Close())
	}
	r.wg.Wait()
	return err
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

func ignoreClosed(err error) error {
	if errors.Is(err, amqp.ErrClosed) {
		return nil
	}
	return err
}

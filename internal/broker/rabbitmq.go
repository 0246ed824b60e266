package broker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
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
		case <-time.After(reconnectDelay(n)):
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
			if !sleep(reconnectDelay(n), r.done) {
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

func ignoreClosed(err error) error {
	if errors.Is(err, amqp.ErrClosed) {
		return nil
	}
	return err
}

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

// natsBroker is a Broker over NATS JetStream. Queues are subjects of one
// work-queue stream: a message is kept until its consumer acknowledges
// it. The NATS library reconnects by itself; pull consumers resume on
// the new connection, and acknowledgements of messages received before
// a reconnection still count if the server has not given them out again.
type natsBroker struct {
	nc     *nats.Conn
	js     jetstream.JetStream
	stream string
	opt    Options
	done   chan struct{}

	mu        sync.Mutex
	closed    bool
	consumers []*natsConsumer
}

// ackWait is how long JetStream waits for an acknowledgement before it
// gives a message again.
const ackWait = 30 * time.Second

func dialNATS(ctx context.Context, o Options) (*natsBroker, error) {
	if o.Stream == "" {
		return nil, errors.New("nats: no stream named")
	}
	name := o.Name
	if name == "" {
		name = "tandem"
	}
	log := o.Log
	var down time.Time
	var dmu sync.Mutex
	opts := []nats.Option{
		nats.Name(name), nats.Timeout(5 * time.Second),
		nats.MaxReconnects(-1), nats.ReconnectWait(200 * time.Millisecond),
		nats.ReconnectJitter(100*time.Millisecond, time.Second),
		nats.PingInterval(5 * time.Second), nats.MaxPingsOutstanding(2),
		// Reconnect only where the configuration points, never to
		// addresses the server advertises.
		nats.IgnoreDiscoveredServers(),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			dmu.Lock()
			down = time.Now()
			dmu.Unlock()
			log.Warn("lost the connection to NATS; reconnecting", "err", err)
		}),
		nats.ReconnectHandler(func(*nats.Conn) {
			dmu.Lock()
			after := time.Since(down).Round(time.Millisecond)
			dmu.Unlock()
			log.Info("reconnected to NATS", "after", after)
		}),
	}
	if o.TLS != nil {
		opts = append(opts, nats.Secure(o.TLS))
	}
	var nc *nats.Conn
	var err error
	for n := 0; ; n++ {
		if nc, err = nats.Connect(o.URL, opts...); err == nil {
			break
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("connect to NATS at %s: %w", redact(o.URL), err)
		case <-time.After(reconnectDelay(n)):
		}
	}
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(16384),
		jetstream.WithPublishAsyncTimeout(10*time.Second), jetstream.WithDefaultTimeout(5*time.Second))
	if err != nil {
		nc.Close()
		return nil, err
	}
	return &natsBroker{nc: nc, js: js, stream: o.Stream, opt: o, done: make(chan struct{})}, nil
}

func (b *natsBroker) check(what string) error {
	b.mu.Lock()
	closed := b.closed
	b.mu.Unlock()
	if closed {
		return ErrClosed
	}
	if !b.nc.IsConnected() {
		return unavailable(what, nil)
	}
	return nil
}

func (b *natsBroker) Wait(ctx context.Context) error {
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		if err := b.check(""); !errors.Is(err, ErrUnavailable) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-b.done:
			return ErrClosed
		case <-t.C:
		}
	}
}

// Declare makes sure the stream exists and holds the subjects. A stream
// made by someone else is used as it is, with subjects added if missing.
func (b *natsBroker) Declare(ctx context.Context, subjects ...string) error {
	if err := b.check("declare stream " + b.stream); err != nil {
		return err
	}
	s, err := b.js.Stream(ctx, b.stream)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		_, err = b.js.CreateStream(ctx, jetstream.StreamConfig{Name: b.stream, Subjects: subjects,
			Retention: jetstream.WorkQueuePolicy, Storage: jetstream.FileStorage, Duplicates: 2 * time.Minute,
			Description: "tandem message contract queues"})
		if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			s, err = b.js.Stream(ctx, b.stream) // made by the other side meanwhile
		} else if err == nil {
			return nil
		}
	}
	if err != nil {
		return b.streamErr(err)
	}
	cfg := s.CachedInfo().Config
	missing := false
	for _, sub := range subjects {
		if !slices.ContainsFunc(cfg.Subjects, func(pattern string) bool { return subjectMatches(pattern, sub) }) {
			cfg.Subjects = append(cfg.Subjects, sub)
			missing = true
		}
	}
	if missing {
		if _, err := b.js.UpdateStream(ctx, cfg); err != nil {
			return b.streamErr(err)
		}
	}
	return nil
}

func (b *natsBroker) streamErr(err error) error {
	if errors.Is(err, nats.ErrNoResponders) || errors.Is(err, jetstream.ErrJetStreamNotEnabled) {
		return fmt.Errorf("stream %s: %w; is JetStream enabled on the server (nats-server -js)?", b.stream, err)
	}
	if errors.Is(err, nats.ErrTimeout) || errors.Is(err, context.DeadlineExceeded) {
		return unavailable("stream "+b.stream, err)
	}
	return fmt.Errorf("stream %s: %w", b.stream, err)
}

// subjectMatches reports whether subject falls under pattern (with * and > wildcards).
func subjectMatches(pattern, subject string) bool {
	p, s := strings.Split(pattern, "."), strings.Split(subject, ".")
	for i, tok := range p {
		if tok == ">" {
			return len(s) > i
		}
		if i >= len(s) || (tok != "*" && tok != s[i]) {
			return false
		}
	}
	return len(p) == len(s)
}

func (b *natsBroker) Publish(ctx context.Context, subject string, msgs []Message) error {
	if len(msgs) == 0 {
		return nil
	}
	if err := b.check("publish to " + subject); err != nil {
		return err
	}
	futures := make([]jetstream.PubAckFuture, 0, len(msgs))
	for _, m := range msgs {
		nm := &nats.Msg{Subject: subject, Data: m.Body, Header: nats.Header{}}
		nm.Header.Set("Content-Type", "application/json")
		f, err := b.js.PublishMsgAsync(nm, jetstream.WithMsgID(m.ID), jetstream.WithExpectStream(b.stream))
		if err != nil {
			return unavailable("publish to "+subject, err)
		}
		futures = append(futures, f)
	}
	// A publish buffered while the connection drops would only fail at
	// the async timeout; notice the drop instead.
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for _, f := range futures {
	wait:
		select {
		case <-tick.C:
			if !b.nc.IsConnected() {
				return unavailable("publish to "+subject, nats.ErrDisconnected)
			}
			goto wait
		case <-f.Ok():
		case err := <-f.Err():
			if errors.Is(err, jetstream.ErrNoStreamResponse) || errors.Is(err, nats.ErrNoResponders) {
				return fmt.Errorf("publish to %s: no stream holds the subject; declare it or run `tandem setup`: %w", subject, err)
			}
			return unavailable("publish to "+subject, err)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

func (b *natsBroker) Remove(ctx context.Context, _ ...string) error {
	if err := b.check("delete stream " + b.stream); err != nil {
		return err
	}
	if err := b.js.DeleteStream(ctx, b.stream); err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
		return fmt.Errorf("delete stream %s: %w", b.stream, err)
	}
	return nil
}

func (b *natsBroker) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	close(b.done)
	consumers := b.consumers
	b.mu.Unlock()
	for _, c := range consumers {
		c.halt()
	}
	b.nc.Close()
	for _, c := range consumers {
		c.wg.Wait()
	}
	return nil
}

package brokertest

import (
	"context"
	"sync"
	"time"

	"github.com/tandemhub/tandem/internal/broker"
)

// Fake is an in-memory broker: queues of messages, consumers that
// hand out what is queued and remember what is unacknowledged.
type Fake struct {
	mu      sync.Mutex
	queues  map[string][]broker.Message
	unacked map[string][]token  // queue → handed out, not acknowledged
	acked   map[string][]string // queue → ids acknowledged
	down    bool                // Publish and Fetch fail while set
	// FailPublishes is how many more times Publish fails with
	// broker.ErrUnavailable before it works again.
	FailPublishes int
	declared      []string
}

type token struct {
	queue string
	seq   int
	msg   broker.Message
}

// New makes an empty broker.
func New() *Fake {
	return &Fake{queues: map[string][]broker.Message{}, unacked: map[string][]token{}, acked: map[string][]string{}}
}

func (f *Fake) Declare(_ context.Context, queues ...string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.declared = append(f.declared, queues...)
	return nil
}

func (f *Fake) Publish(_ context.Context, queue string, msgs []broker.Message) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down || f.FailPublishes > 0 {
		if f.FailPublishes > 0 {
			f.FailPublishes--
		}
		return broker.ErrUnavailable
	}
	for _, m := range msgs {
		m.Body = append([]byte(nil), m.Body...)
		f.queues[queue] = append(f.queues[queue], m)
	}
	return nil
}

// Put queues a raw body, as a system would publish it.
func (f *Fake) Put(queue, id string, body string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.queues[queue] = append(f.queues[queue], broker.Message{ID: id, Body: []byte(body)})
}

// Redeliver puts every unacknowledged message of queue back in front, as
// a broker does when a connection closes.
func (f *Fake) Redeliver(queue string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var back []broker.Message
	for _, t := range f.unacked[queue] {
		back = append(back, t.msg)
	}
	f.unacked[queue] = nil
	f.queues[queue] = append(back, f.queues[queue]...)
}

// SetDown starts (true) or ends an outage: Publish, Fetch and Ack fail
// with broker.ErrUnavailable and Wait blocks.
func (f *Fake) SetDown(down bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.down = down
}

// Published is what is queued on queue, not yet handed out.
func (f *Fake) Published(queue string) []broker.Message {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]broker.Message(nil), f.queues[queue]...)
}

// Acked lists the ids of messages of queue acknowledged so far.
func (f *Fake) Acked(queue string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.acked[queue]...)
}

func (f *Fake) Consume(_ context.Context, queue, _ string, _ int) (broker.Consumer, error) {
	return &consumer{f: f, queue: queue}, nil
}

func (f *Fake) Wait(ctx context.Context) error {
	for {
		f.mu.Lock()
		down := f.down
		f.mu.Unlock()
		if !down {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
}

func (f *Fake) Remove(context.Context, ...string) error { return nil }
func (f *Fake) Close() error                            { return nil }

type consumer struct {
	f     *Fake
	queue string
	seq   int
}

func (c *consumer) Fetch(ctx context.Context, max int, wait time.Duration) ([]broker.Delivery, error) {
	f := c.f
	deadline := time.Now().Add(wait)
	for {
		f.mu.Lock()
		if f.down || len(f.queues[c.queue]) > 0 || !time.Now().Before(deadline) {
			break // with f.mu held
		}
		f.mu.Unlock()
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(2 * time.Millisecond):
		}
	}
	defer f.mu.Unlock()
	if f.down {
		return nil, broker.ErrUnavailable
	}
	q := f.queues[c.queue]
	n := min(max, len(q))
	var out []broker.Delivery
	for _, m := range q[:n] {
		c.seq++
		t := token{queue: c.queue, seq: c.seq, msg: m}
		f.unacked[c.queue] = append(f.unacked[c.queue], t)
		out = append(out, broker.NewTestDelivery(m.ID, m.Body, t))
	}
	f.queues[c.queue] = q[n:]
	return out, nil
}

func (c *consumer) Ack(ds []broker.Delivery) error {
	f := c.f
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return broker.ErrUnavailable
	}
	for _, d := range ds {
		t := broker.TestToken(d).(token)
		un := f.unacked[c.queue]
		for i, u := range un {
			if u.seq == t.seq {
				f.unacked[c.queue] = append(un[:i:i], un[i+1:]...)
				f.acked[c.queue] = append(f.acked[c.queue], t.msg.ID)
				break
			}
		}
	}
	return nil
}

func (c *consumer) Close() error { return nil }

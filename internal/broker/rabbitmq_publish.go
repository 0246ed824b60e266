package broker

import (
	"context"
	"fmt"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

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

package broker

import (
	"context"
	"errors"
	"fmt"
	"slices"

	amqp "github.com/rabbitmq/amqp091-go"
)

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

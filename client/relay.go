package client

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"

	"github.com/tandemhub/tandem/internal/broker"
)

// Relay sends what Publish (and Consume's reports) put in the outbox to
// the broker, oldest first, until ctx ends. A row is deleted only once
// the broker has confirmed it; while the broker is unreachable Relay
// waits and tries again, so a change is never lost, and one sent twice
// keeps its id, so tandem keeps it once. Run one Relay per database.
func (c *Client) Relay(ctx context.Context) error {
	b, err := c.broker(ctx)
	if err != nil {
		return nil // ctx ended
	}
	for failures := 0; ctx.Err() == nil; {
		n, err := c.relayOnce(ctx, b)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			if failures == 0 {
				c.log.Warn("relay cannot send the outbox; will retry", "err", err)
			}
			failures++
			_ = b.Wait(ctx)
			pause(ctx, retryDelay(failures-1))
			continue
		}
		if failures > 0 {
			c.log.Info("relay sends again", "after failures", failures)
			failures = 0
		}
		if n < c.o.RelayBatch {
			pause(ctx, c.o.RelayPoll)
		}
	}
	return nil
}

// relayOnce sends one batch of outbox rows and deletes them, in one
// database transaction that holds them locked.
func (c *Client) relayOnce(ctx context.Context, b broker.Broker) (int, error) {
	tx, err := c.o.DB.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("relay: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	if c.sql.outboxLock != "" {
		if _, err := tx.ExecContext(ctx, c.sql.outboxLock); err != nil {
			return 0, fmt.Errorf("relay: lock the outbox: %w", err)
		}
	}
	changes, reports, seqs, err := c.readOutbox(ctx, tx)
	if err != nil {
		return 0, fmt.Errorf("relay: read the outbox: %w", err)
	}
	if len(seqs) == 0 {
		return 0, nil
	}
	if err := b.Publish(ctx, c.q.Outbound, changes); err != nil {
		return 0, fmt.Errorf("relay: send %d changes: %w", len(changes), err)
	}
	if err := b.Publish(ctx, c.q.Reports, reports); err != nil {
		return 0, fmt.Errorf("relay: send %d results: %w", len(reports), err)
	}
	if _, err := tx.ExecContext(ctx, c.sql.bind(c.sql.outboxDelete+c.sql.in(len(seqs))), seqs...); err != nil {
		return 0, fmt.Errorf("relay: delete sent rows: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("relay: delete sent rows: %w", err)
	}
	return len(seqs), nil
}

// readOutbox reads one batch of outbox rows, oldest first: the changes
// and the reports to send, and the rows' sequence numbers.
func (c *Client) readOutbox(ctx context.Context, tx *sql.Tx) (changes, reports []broker.Message, seqs []any, err error) {
	rows, err := tx.QueryContext(ctx, c.sql.bind(c.sql.outboxRead), c.o.RelayBatch)
	if err != nil {
		return nil, nil, nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var seq int64
		var queue, id, body string
		var stamp int
		if err := rows.Scan(&seq, &queue, &id, &body, &stamp); err != nil {
			return nil, nil, nil, err
		}
		seqs = append(seqs, seq)
		data := []byte(body)
		if stamp == 1 && len(data) > 0 && data[len(data)-1] == '}' {
			// The message was written without a version: the sequence is it.
			data = append(data[:len(data)-1], `,"version":`...)
			data = strconv.AppendInt(data, seq, 10)
			data = append(data, '}')
		}
		m := broker.Message{ID: id, Body: data}
		if queue == toReports {
			reports = append(reports, m)
		} else {
			changes = append(changes, m)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, nil, nil, err
	}
	return changes, reports, seqs, nil
}

package client

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/tandemhub/tandem/internal/broker"
	"github.com/tandemhub/tandem/internal/contract"
	"github.com/tandemhub/tandem/internal/record"
)

// Inbound is a change tandem asks the application to apply.
type Inbound struct {
	// ID identifies the message.
	ID string
	// Entity is the kind of record, as the mapping names it.
	Entity string
	// Key is the record's key in the application, or "" for a record
	// to create: the Handler creates it and returns Created(newKey).
	// When the application lets tandem choose keys (key_generated:
	// false), a create carries the key to use.
	Key string
	// GID is tandem's global id of the record.
	GID string
	// Delete says the record is to be deleted.
	Delete bool
	// Fields is the record's state in the application's field names;
	// references hold the application's keys of the records they point to.
	Fields map[string]any
	// At is when tandem sent the change.
	At time.Time
}

// Result is what a Handler did with an Inbound change.
type Result struct {
	outcome       contract.Outcome
	key           string
	reason, field string
}

// Applied says the change is in the application (including: there was
// nothing to do).
func Applied() Result { return Result{outcome: contract.Applied} }

// Created says the application made a new record for the change, under key.
func Created(key string) Result { return Result{outcome: contract.Created, key: key} }

// Failed says the application will not apply the change, and why; field
// names the field at fault, if any. tandem keeps it as a dead letter
// with this reason for an operator. Whatever the Handler wrote in its
// transaction is rolled back.
func Failed(reason, field string) Result {
	if reason == "" {
		reason = "refused"
	}
	return Result{outcome: contract.Failed, reason: reason, field: field}
}

// Handler applies one inbound change in tx, the application's
// transaction, which the client commits together with the bookkeeping
// of the message (that it is applied, the link of a created record, the
// result for tandem). It returns an error for a failure that may pass
// (a lock timeout, a lost connection): the client rolls back and tries
// again later, at most MaxAttempts times, before reporting it as failed.
// Changes published with ctx are marked as caused by this message.
type Handler func(ctx context.Context, tx *sql.Tx, in Inbound) (Result, error)

// Consume applies inbound changes with h, one at a time and in order,
// until ctx ends. Each message is acknowledged once its transaction has
// committed; a message the broker gives again after that is recognised
// and not applied twice, and a create of a record the application
// already made for the same global id finds it instead (Key is set).
func (c *Client) Consume(ctx context.Context, h Handler) error {
	b, err := c.broker(ctx)
	if err != nil {
		return nil // ctx ended
	}
	var cons broker.Consumer
	for n := 0; cons == nil; n++ {
		if cons, err = b.Consume(ctx, c.q.Inbound, c.o.Consumer, c.o.Prefetch); err != nil {
			c.log.Warn("cannot consume inbound changes; will retry", "err", err)
			if !pause(ctx, retryDelay(n)) {
				return nil
			}
		}
	}
	defer cons.Close()
	c.pruneInbox(ctx)
	lastPrune := time.Now()
	for failures := 0; ctx.Err() == nil; {
		ds, err := cons.Fetch(ctx, c.o.Prefetch, 500*time.Millisecond)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			failures++
			_ = b.Wait(ctx)
			pause(ctx, retryDelay(failures-1))
			continue
		}
		failures = 0
		done := ds[:0]
		for _, d := range ds {
			if !c.apply(ctx, d, h) {
				break // ctx ended; what is not acknowledged comes again
			}
			done = append(done, d)
		}
		// Applied and committed: the broker may forget them. If the
		// acknowledgement is lost, the copies are recognised.
		_ = cons.Ack(done)
		if time.Since(lastPrune) > time.Hour {
			c.pruneInbox(ctx)
			lastPrune = time.Now()
		}
	}
	return nil
}

// apply handles one delivery until it is committed; false means ctx
// ended first. A message that fails MaxAttempts times is reported failed.
func (c *Client) apply(ctx context.Context, d broker.Delivery, h Handler) bool {
	for attempt := 1; ; attempt++ {
		err := c.applyOnce(ctx, d, h, attempt)
		if err != nil && ctx.Err() == nil && attempt >= c.o.MaxAttempts {
			err = c.refuse(ctx, d, fmt.Sprintf("gave up after %d attempts: %v", attempt, err), "")
		}
		if err == nil {
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		c.log.Warn("applying an inbound change failed; will retry", "attempt", attempt, "err", err)
		if !pause(ctx, retryDelay(attempt-1)) {
			return false
		}
	}
}

// applyOnce runs h for d in a transaction. It returns an error to try again.
func (c *Client) applyOnce(ctx context.Context, d broker.Delivery, h Handler, attempt int) error {
	m, err := contract.DecodeChange(d.Body)
	if err == nil && m.System != c.o.System {
		err = fmt.Errorf("message %s is for system %q, and this client is %q", m.ID, m.System, c.o.System)
	}
	if err != nil {
		return c.refuse(ctx, d, "the client cannot read this message: "+err.Error(), "")
	}
	tx, err := c.o.DB.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	if fresh, err := c.markApplied(ctx, tx, m.ID); err != nil || !fresh {
		return err // already applied: nothing to do
	}
	in := Inbound{ID: m.ID, Entity: m.Entity, Key: m.Key, GID: m.GID, Delete: m.Op == record.Delete,
		Fields: m.Fields, At: m.At}
	if in.Key == "" && in.GID != "" {
		err := tx.QueryRowContext(ctx, c.sql.bind(c.sql.linkKey), m.Entity, m.GID).Scan(&in.Key)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
	}
	var res Result
	if in.Delete && in.Key == "" {
		res = Applied() // never made here: nothing to delete
	} else {
		var herr error
		res, herr = h(context.WithValue(ctx, applyingKey{}, m.ID), tx, in)
		if herr != nil {
			return herr
		}
	}
	if res.outcome == "" {
		res = Applied()
	}
	if res.outcome == contract.Failed {
		_ = tx.Rollback()
		return c.refuse(ctx, d, res.reason, res.field)
	}
	key := in.Key
	if res.outcome == contract.Created {
		key = res.key
	}
	if m.GID != "" {
		switch {
		case in.Delete:
			_, err = tx.ExecContext(ctx, c.sql.bind(c.sql.linkDelete), m.Entity, m.GID)
		case key != "":
			// The key is this record's now: a link of it to another
			// global id (the application matched an existing record) goes.
			if _, err = tx.ExecContext(ctx, c.sql.bind(c.sql.linkUnkey), m.Entity, key, m.GID); err == nil {
				_, err = tx.ExecContext(ctx, c.sql.bind(c.sql.linkPut), m.Entity, m.GID, key)
			}
		}
		if err != nil {
			return err
		}
	}
	r := contract.Result{Change: m.ID, Entity: m.Entity, GID: m.GID, Op: m.Op, Key: key, Outcome: res.outcome}
	if res.outcome == contract.Created && key == "" {
		r.Outcome, r.Reason = contract.Failed, "the application reported a create without a key"
	}
	if r.GID != "" { // tandem always sends one; a result cannot be matched without it
		if err := c.report(ctx, tx, r); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// refuse records, in a transaction of its own, that the message of d
// (maybe unreadable) is done with, and reports it failed with reason.
func (c *Client) refuse(ctx context.Context, d broker.Delivery, reason, field string) error {
	m, err := contract.DecodeChange(d.Body)
	var ce *contract.Error
	if errors.As(err, &ce) {
		m = contract.Change{ID: ce.ID, Entity: ce.Entity, Key: ce.Key, GID: ce.GID}
	}
	id := m.ID
	if id == "" {
		id = d.ID
	}
	if id == "" {
		sum := sha256.Sum256(d.Body)
		id = "sha256:" + hex.EncodeToString(sum[:16])
	}
	tx, err := c.o.DB.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	if fresh, err := c.markApplied(ctx, tx, id); err != nil || !fresh {
		return err
	}
	c.log.Warn("refused an inbound change", "id", id, "entity", m.Entity, "gid", m.GID, "reason", reason, "field", field)
	if m.Entity != "" && m.GID != "" {
		r := contract.Result{Change: id, Entity: m.Entity, GID: m.GID, Op: m.Op, Key: m.Key,
			Outcome: contract.Failed, Reason: reason, Field: field}
		if err := c.report(ctx, tx, r); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// markApplied records message id as applied; false means it already was.
func (c *Client) markApplied(ctx context.Context, tx *sql.Tx, id string) (bool, error) {
	res, err := tx.ExecContext(ctx, c.sql.bind(c.sql.inboxPut), id, time.Now().UnixNano())
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// pruneInbox forgets applied message ids older than InboxRetention.
func (c *Client) pruneInbox(ctx context.Context) {
	before := time.Now().Add(-c.o.InboxRetention).UnixNano()
	if _, err := c.o.DB.ExecContext(ctx, c.sql.bind(c.sql.inboxPrune), before); err != nil && ctx.Err() == nil {
		c.log.Warn("cannot prune the inbox table", "err", err)
	}
}

package client

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/tandemhub/tandem/internal/contract"
	"github.com/tandemhub/tandem/internal/record"
)

// Tx is what Publish needs of the application's transaction: *sql.Tx
// (and *sql.DB or *sql.Conn, outside a transaction).
type Tx interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Change is a change of one of the application's records.
type Change struct {
	// Entity is the kind of record, as the system's mapping in
	// tandem.yaml names it (its table).
	Entity string
	// Key is the record's key.
	Key string
	// Delete says the record is gone.
	Delete bool
	// Fields is the record's whole state: every field the mapping names
	// (one left out counts as empty). References to other records hold
	// their keys. Values: strings, numbers, booleans, time.Time, nil.
	Fields map[string]any
	// Version orders changes of one record: a newer change has a higher
	// one. Default: the outbox sequence number, which suits a change
	// published after the write, in its transaction.
	Version int64
}

// The queues an outbox row is for.
const (
	toChanges = "changes"
	toReports = "reports"
)

// applyingKey marks a context of a Handler: the id of the message being applied.
type applyingKey struct{}

// Publish records ch in tx, the application's transaction: it is sent to
// tandem once tx commits (see Relay), and never if it rolls back. Call it
// after the write, in the same transaction.
//
// Called with a Handler's context, the change is marked as caused by the
// message being applied, and tandem drops it.
func (c *Client) Publish(ctx context.Context, tx Tx, ch Change) error {
	if ch.Entity == "" || ch.Key == "" {
		return errors.New("client: publish: a change needs its Entity and Key")
	}
	op := record.Upsert
	fields := record.Fields(ch.Fields)
	if ch.Delete {
		op, fields = record.Delete, nil
	} else if fields == nil {
		fields = record.Fields{}
	}
	m := contract.Change{ID: ulid.Make().String(), System: c.o.System, Entity: ch.Entity, Op: op, Key: ch.Key,
		Version: ch.Version, At: time.Now(), Fields: fields}
	if cause, ok := ctx.Value(applyingKey{}).(string); ok {
		m.Cause = cause
	}
	var gid string
	switch err := tx.QueryRowContext(ctx, c.sql.bind(c.sql.linkGID), ch.Entity, ch.Key).Scan(&gid); {
	case err == nil:
		m.GID = gid
	case !errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("client: publish %s %s: %w", ch.Entity, ch.Key, err)
	}
	body, err := m.Append(nil)
	if err != nil {
		return fmt.Errorf("client: publish %s %s: %w", ch.Entity, ch.Key, err)
	}
	if len(body) > contract.MaxSize {
		return fmt.Errorf("client: publish %s %s: the message would be %d bytes; the most is %d", ch.Entity, ch.Key, len(body), contract.MaxSize)
	}
	stamp := 0
	if ch.Version == 0 {
		stamp = 1 // the relay adds the outbox sequence as the version
	}
	if _, err := tx.ExecContext(ctx, c.sql.bind(c.sql.outboxInsert), toChanges, m.ID, string(body), stamp); err != nil {
		return fmt.Errorf("client: publish %s %s: %w", ch.Entity, ch.Key, err)
	}
	return nil
}

// report records a result in tx, like Publish.
func (c *Client) report(ctx context.Context, tx Tx, r contract.Result) error {
	r.ID, r.System, r.At = ulid.Make().String(), c.o.System, time.Now()
	if len(r.Reason) > 4000 {
		r.Reason = r.Reason[:4000] + "…"
	}
	if _, err := tx.ExecContext(ctx, c.sql.bind(c.sql.outboxInsert), toReports, r.ID, string(r.Append(nil)), 0); err != nil {
		return fmt.Errorf("client: report on %s: %w", r.Change, err)
	}
	return nil
}

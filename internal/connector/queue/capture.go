package queue

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tandemhub/tandem/internal/broker"
	"github.com/tandemhub/tandem/internal/connector"
	"github.com/tandemhub/tandem/internal/contract"
	"github.com/tandemhub/tandem/internal/record"
)

// inChange is a change message taken from the outbound queue.
type inChange struct {
	c     record.Change
	cause string // set on echoes
}

// rejection is a message that cannot be taken: it becomes a Rejected report.
type rejection struct {
	entity, key string // tandem's entity, when known
	field       string
	reason      string
	fields      record.Fields
}

// Changes implements connector.Source: up to max changes from the
// outbound queue, oldest first, one per record (its newest), without
// changes older than one already stored. Echoes are dropped, but for
// those of an upsert whose version they name (see messageID): they come
// as changes marked Echo with that version in Base, and never replace a
// change of the record's users in a batch. What it
// returns is acknowledged only by Ack; what it drops (echoes, stale
// changes, copies) needs no storing and is acknowledged at once.
func (s *System) Changes(ctx context.Context, max int) (connector.Batch, error) {
	in := s.changes
	in.mu.Lock()
	defer in.mu.Unlock()
	// A run of echoes and stale copies yields nothing to store: read on
	// past it (a bounded number of times) rather than return empty.
	for range 16 {
		if err := in.fill(ctx, s.b, max, s.wait, s.decodeChange, s.reject); err != nil && len(in.pending) == 0 {
			if ctx.Err() != nil {
				return connector.Batch{}, ctx.Err()
			}
			return connector.Batch{}, fmt.Errorf("read changes of queue system %q from %s: %w", s.name, in.queue, err)
		}
		b, dropped := s.batch(max)
		if len(b.Changes) > 0 || dropped == 0 {
			return b, nil
		}
	}
	return connector.Batch{}, nil
}

// batch takes up to max changes from the head of pending; see Changes.
// Echoes and stale changes are released at once. Called with changes.mu held.
func (s *System) batch(max int) (connector.Batch, int) {
	in := s.changes
	var out []record.Change
	var token, drop []*entry
	at := map[recordKey]int{} // record → index in out
	for _, e := range in.pending {
		if len(token) == max {
			break
		}
		m := e.val.(*inChange)
		k := recordKey{m.c.Entity, m.c.Key}
		if m.cause != "" && !m.c.Echo {
			s.log.Debug("dropped an echo", "entity", m.c.Entity, "key", m.c.Key, "cause", m.cause)
			drop = append(drop, e)
			s.noteVersion(k, m.c.Version)
			continue
		}
		if v, ok := s.latest.get(k); ok && m.c.Version > 0 && m.c.Version <= v {
			s.log.Debug("dropped a change older than one stored", "entity", m.c.Entity, "key", m.c.Key,
				"version", m.c.Version, "stored", v)
			drop = append(drop, e)
			continue
		}
		if i, ok := at[k]; ok && m.c.Echo && !out[i].Echo {
			// An echo after a change of the record's users: it is weighed
			// once that change is stored, in the next batch.
			break
		}
		token = append(token, e)
		if i, ok := at[k]; ok {
			// Keep the record's first place in the batch (parents stay
			// ahead of their children) with its newest state.
			if m.c.Version >= out[i].Version {
				out[i] = m.c
			}
			continue
		}
		at[k] = len(out)
		out = append(out, m.c)
	}
	// What is dropped has nothing to store: release it now, so that a
	// run of echoes never stands in the way.
	in.ack(in.done(drop))
	return connector.Batch{Changes: out, Ack: token}, len(drop)
}

// noteVersion remembers that version of record k is stored (or needs no
// storing). Called with changes.mu held.
func (s *System) noteVersion(k recordKey, version int64) {
	if version <= 0 {
		return
	}
	if v, ok := s.latest.get(k); !ok || version > v {
		s.latest.put(k, version)
	}
}

// Ack implements connector.Source: the batch is stored, so its messages
// are acknowledged and remembered.
func (s *System) Ack(_ context.Context, b connector.Batch) error {
	es, ok := b.Ack.([]*entry)
	if !ok {
		if b.Ack == nil {
			return nil
		}
		return fmt.Errorf("ack to queue system %q: not a token of this system (%T)", s.name, b.Ack)
	}
	in := s.changes
	in.mu.Lock()
	defer in.mu.Unlock()
	for _, e := range es {
		m := e.val.(*inChange)
		s.noteVersion(recordKey{m.c.Entity, m.c.Key}, m.c.Version)
	}
	in.ack(in.done(es))
	return nil
}

// reject moves an entry that is not a change to the rejected list.
// Called with changes.mu held.
func (s *System) reject(e *entry) bool {
	r, ok := e.val.(*rejection)
	if !ok {
		return false
	}
	s.log.Warn("rejected a message from the system", "queue", s.changes.queue, "id", e.id,
		"entity", r.entity, "key", r.key, "field", r.field, "reason", r.reason)
	s.rejected = append(s.rejected, e)
	return true
}

// decodeChange reads a message of the outbound queue.
func (s *System) decodeChange(d broker.Delivery) (string, any) {
	m, err := contract.DecodeChange(d.Body)
	if err != nil {
		var ce *contract.Error
		if errors.As(err, &ce) {
			r := &rejection{key: ce.Key, field: ce.Field, reason: ce.Error()}
			if t, ok := s.byName[ce.Entity]; ok {
				r.entity = t.Entity
			}
			return ce.ID, r
		}
		return "", &rejection{reason: err.Error()}
	}
	t, ok := s.byName[m.Entity]
	switch {
	case m.System != s.name:
		return m.ID, &rejection{key: m.Key, fields: m.Fields, reason: fmt.Sprintf(
			"message %s names system %q, but queue %s belongs to system %q", m.ID, m.System, s.changes.queue, s.name)}
	case !ok:
		return m.ID, &rejection{key: m.Key, fields: m.Fields, reason: fmt.Sprintf(
			"message %s is about entity %q, which system %q does not map; mapped: %s", m.ID, m.Entity, s.name, s.names())}
	case m.Key == "":
		return m.ID, &rejection{entity: t.Entity, fields: m.Fields, reason: fmt.Sprintf(
			"message %s has no key: a system's change must carry the record's key", m.ID)}
	}
	c := record.Change{System: s.name, Entity: t.Entity, Key: m.Key, Op: m.Op, GID: m.GID, Version: m.Version, At: m.At}
	if c.At.IsZero() {
		c.At = time.Now()
	}
	if m.Op == record.Upsert {
		known := s.fields[t.Entity]
		c.Fields = make(record.Fields, len(m.Fields))
		for f, v := range m.Fields {
			if known[f] {
				c.Fields[f] = v
				continue
			}
			if _, warned := s.warned.LoadOrStore(t.Entity+"\x00"+f, true); !warned {
				s.log.Warn("ignoring a field the mapping does not name", "entity", t.Name, "field", f)
			}
		}
	}
	in := &inChange{c: c, cause: m.Cause}
	if m.Cause != "" && m.Op == record.Upsert {
		// An echo of a write that names its version is weighed against
		// the golden record: the system may have applied it after a
		// newer change of its own users, and then needs the record again.
		if in.c.Base = causeVersion(m.Cause); in.c.Base > 0 {
			in.c.Echo = true
		}
	}
	return m.ID, in
}

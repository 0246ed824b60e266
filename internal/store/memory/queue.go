package memory

import (
	"cmp"
	"slices"
	"time"

	"github.com/tandemhub/tandem/internal/record"
	"github.com/tandemhub/tandem/internal/store"
)

// sentKept is how many writes of one delivery MarkSent remembers.
const sentKept = 3

func queueKey(system, entity, gid string) linkKey { return linkKey{system, entity, gid} }

// bySeq finds the entry at queue position seq.
func (t *tx) bySeq(seq int64) (linkKey, entry, bool) {
	for k, e := range t.st.outbound {
		if e.Seq == seq {
			return k, e, true
		}
	}
	return linkKey{}, entry{}, false
}

// Enqueue implements store.Queue.
func (t *tx) Enqueue(system, entity, gid string, ver int64, now time.Time) error {
	if err := t.writable(); err != nil {
		return err
	}
	k := queueKey(system, entity, gid)
	if e, ok := t.st.outbound[k]; ok {
		t.st.outbound[k] = t.queuedAgain(e, ver)
		return nil
	}
	// A new entry goes after every queued one.
	var last int64
	for _, e := range t.st.outbound {
		last = max(last, e.Seq)
	}
	t.st.outbound[k] = entry{Outbound: store.Outbound{Seq: last + 1, System: system, Entity: entity, GID: gid, Ver: ver,
		Created: now.UTC(), Gen: t.drawGen()}}
	return nil
}

// renewed is e moved to version ver and due at once, its failures forgotten.
func renewed(e entry, ver int64) entry {
	e.Ver, e.Attempts, e.NextAt, e.Wait, e.Error = ver, 0, time.Time{}, "", ""
	return e
}

// queuedAgain is e renewed at version ver in this transaction.
func (t *tx) queuedAgain(e entry, ver int64) entry {
	e = renewed(e, ver)
	e.Gen = t.drawGen()
	return e
}

// Touch implements store.Queue.
func (t *tx) Touch(system, entity, gid string, ver int64) error {
	if err := t.writable(); err != nil {
		return err
	}
	k := queueKey(system, entity, gid)
	t.drawGen() // as the SQLite store draws it, whether or not an entry is there
	if e, ok := t.st.outbound[k]; ok {
		t.st.outbound[k] = t.queuedAgain(e, ver)
	}
	return nil
}

// Due implements store.Queue.
func (t *tx) Due(system string, now time.Time, after int64, max int) ([]store.Outbound, error) {
	var out []store.Outbound
	for _, e := range t.st.outbound {
		if e.System == system && e.Seq > after && !e.NextAt.After(now) {
			out = append(out, e.Outbound)
		}
	}
	slices.SortFunc(out, func(a, b store.Outbound) int { return cmp.Compare(a.Seq, b.Seq) })
	return out[:min(len(out), max)], nil
}

// Done implements store.Queue.
func (t *tx) Done(o store.Outbound) error {
	if err := t.writable(); err != nil {
		return err
	}
	if k, e, ok := t.bySeq(o.Seq); ok && e.Gen == o.Gen {
		delete(t.st.outbound, k)
	}
	return nil
}

// Defer implements store.Queue.
func (t *tx) Defer(o store.Outbound) error {
	if err := t.writable(); err != nil {
		return err
	}
	k, e, ok := t.bySeq(o.Seq)
	if !ok {
		return nil
	}
	e.Attempts, e.NextAt, e.Wait, e.Error, e.Tried = o.Attempts, o.NextAt.UTC(), o.Wait, o.Error, e.Tried || o.Tried
	if e.Gen != o.Gen {
		// Queued again meanwhile: it is due at once.
		e = renewed(e, e.Ver)
	}
	t.st.outbound[k] = e
	return nil
}

// Settle implements store.Queue.
func (t *tx) Settle(system, entity, gid string, ver int64) error {
	if err := t.writable(); err != nil {
		return err
	}
	k := queueKey(system, entity, gid)
	if e, ok := t.st.outbound[k]; ok && e.Ver <= ver {
		delete(t.st.outbound, k)
	}
	return nil
}

// Unsettle implements store.Queue.
func (t *tx) Unsettle() error {
	if err := t.writable(); err != nil {
		return err
	}
	for k, e := range t.st.outbound {
		e.Tried = true
		t.st.outbound[k] = e
	}
	return nil
}

// Drop implements store.Queue.
func (t *tx) Drop(o store.Outbound) error {
	if err := t.writable(); err != nil {
		return err
	}
	if k, _, ok := t.bySeq(o.Seq); ok {
		delete(t.st.outbound, k)
	}
	return nil
}

// Backlog implements store.Backlogs.
func (t *tx) Backlog() ([]store.Pending, error) {
	by := map[pair]*store.Pending{}
	for _, e := range t.st.outbound {
		p := by[pair{e.System, e.Entity}]
		if p == nil {
			p = &store.Pending{System: e.System, Entity: e.Entity, Oldest: e.Created}
			by[pair{e.System, e.Entity}] = p
		}
		p.N++
		if e.Created.Before(p.Oldest) {
			p.Oldest = e.Created
		}
		if !e.NextAt.IsZero() {
			p.Waiting++
		}
		if e.Wait != "" {
			p.Parents++
			if p.OldestParent.IsZero() || e.Created.Before(p.OldestParent) {
				p.OldestParent = e.Created
			}
		}
	}
	var out []store.Pending
	for _, p := range by {
		out = append(out, *p)
	}
	slices.SortFunc(out, func(a, b store.Pending) int {
		return cmp.Or(cmp.Compare(a.System, b.System), cmp.Compare(a.Entity, b.Entity))
	})
	return out, nil
}

// Waiting implements store.Backlogs.
func (t *tx) Waiting(limit int) ([]store.Outbound, error) {
	var out []store.Outbound
	for _, e := range t.st.outbound {
		if !e.NextAt.IsZero() {
			out = append(out, e.Outbound)
		}
	}
	slices.SortFunc(out, func(a, b store.Outbound) int {
		return cmp.Or(a.Created.Compare(b.Created), cmp.Compare(a.Seq, b.Seq))
	})
	return out[:min(len(out), limit)], nil
}

// MarkSent implements store.SentNotes.
func (t *tx) MarkSent(system, entity, gid string, f record.Fields, at time.Time) error {
	if err := t.writable(); err != nil {
		return err
	}
	k := queueKey(system, entity, gid)
	e, ok := t.st.outbound[k]
	if !ok {
		return nil
	}
	// A new slice: the one in e may be shared with the committed state.
	sent := append(slices.Clone(e.sent), store.Sent{At: at, Fields: fields(f)})
	e.sent = sent[max(0, len(sent)-sentKept):]
	t.st.outbound[k] = e
	return nil
}

// Sent implements store.SentNotes.
func (t *tx) Sent(system, entity, gid string) ([]store.Sent, error) {
	e := t.st.outbound[queueKey(system, entity, gid)]
	out := make([]store.Sent, 0, len(e.sent))
	for _, s := range e.sent {
		s.Fields = fields(s.Fields)
		out = append(out, s)
	}
	return out, nil
}

// MarkAnswered implements store.SentNotes.
func (t *tx) MarkAnswered(system, entity, gid string, stamp int64) error {
	if err := t.writable(); err != nil {
		return err
	}
	k := queueKey(system, entity, gid)
	e, ok := t.st.outbound[k]
	if !ok || len(e.sent) == 0 {
		return nil
	}
	e.sent = slices.Clone(e.sent)
	e.sent[len(e.sent)-1].Stamp = stamp
	t.st.outbound[k] = e
	return nil
}

// ClearSent implements store.SentNotes.
func (t *tx) ClearSent(system, entity, gid string) error {
	if err := t.writable(); err != nil {
		return err
	}
	k := queueKey(system, entity, gid)
	if e, ok := t.st.outbound[k]; ok {
		e.sent = nil
		t.st.outbound[k] = e
	}
	return nil
}

package memory

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/tandemhub/tandem/internal/record"
	"github.com/tandemhub/tandem/internal/store"
)

// Golden implements store.Goldens.
func (t *tx) Golden(entity, gid string) (*store.Golden, error) {
	g, ok := t.st.golden[gidKey{entity, gid}]
	if !ok {
		return nil, nil
	}
	return copyGolden(g), nil
}

// Heads implements store.Goldens.
func (t *tx) Heads(entity string, gids []string) (map[string]store.Head, error) {
	out := map[string]store.Head{}
	for _, gid := range gids {
		if g, ok := t.st.golden[gidKey{entity, gid}]; ok {
			out[gid] = store.Head{Ver: g.Ver, Deleted: g.Deleted}
		}
	}
	return out, nil
}

func copyGolden(g store.Golden) *store.Golden {
	g.Fields = fields(g.Fields)
	g.Sources = maps.Clone(g.Sources)
	return &g
}

// PutGolden implements store.Goldens.
func (t *tx) PutGolden(g *store.Golden) error {
	if err := t.writable(); err != nil {
		return err
	}
	c := copyGolden(*g)
	c.Updated, c.At = c.Updated.UTC(), c.At.UTC()
	t.st.golden[gidKey{g.Entity, g.GID}] = *c
	return nil
}

// GoldenPage implements store.Goldens.
func (t *tx) GoldenPage(entity, after string, limit int) ([]store.Golden, error) {
	var gids []string
	for k := range t.st.golden {
		if k.entity == entity && k.gid > after {
			gids = append(gids, k.gid)
		}
	}
	slices.Sort(gids)
	var out []store.Golden
	for _, gid := range gids[:min(len(gids), limit)] {
		out = append(out, *copyGolden(t.st.golden[gidKey{entity, gid}]))
	}
	return out, nil
}

// Append implements store.Log.
func (t *tx) Append(c *store.Change) error {
	if err := t.writable(); err != nil {
		return err
	}
	c.Seq = 1
	if n := len(t.st.changes); n > 0 {
		c.Seq = t.st.changes[n-1].Seq + 1
	}
	if c.Logged.IsZero() {
		c.Logged = time.Now()
	}
	t.st.changes = append(t.st.changes, logged(c))
	return nil
}

// logged is what the change log keeps of c: the change's identity,
// operation, fields, version and time, and its state in the log.
func logged(c *store.Change) store.Change {
	return store.Change{Seq: c.Seq, State: c.State, Note: c.Note, Logged: c.Logged.UTC(), Change: record.Change{
		System: c.System, Entity: c.Entity, Key: c.Key, Op: c.Op, Fields: fields(c.Fields), GID: c.GID,
		Version: c.Version, At: c.At.UTC()}}
}

// SetState implements store.Log.
func (t *tx) SetState(seq int64, s store.State, note string) error {
	if err := t.writable(); err != nil {
		return err
	}
	i, ok := slices.BinarySearchFunc(t.st.changes, seq, func(c store.Change, seq int64) int { return cmp.Compare(c.Seq, seq) })
	if ok {
		t.st.changes[i].State, t.st.changes[i].Note = s, note
	}
	return nil
}

// HeldChanges implements store.Log.
func (t *tx) HeldChanges(limit int) ([]store.Change, error) {
	var out []store.Change
	for _, c := range t.st.changes {
		if len(out) == limit {
			break
		}
		if c.State == store.Held {
			out = append(out, c)
		}
	}
	return out, nil
}

// HeldKeys implements store.Log.
func (t *tx) HeldKeys(system, entity string, keys []string) (map[string]bool, error) {
	want := map[string]bool{}
	for _, k := range keys {
		want[k] = true
	}
	out := map[string]bool{}
	for _, c := range t.st.changes {
		if c.State == store.Held && c.System == system && c.Entity == entity && want[c.Key] {
			out[c.Key] = true
		}
	}
	return out, nil
}

// Holds implements store.Log.
func (t *tx) Holds() ([]store.Holds, error) {
	by := map[pair]*store.Holds{}
	for _, c := range t.st.changes {
		if c.State != store.Held {
			continue
		}
		h := by[pair{c.System, c.Entity}]
		if h == nil {
			h = &store.Holds{System: c.System, Entity: c.Entity, Oldest: c.Logged}
			by[pair{c.System, c.Entity}] = h
		}
		h.N++
		if c.Logged.Before(h.Oldest) {
			h.Oldest = c.Logged
		}
	}
	var out []store.Holds
	for _, h := range by {
		out = append(out, *h)
	}
	slices.SortFunc(out, func(a, b store.Holds) int {
		return cmp.Or(cmp.Compare(a.System, b.System), cmp.Compare(a.Entity, b.Entity))
	})
	return out, nil
}

// History implements store.Log.
func (t *tx) History(entity, gid string) ([]store.Change, error) {
	var out []store.Change
	for _, c := range t.st.changes {
		if c.Entity == entity && c.GID == gid {
			out = append(out, c)
		}
	}
	return out, nil
}

// AddDead implements store.DLQ.
func (t *tx) AddDead(d *store.DeadLetter) error {
	if err := t.writable(); err != nil {
		return err
	}
	d.ID = int64(len(t.st.dead)) + 1
	if d.State == "" {
		d.State = store.DeadOpen
	}
	cp := *d
	cp.Fields = fields(d.Fields)
	t.st.dead = append(t.st.dead, cp)
	return nil
}

// DeadLetters implements store.DLQ.
func (t *tx) DeadLetters(state store.DeadState, limit int) ([]store.DeadLetter, error) {
	var out []store.DeadLetter
	for _, d := range t.st.dead {
		if len(out) == limit {
			break
		}
		if state == "" || d.State == state {
			out = append(out, d)
		}
	}
	return out, nil
}

// DeadLetter implements store.DLQ.
func (t *tx) DeadLetter(id int64) (*store.DeadLetter, error) {
	if id < 1 || id > int64(len(t.st.dead)) {
		return nil, fmt.Errorf("no dead letter %d", id)
	}
	d := t.st.dead[id-1]
	return &d, nil
}

// SetDeadState implements store.DLQ.
func (t *tx) SetDeadState(id int64, s store.DeadState) error {
	if err := t.writable(); err != nil {
		return err
	}
	if id >= 1 && id <= int64(len(t.st.dead)) {
		t.st.dead[id-1].State = s
	}
	return nil
}

// ResolveDead implements store.DLQ.
func (t *tx) ResolveDead(stage store.Stage, system, entity, keyOrGID string) error {
	if err := t.writable(); err != nil {
		return err
	}
	for i, d := range t.st.dead {
		which := d.Key
		if stage == store.StageDeliver {
			which = d.GID
		}
		if d.Stage == stage && d.System == system && d.Entity == entity && which == keyOrGID &&
			(d.State == store.DeadOpen || d.State == store.DeadRetried) {
			t.st.dead[i].State = store.DeadResolved
		}
	}
	return nil
}

// HasOpenDead implements store.DLQ.
func (t *tx) HasOpenDead(stage store.Stage) (bool, error) {
	for _, d := range t.st.dead {
		if d.Stage == stage && (d.State == store.DeadOpen || d.State == store.DeadRetried || d.State == store.DeadRetry) {
			return true, nil
		}
	}
	return false, nil
}

// Cursor implements store.Cursors.
func (t *tx) Cursor(system, name string) (string, bool, error) {
	v, ok := t.st.cursors[pair{system, name}]
	return v, ok, nil
}

// PutCursor implements store.Cursors.
func (t *tx) PutCursor(system, name, value string) error {
	if err := t.writable(); err != nil {
		return err
	}
	t.st.cursors[pair{system, name}] = value
	return nil
}

// AddCount implements store.Counters.
func (t *tx) AddCount(c store.Count) error {
	if err := t.writable(); err != nil {
		return err
	}
	k := pair{c.System, c.Entity}
	have := t.st.counts[k]
	have.System, have.Entity = c.System, c.Entity
	have.Captured += c.Captured
	have.Dropped += c.Dropped
	have.Delivered += c.Delivered
	have.Dead += c.Dead
	if c.LastCapture.After(have.LastCapture) {
		have.LastCapture = c.LastCapture.UTC()
	}
	if c.LastDelivery.After(have.LastDelivery) {
		have.LastDelivery = c.LastDelivery.UTC()
	}
	t.st.counts[k] = have
	return nil
}

// Counts implements store.Counters.
func (t *tx) Counts() ([]store.Count, error) {
	out := slices.Collect(maps.Values(t.st.counts))
	slices.SortFunc(out, func(a, b store.Count) int {
		return cmp.Or(cmp.Compare(a.System, b.System), cmp.Compare(a.Entity, b.Entity))
	})
	return out, nil
}

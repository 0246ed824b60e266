package memory

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/tandemhub/tandem/internal/connector"
	"github.com/tandemhub/tandem/internal/record"
)

// System is an in-memory system. Its methods are safe for concurrent use.
type System struct {
	name   string
	mu     sync.Mutex
	tables map[string]*table // by entity
	feed   []record.Change   // captured, not yet acknowledged
	seq    int64
	nextID int64
	// Fail, when set, is called before each Apply; a non-nil error fails it.
	Fail func(entity string, ws []record.Write) error
	// FailEach, when set, is called for each write of an Apply; a non-nil
	// error is that write's result, and the write is not made. It is
	// called with the system locked and must not call it.
	FailEach func(entity string, w record.Write) error
}

type table struct {
	cfg  connector.Table
	rows map[string]record.Fields
	gids map[string]string // gid → key of rows tandem created
}

// New makes an empty system holding tables.
func New(name string, tables []connector.Table) *System {
	s := &System{name: name, tables: map[string]*table{}}
	for _, t := range tables {
		s.tables[t.Entity] = &table{cfg: t, rows: map[string]record.Fields{}, gids: map[string]string{}}
	}
	return s
}

// Setup implements connector.Installer; there is nothing to install.
func (s *System) Setup(context.Context) error { return nil }

// Close implements connector.Source and connector.Destination.
func (s *System) Close(context.Context) error { return nil }

// Put writes a row as the system's own application would: the change is captured.
func (s *System) Put(entity, key string, f record.Fields) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tables[entity]
	t.rows[key] = cloneFields(f)
	s.seq++
	s.feed = append(s.feed, record.Change{System: s.name, Entity: entity, Key: key, Op: record.Upsert,
		Fields: cloneFields(f), Version: s.seq, At: time.Now()})
}

// Overwrite changes a row without capturing the change, like an edit
// that bypassed capture (tests use it to check re-reading).
func (s *System) Overwrite(entity, key string, f record.Fields) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tables[entity].rows[key] = cloneFields(f)
}

// Delete removes a row as the application would: the change is captured.
func (s *System) Delete(entity, key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.tables[entity].rows, key)
	s.seq++
	s.feed = append(s.feed, record.Change{System: s.name, Entity: entity, Key: key, Op: record.Delete,
		Version: s.seq, At: time.Now()})
}

// Remove deletes a row without capturing the change, like a delete
// tandem cannot see (an API that keeps no record of deletes). A create
// of the record it held makes a new row.
func (s *System) Remove(entity, key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tables[entity]
	delete(t.rows, key)
	for g, k := range t.gids {
		if k == key {
			delete(t.gids, g)
		}
	}
}

// Rows returns a copy of an entity's rows by key.
func (s *System) Rows(entity string) map[string]record.Fields {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]record.Fields{}
	for k, f := range s.tables[entity].rows {
		out[k] = cloneFields(f)
	}
	return out
}

// Backlog is the number of captured changes not yet acknowledged.
func (s *System) Backlog() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.feed)
}

// Snapshot implements connector.Source, in key order.
func (s *System) Snapshot(_ context.Context, entity, after string, max int) ([]record.Change, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tables[entity]
	if !ok {
		return nil, "", fmt.Errorf("memory system %s has no entity %s", s.name, entity)
	}
	keys := make([]string, 0, len(t.rows))
	for k := range t.rows {
		if after == "" || k > after {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	if len(keys) > max {
		keys = keys[:max]
	}
	out := make([]record.Change, len(keys))
	for i, k := range keys {
		out[i] = record.Change{System: s.name, Entity: entity, Key: k, Op: record.Upsert, Fields: cloneFields(t.rows[k]), GID: t.gidOf(k)}
	}
	next := after
	if len(keys) > 0 {
		next = keys[len(keys)-1]
	}
	return out, next, nil
}

func (t *table) gidOf(key string) string {
	for g, k := range t.gids {
		if k == key {
			return g
		}
	}
	return ""
}

// Changes implements connector.Source. Like the SQL connectors it reports
// each changed record's state at the time of reading, not at the time of
// the change, so a change read late never carries stale values.
func (s *System) Changes(_ context.Context, max int) (connector.Batch, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := min(max, len(s.feed))
	out := make([]record.Change, n)
	for i, c := range s.feed[:n] {
		t := s.tables[c.Entity]
		if row, ok := t.rows[c.Key]; ok {
			c.Op, c.Fields = record.Upsert, cloneFields(row)
		} else {
			c.Op, c.Fields = record.Delete, nil
		}
		c.GID = t.gidOf(c.Key)
		out[i] = c
	}
	return connector.Batch{Changes: out, Ack: n}, nil
}

// Ack implements connector.Source.
func (s *System) Ack(_ context.Context, b connector.Batch) error {
	n, _ := b.Ack.(int)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.feed = s.feed[n:]
	return nil
}

// Fetch implements connector.Source.
func (s *System) Fetch(_ context.Context, entity string, keys []string) ([]record.Change, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tables[entity]
	out := make([]record.Change, len(keys))
	for i, k := range keys {
		if f, ok := t.rows[k]; ok {
			out[i] = record.Change{System: s.name, Entity: entity, Key: k, Op: record.Upsert, Fields: cloneFields(f)}
		} else {
			out[i] = record.Change{System: s.name, Entity: entity, Key: k, Op: record.Delete}
		}
	}
	return out, nil
}

// Apply implements connector.Destination. Writes are not captured (no echo).
func (s *System) Apply(_ context.Context, entity string, ws []record.Write) ([]record.Result, error) {
	if s.Fail != nil {
		if err := s.Fail(entity, ws); err != nil {
			return nil, err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tables[entity]
	if !ok {
		return nil, fmt.Errorf("memory system %s has no entity %s", s.name, entity)
	}
	res := make([]record.Result, len(ws))
	for i, w := range ws {
		if s.FailEach != nil {
			if err := s.FailEach(entity, w); err != nil {
				res[i] = record.Result{Key: w.Key, Err: err}
				continue
			}
		}
		key := w.Key
		if key == "" {
			key = t.gids[w.GID]
		}
		if w.Op == record.Delete {
			if key != "" {
				delete(t.rows, key)
			}
			res[i].Key = key
			continue
		}
		if key != "" && t.rows[key] == nil {
			res[i].Key = key // deleted here: an update does not bring it back
			continue
		}
		if key == "" {
			if t.cfg.KeyGenerated {
				s.nextID++
				key = strconv.FormatInt(s.nextID, 10)
			} else {
				key = w.GID
			}
			t.gids[w.GID] = key
		}
		row := t.rows[key]
		if row == nil {
			row = record.Fields{}
			t.rows[key] = row
		}
		for c, v := range w.Fields {
			row[c] = v
		}
		res[i].Key = key
	}
	return res, nil
}

func cloneFields(f record.Fields) record.Fields {
	if f == nil {
		return nil
	}
	out := make(record.Fields, len(f))
	for k, v := range f {
		out[k] = v
	}
	return out
}

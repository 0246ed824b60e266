package sim

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"
)

// Rec is one record of a simulated system.
type Rec struct {
	ID      string
	Fields  map[string]any
	Created time.Time
	Updated time.Time
	Deleted bool
	// Version counts the record's writes, from 1 at its create.
	Version int64
}

func (r *Rec) clone() *Rec {
	c := *r
	c.Fields = maps.Clone(r.Fields)
	return &c
}

// Event is one change, as a webhook reports it.
type Event struct {
	Kind       string // created, updated, deleted
	Collection string
	ID         string
	At         time.Time
}

// Store holds the records of a simulated system, by collection. Stamps
// have millisecond resolution, as most APIs give them, so records often
// share one; they never go backwards. It is safe for concurrent use.
type Store struct {
	mu     sync.Mutex
	colls  map[string]map[string]*Rec
	last   time.Time
	seq    int64
	newID  func(coll string, seq int64) string
	listen []func(Event)
	// Validate checks a record before it is written; a non-nil error
	// (a *FieldError) refuses it.
	Validate func(coll string, fields map[string]any) error
	// Clock, when set, replaces time.Now for stamps (tests).
	Clock func() time.Time
}

// FieldError is a refused value.
type FieldError struct {
	Field, Code, Message string
}

func (e *FieldError) Error() string { return e.Message }

// NewStore makes an empty store whose ids newID makes.
func NewStore(newID func(coll string, seq int64) string) *Store {
	return &Store{colls: map[string]map[string]*Rec{}, newID: newID}
}

// OnChange registers fn to hear of every change (webhooks).
func (s *Store) OnChange(fn func(Event)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.listen = append(s.listen, fn)
}

func (s *Store) now() time.Time {
	now := time.Now
	if s.Clock != nil {
		now = s.Clock
	}
	t := now().UTC().Truncate(time.Millisecond)
	if t.Before(s.last) {
		t = s.last
	}
	s.last = t
	return t
}

func (s *Store) coll(name string) map[string]*Rec {
	c := s.colls[name]
	if c == nil {
		c = map[string]*Rec{}
		s.colls[name] = c
	}
	return c
}

func (s *Store) emit(e Event) {
	for _, fn := range s.listen {
		fn(e)
	}
}

// Create adds a record and returns a copy.
func (s *Store) Create(coll string, fields map[string]any) (*Rec, error) {
	s.mu.Lock()
	if s.Validate != nil {
		if err := s.Validate(coll, fields); err != nil {
			s.mu.Unlock()
			return nil, err
		}
	}
	s.seq++
	now := s.now()
	r := &Rec{ID: s.newID(coll, s.seq), Fields: maps.Clone(fields), Created: now, Updated: now, Version: 1}
	if r.Fields == nil {
		r.Fields = map[string]any{}
	}
	s.coll(coll)[r.ID] = r
	out := r.clone()
	s.mu.Unlock()
	s.emit(Event{Kind: "created", Collection: coll, ID: r.ID, At: now})
	return out, nil
}

// ErrNotFound is returned for an id the collection does not hold.
var ErrNotFound = fmt.Errorf("not found")

// ErrConflict is returned by UpdateIf for a record written since the
// version it was given.
var ErrConflict = fmt.Errorf("changed since the version given")

// Update sets fields of a live record and returns a copy.
func (s *Store) Update(coll, id string, fields map[string]any) (*Rec, error) {
	return s.UpdateIf(coll, id, fields, 0)
}

// UpdateIf is Update only while the record is at version (0: any).
func (s *Store) UpdateIf(coll, id string, fields map[string]any, version int64) (*Rec, error) {
	s.mu.Lock()
	r := s.coll(coll)[id]
	if r == nil || r.Deleted {
		s.mu.Unlock()
		return nil, ErrNotFound
	}
	if version > 0 && r.Version != version {
		s.mu.Unlock()
		return nil, ErrConflict
	}
	if s.Validate != nil {
		merged := maps.Clone(r.Fields)
		maps.Copy(merged, fields)
		if err := s.Validate(coll, merged); err != nil {
			s.mu.Unlock()
			return nil, err
		}
	}
	maps.Copy(r.Fields, fields)
	r.Updated = s.now()
	r.Version++
	out := r.clone()
	s.mu.Unlock()
	s.emit(Event{Kind: "updated", Collection: coll, ID: id, At: out.Updated})
	return out, nil
}

// Delete marks a record deleted (it stays as a tombstone for listings
// of deletes).
func (s *Store) Delete(coll, id string) error {
	s.mu.Lock()
	r := s.coll(coll)[id]
	if r == nil || r.Deleted {
		s.mu.Unlock()
		return ErrNotFound
	}
	r.Deleted, r.Updated = true, s.now()
	at := r.Updated
	s.mu.Unlock()
	s.emit(Event{Kind: "deleted", Collection: coll, ID: id, At: at})
	return nil
}

// Get returns a copy of a record, deleted or not, or nil.
func (s *Store) Get(coll, id string) *Rec {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.coll(coll)[id]; r != nil {
		return r.clone()
	}
	return nil
}

// List returns copies of the records for which keep is true, ordered by
// (Updated, ID).
func (s *Store) List(coll string, keep func(*Rec) bool) []*Rec {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*Rec
	for _, r := range s.coll(coll) {
		if keep == nil || keep(r) {
			out = append(out, r.clone())
		}
	}
	slices.SortFunc(out, func(a, b *Rec) int {
		return cmp.Or(a.Updated.Compare(b.Updated), cmp.Compare(a.ID, b.ID))
	})
	return out
}

// Live returns the live records of a collection by id.
func (s *Store) Live(coll string) map[string]map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]map[string]any{}
	for id, r := range s.coll(coll) {
		if !r.Deleted {
			out[id] = maps.Clone(r.Fields)
		}
	}
	return out
}

// LiveBy returns the live records of a collection by the value of field,
// each with its id under idField. Two records with one value are an
// error: tests use it to show that nothing was made twice.
func (s *Store) LiveBy(coll, field, idField string) (map[string]map[string]any, error) {
	out := map[string]map[string]any{}
	for id, f := range s.Live(coll) {
		v := fmt.Sprint(f[field])
		if _, dup := out[v]; dup {
			return nil, fmt.Errorf("two %s records have %s %s", coll, field, v)
		}
		f[idField] = id
		out[v] = f
	}
	return out, nil
}

// Find returns the live records whose field equals value.
func (s *Store) Find(coll, field string, value any) []*Rec {
	return s.List(coll, func(r *Rec) bool {
		return !r.Deleted && fmt.Sprint(r.Fields[field]) == fmt.Sprint(value)
	})
}

package http

import (
	"encoding/json"
	"time"

	"github.com/tandemhub/tandem/internal/connector/rest"
	"github.com/tandemhub/tandem/internal/record"
)

// own notes the stamp an answer gave the record tandem just wrote, with
// its content: the feed reading the record at that stamp, as the answer
// showed it, reads tandem's own write, of golden version ver. The stamp
// may be new (the system stamped the write, or one of its users wrote
// between tandem's look and its write) or the one from before (a stamp
// to the millisecond, or a system that leaves stamping to its users).
func (s *System) own(r *resource, key, gid string, resp *rest.Response, before rest.Stamp, ver int64) {
	if r.cfg.Updated == "" || resp == nil {
		return
	}
	var v any
	if err := resp.JSON(&v); err != nil {
		return
	}
	s.ownRecord(r, key, gid, rest.Get(v, r.cfg.Record), before, ver)
}

// ownRecord is own for rec, the record as an answer (or one result of a
// batch answer) holds it.
func (s *System) ownRecord(r *resource, key, gid string, rec any, before rest.Stamp, ver int64) {
	if r.cfg.Updated == "" {
		return
	}
	st, err := rest.ParseStamp(rest.Get(rec, r.cfg.Updated))
	if err != nil {
		return
	}
	if s.answered != nil && gid != "" {
		s.answered(r.Entity, gid, st.Order)
	}
	if f := s.feeds[r.Entity]; f != nil && before.Order != 0 && st.Time == before.Time {
		// An update of a record whose stamp tandem read just before:
		// the answer shows whether the system stamps tandem's writes. A
		// stamp that did not move says so only when it is old: a system
		// stamping to the millisecond gives a write soon after the last
		// the same stamp.
		switch {
		case st.Order != before.Order:
			f.Learn(rest.StampingStamps)
		case st.Time && time.Since(time.Unix(0, st.Order)) > keptAfter:
			f.Learn(rest.StampingKeeps)
		}
	}
	sum, has := r.contentSum(rec, 0)
	if st.Order == before.Order && has == 0 {
		// The stamp did not move and the answer shows no content: the
		// stamp cannot tell tandem's write from the edit it had before.
		// (A stamp to the millisecond often does not move; the content
		// tells a read of tandem's write from the earlier edit then.)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.owned) > 100000 {
		clear(s.owned)
	}
	s.owned[[2]string{r.Entity, key}] = owned{order: st.Order, sum: sum, has: has, ver: ver}
}

// keptAfter is how old a stamp an update's answer still shows must be
// to say the system leaves stamping to its users: more than the
// coarsest stamps and some clock skew.
const keptAfter = 3 * time.Second

// owned is what an answer showed of tandem's last write of a record: its
// stamp, and a checksum of its mapped fields.
type owned struct {
	order    int64
	sum, has uint64 // see resource.contentSum
	ver      int64  // the golden version written (record.Write.Ver)
	// until is, for a write whose answer never came, how long a read of
	// its content still counts as its echo (see expect).
	until time.Time
	// seen is set, for a write in flight, once a read matched it, at
	// stamp order (see beingWritten).
	seen bool
}

// unsureFor is how long a write with no answer may still show up in
// capture's reads as tandem's own.
const unsureFor = 2 * time.Minute

// expect notes that tandem is writing w to the record under key (a
// create: key is "", and the record is known by its lookup field).
// Capture may read the record between the write and its answer, before
// own can mark its stamp, or the answer may never come (lost, or the
// request failed after it was sent): a read holding what w writes is
// then tandem's own write too. The returned func ends the note once the
// write is answered (ok; own knows the write then), and otherwise keeps
// it for unsureFor.
func (s *System) expect(r *resource, key string, w record.Write) func(ok bool) {
	id := [2]string{r.Entity, key}
	if key == "" {
		if r.cfg.Lookup == "" {
			return func(bool) {}
		}
		id[1] = "\x00" + w.GID
	}
	m := make(map[string]any, len(w.Fields))
	for k, v := range w.Fields {
		rest.Set(m, k, v)
	}
	var rec map[string]any // as a read would decode it
	if b, err := json.Marshal(m); err != nil || json.Unmarshal(b, &rec) != nil {
		return func(bool) {}
	}
	sum, has := r.contentSum(rec, 0)
	if has == 0 {
		return func(bool) {}
	}
	s.mu.Lock()
	if len(s.writing) > 100000 {
		clear(s.writing)
	}
	s.writing[id] = owned{sum: sum, has: has, ver: w.Ver}
	s.mu.Unlock()
	return func(ok bool) {
		s.mu.Lock()
		defer s.mu.Unlock()
		if ok {
			delete(s.writing, id)
			return
		}
		o := s.writing[id]
		o.until = time.Now().Add(unsureFor)
		s.writing[id] = o
	}
}

// beingWritten reports whether rec, under key and read at st, holds
// what tandem is writing to it now (see expect), and the golden version
// written. One write lands once: once a read at one stamp has matched
// it, a read at another stamp is a user's write, though it holds the
// same content (a user saving what tandem's unanswered write saved).
func (s *System) beingWritten(r *resource, key string, st rest.Stamp, rec any) (bool, int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := [2]string{r.Entity, key}
	o, ok := s.writing[id]
	if !ok && r.cfg.Lookup != "" {
		if gid := rest.Text(rest.Get(rec, r.cfg.Lookup)); gid != "" {
			id = [2]string{r.Entity, "\x00" + gid}
			o, ok = s.writing[id]
		}
	}
	if !ok || (!o.until.IsZero() && time.Now().After(o.until)) {
		return false, 0
	}
	if o.seen && o.order != st.Order {
		return false, 0
	}
	if sum, _ := r.contentSum(rec, o.has); sum != o.sum {
		return false, 0
	}
	o.seen, o.order = true, st.Order
	s.writing[id] = o
	return true, o.ver
}

// ownWrite reports whether rec, read at st, is as tandem's own write left
// it: the same stamp, and the same content. A system whose stamps are
// coarse (milliseconds) gives a user's write just after tandem's the same
// stamp; its content tells them apart, unless it wrote what tandem did.
func (s *System) ownWrite(r *resource, key string, st rest.Stamp, rec any) (bool, int64) {
	s.mu.Lock()
	o, ok := s.owned[[2]string{r.Entity, key}]
	s.mu.Unlock()
	if !ok || o.order != st.Order {
		return false, 0
	}
	if o.has == 0 {
		return true, o.ver // the answer showed none of the fields: the stamp alone tells
	}
	sum, _ := r.contentSum(rec, o.has)
	return sum == o.sum, o.ver
}

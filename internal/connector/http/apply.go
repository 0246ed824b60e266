package http

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/tandemhub/tandem/internal/config"
	"github.com/tandemhub/tandem/internal/connector"
	"github.com/tandemhub/tandem/internal/connector/rest"
	"github.com/tandemhub/tandem/internal/record"
)

// parallel is how many single-record requests go at once.
const parallel = 4

// Apply implements connector.Destination. Writes of one record keep
// their order; results are index-aligned.
func (s *System) Apply(ctx context.Context, entity string, writes []record.Write) ([]record.Result, error) {
	r, err := s.resource(entity)
	if err != nil {
		return nil, err
	}
	res := make([]record.Result, len(writes))
	for _, seg := range segments(writes) {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if b := r.cfg.Batch; b != nil && batchOf(b, seg.kind) != nil {
			ep := batchOf(b, seg.kind)
			if seg.kind == 'c' || !s.guards(r) {
				s.applyBatch(ctx, r, ep, seg, writes, res, guarded{}, nil)
				continue
			}
			// Each batch request is guarded on its own, right before it
			// goes; a piece whose looks took too long is made smaller.
			for idx := seg.idx; len(idx) > 0; {
				n := min(r.guardedPiece(batchMax(ep)), len(idx))
				piece := segment{kind: seg.kind, idx: idx[:n:n]}
				idx = idx[n:]
				kept, g, before := s.holdBack(ctx, r, piece, writes, res)
				if len(kept.idx) > 0 {
					r.pieceWent(s.applyBatch(ctx, r, ep, kept, writes, res, g, before), batchMax(ep))
				}
			}
			continue
		}
		s.applyEach(ctx, r, seg, writes, res)
	}
	return res, nil
}

// holdBack leaves out of a batch segment the writes of records whose
// users changed them since capture last read them (see guard), and
// returns when the batch must be sent by, with its limiter token taken,
// and the stamps the records had before it, by index of their writes.
func (s *System) holdBack(ctx context.Context, r *resource, seg segment, ws []record.Write, res []record.Result) (segment, guarded, map[int]look) {
	f := s.feeds[r.Entity]
	// One token for each read and one for the batch: none of them waits
	// once the reads begin.
	if err := s.c.Limiter().Take(ctx, len(seg.idx)+1); err != nil {
		for _, i := range seg.idx {
			res[i] = record.Result{Key: ws[i].Key, Err: err}
		}
		return segment{kind: seg.kind}, guarded{}, nil
	}
	g := guarded{notAfter: time.Now().Add(guardFor), paid: true}
	if seg.kind == 'u' && r.cfg.Condition != nil {
		g.notAfter = time.Time{} // the condition holds however long the looks take
	}
	pending := make([]bool, len(seg.idx))
	stamps := make([]look, len(seg.idx))
	errs := make([]error, len(seg.idx))
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for j, i := range seg.idx {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			pending[j], stamps[j], errs[j] = s.unseenEdit(ctx, r, f, ws[i].Key)
		}()
	}
	wg.Wait()
	keep := seg.idx[:0:0]
	before := make(map[int]look, len(seg.idx))
	for j, i := range seg.idx {
		switch {
		case errs[j] != nil:
			res[i] = record.Result{Err: rest.RecordError(errs[j])}
		case pending[j]:
			s.log.Debug("not overwriting an edit tandem has yet to capture", "entity", r.Entity, "key", ws[i].Key)
			res[i] = record.Result{Key: ws[i].Key, Err: &connector.Busy{Err: fmt.Errorf(
				"%s %s in %s has an edit tandem has yet to capture; it is written once that edit is in", r.Entity, ws[i].Key, s.name)}}
		default:
			keep = append(keep, i)
			before[i] = stamps[j]
		}
	}
	seg.idx = keep
	return seg, g, before
}

// guard reads the record under key just before tandem writes it (the
// API has no conditional write) and says whether its users changed it
// since capture last read it: writing would overwrite or delete an edit
// on its way to tandem. Such a write is busy, and made once capture has
// taken the edit, which wins or loses then. Otherwise it returns the
// time by which the write must be sent, its limiter token already taken
// with the read's, so that no wait comes between them (zero: no feed to
// look with).
func (s *System) guard(ctx context.Context, r *resource, key string) (guarded, error) {
	if key == "" || !s.guards(r) {
		return guarded{}, nil
	}
	if err := s.c.Limiter().Take(ctx, 2); err != nil {
		return guarded{}, err
	}
	g := guarded{notAfter: time.Now().Add(guardFor), paid: true}
	pending, st, err := s.unseenEdit(ctx, r, s.feeds[r.Entity], key)
	if err != nil {
		return g, err
	}
	if pending {
		s.log.Debug("not overwriting an edit tandem has yet to capture", "entity", r.Entity, "key", key)
		return g, &connector.Busy{Err: fmt.Errorf(
			"%s %s in %s has an edit tandem has yet to capture; it is written once that edit is in", r.Entity, key, s.name)}
	}
	g.before = st
	return g, nil
}

// look is what a guard's read found of a record: its stamp, and the
// value an update's condition is to carry (see config.Condition).
type look struct {
	stamp rest.Stamp
	cond  any
	read  bool // cond was read: the resource has a condition
}

// guards reports whether writes of r's records are guarded: its feed has
// read the records once, so it can tell an edit it has yet to capture.
func (s *System) guards(r *resource) bool {
	f := s.feeds[r.Entity]
	if f == nil {
		return false
	}
	_, has := f.Since()
	return has
}

// guarded is what guard found before a write: when it must be sent by,
// whether its limiter token is taken, and the record's stamp before it.
type guarded struct {
	notAfter time.Time
	paid     bool
	before   look
}

// unseenEdit reads the record under key and reports whether its stamp
// shows a change the feed has yet to acknowledge, with the stamp.
func (s *System) unseenEdit(ctx context.Context, r *resource, f *rest.Feed, key string) (bool, look, error) {
	rec, err := s.getPaid(ctx, r, key, true)
	if rest.NotFound(err) {
		return false, look{}, nil // the write finds it gone
	}
	if err != nil {
		return false, look{}, fmt.Errorf("look for an edit of %s %s in %s that tandem has yet to capture: %w", r.Entity, key, s.name, err)
	}
	st, err := rest.ParseStamp(rest.Get(rec, r.cfg.Updated))
	l := look{stamp: st}
	if c := r.cfg.Condition; c != nil {
		l.cond, l.read = rest.Get(rec, c.From), true
	}
	return err == nil && f.Unseen(key, st, r.sum(rec)), l, nil
}

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

// guardFor is how long a look for pending edits holds: a write held up
// longer (rate limits, retries) is busy and looked at again.
const guardFor = 100 * time.Millisecond

// segment is a run of writes of one kind in which no record appears twice.
type segment struct {
	kind byte // 'c' create, 'u' update, 'd' delete
	idx  []int
}

func kindOf(w record.Write) byte {
	switch {
	case w.Op == record.Delete:
		return 'd'
	case w.Key == "":
		return 'c'
	}
	return 'u'
}

func segments(ws []record.Write) []segment {
	var out []segment
	var cur *segment
	seen := map[string]bool{}
	for i, w := range ws {
		k := kindOf(w)
		id := w.Key + "\x00" + w.GID
		if cur == nil || cur.kind != k || seen[id] {
			out = append(out, segment{kind: k})
			cur = &out[len(out)-1]
			seen = map[string]bool{}
		}
		seen[id] = true
		cur.idx = append(cur.idx, i)
	}
	return out
}

// batchMax is how many records one request to ep may carry.
func batchMax(ep *config.BatchEndpoint) int {
	if ep.Max > 0 {
		return ep.Max
	}
	return 100
}

func batchOf(b *config.Batch, kind byte) *config.BatchEndpoint {
	switch kind {
	case 'c':
		return b.Create
	case 'u':
		return b.Update
	}
	return b.Delete
}

// applyEach writes a segment one request per record, a few at a time.
func (s *System) applyEach(ctx context.Context, r *resource, seg segment, ws []record.Write, res []record.Result) {
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for _, i := range seg.idx {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			res[i] = s.one(ctx, r, ws[i])
		}()
	}
	wg.Wait()
}

// one writes one record.
func (s *System) one(ctx context.Context, r *resource, w record.Write) record.Result {
	switch kindOf(w) {
	case 'd':
		if w.Key == "" {
			// A record whose create had an unknown outcome: find it first.
			key, err := s.find(ctx, r, w)
			if err != nil || key == "" {
				return record.Result{Err: err}
			}
			w.Key = key
		}
		g, err := s.guard(ctx, r, w.Key)
		if err != nil {
			return record.Result{Key: w.Key, Err: err}
		}
		_, err = s.c.Do(ctx, rest.Request{Method: r.delete.Method, Path: itemPath(r.delete.Path, w.Key), NotAfter: g.notAfter, Paid: g.paid})
		if errors.Is(err, rest.ErrLate) {
			return record.Result{Key: w.Key, Err: &connector.Busy{Err: fmt.Errorf(
				"delete %s %s in %s: held up too long to be sure no edit of its users is lost; it is tried again", r.Entity, w.Key, s.name)}}
		}
		if err != nil && !rest.NotFound(err) {
			return record.Result{Err: rest.RecordError(err)}
		}
		s.forget(r.Entity, w.Key)
		return record.Result{Key: w.Key}
	case 'u':
		g, err := s.guard(ctx, r, w.Key)
		if err != nil {
			return record.Result{Key: w.Key, Err: err}
		}
		if r.cfg.Condition != nil {
			g.notAfter = time.Time{} // the condition holds however long the wait
		}
		return s.updateOne(ctx, r, w.Key, w, g)
	}
	// A create: find a record made before (a lost answer, or one that
	// existed before tandem) and update it instead.
	key, err := s.find(ctx, r, w)
	if err != nil {
		return record.Result{Err: err}
	}
	if key == "" && w.Doubt {
		if err := s.madeAndGone(r, w); err != nil {
			return record.Result{Err: err}
		}
	}
	if key != "" {
		// Its users may have edited it since it was made: look first, as
		// for any update.
		g, err := s.guard(ctx, r, key)
		if err != nil {
			return record.Result{Err: err}
		}
		res := s.updateOne(ctx, r, key, w, g)
		if res.Err == nil {
			s.made(r.Entity, w.GID, key)
		}
		return res
	}
	done := s.expect(r, "", w)
	resp, err := s.c.Do(ctx, rest.Request{Method: r.create.Method, Path: r.create.Path, Body: s.body(r, w, true)})
	defer func() { done(err == nil) }()
	if err != nil {
		if rest.IsUnsure(err) && r.cfg.Lookup != "" {
			// The answer was lost: look at once, before the record's
			// users can change it, whether the create happened.
			if key, ferr := s.find(ctx, r, w); ferr == nil && key != "" {
				s.made(r.Entity, w.GID, key)
				s.scanSaw(r, w.GID, key)
				return record.Result{Key: key}
			}
		}
		return record.Result{Err: s.createFailed(r, w, err)}
	}
	var v any
	if err := resp.JSON(&v); err != nil {
		s.markUnsure(w.GID)
		return record.Result{Err: fmt.Errorf("create %s in %s: %w", r.Entity, s.name, err)}
	}
	key = rest.Text(rest.Get(rest.Get(v, r.cfg.Record), r.id))
	if key == "" {
		s.markUnsure(w.GID)
		return record.Result{Err: fmt.Errorf("create %s in %s: the answer holds no %q", r.Entity, s.name, r.id)}
	}
	s.own(r, key, w.GID, resp, rest.Stamp{}, w.Ver)
	s.made(r.Entity, w.GID, key)
	s.scanSaw(r, w.GID, key)
	return record.Result{Key: key}
}

// updateOne writes w to the record under key, by g's time if set.
func (s *System) updateOne(ctx context.Context, r *resource, key string, w record.Write, g guarded) record.Result {
	done := s.expect(r, key, w)
	body := s.body(r, w, false)
	s.condition(r, body, g.before)
	resp, err := s.c.Do(ctx, rest.Request{Method: r.update.Method, Path: itemPath(r.update.Path, key),
		Body: body, Idempotent: true, NotAfter: g.notAfter, Paid: g.paid})
	done(err == nil || errors.Is(err, rest.ErrLate)) // a late request was never sent
	if err == nil {
		s.own(r, key, w.GID, resp, g.before.stamp, w.Ver)
	}
	if errors.Is(err, rest.ErrLate) {
		return record.Result{Key: key, Err: &connector.Busy{Err: fmt.Errorf(
			"update %s %s in %s: held up too long to be sure no edit of its users is lost; it is tried again", r.Entity, key, s.name)}}
	}
	if rest.NotFound(err) {
		// Deleted in the system while tandem had an update for it.
		return record.Result{Err: &connector.Gone{Err: fmt.Errorf("update %s %s in %s: the record is gone: %w", r.Entity, key, s.name, err)}}
	}
	var ae *rest.APIError
	if errors.As(err, &ae) && r.cfg.Condition != nil && conflict(ae) {
		return record.Result{Key: key, Err: s.changedMeanwhile(r, key, ae, resp != nil && resp.Resent)}
	}
	if err != nil {
		return record.Result{Err: rest.RecordError(err)}
	}
	return record.Result{Key: key}
}

// condition adds to an update's body the version it is for (see
// config.Condition), if the resource has a condition and the guard read
// the record: null when the record had none (it must have none still).
func (s *System) condition(r *resource, body any, l look) {
	c := r.cfg.Condition
	if c == nil || !l.read {
		return
	}
	v := l.cond
	m, ok := body.(map[string]any)
	if !ok {
		return
	}
	if r.cfg.Body != "" {
		if inner, ok := m[r.cfg.Body].(map[string]any); ok {
			m = inner
		}
	}
	rest.Set(m, c.Field, v)
}

// conflict reports whether an API refused a conditional update because
// the record changed since the version it named.
func conflict(ae *rest.APIError) bool {
	code := strings.ToLower(ae.Code)
	return ae.Status == 409 || ae.Status == 412 ||
		strings.Contains(code, "conflict") || strings.Contains(code, "precondition")
}

// changedMeanwhile is the error of an update its condition stopped: a
// user wrote the record after tandem's look. It is busy, written again
// once capture has their edit, which then wins or loses. When the
// request was sent again (resent), the change the condition saw may be
// its own first try: the write is unsure, and a read of what it wrote
// is still tandem's own (see expect).
func (s *System) changedMeanwhile(r *resource, key string, ae error, resent bool) error {
	if resent {
		s.log.Debug("a resent update found the record changed, maybe by its first try", "entity", r.Entity, "key", key)
		return &connector.Busy{Err: &rest.Unsure{Err: fmt.Errorf("%s %s in %s changed as tandem wrote it, maybe by tandem's first try of the write (%w); it is written again once capture has read it", r.Entity, key, s.name, ae)}}
	}
	s.log.Debug("a user wrote the record as tandem was writing it; not overwriting", "entity", r.Entity, "key", key)
	return &connector.Busy{Err: fmt.Errorf("%s %s in %s changed as tandem wrote it (%w); it is written once that edit is in", r.Entity, key, s.name, ae)}
}

// createFailed turns a failed create into its error, remembering that an
// unknown outcome must be looked up before the next try.
func (s *System) createFailed(r *resource, w record.Write, err error) error {
	if rest.IsUnsure(err) {
		s.markUnsure(w.GID)
		if r.cfg.Lookup == "" && r.cfg.Match == "" {
			return &connector.Permanent{Err: fmt.Errorf(
				"create %s with global id %s in %s: %w; it cannot be looked up, so it is not sent again "+
					"(set resources.%s.lookup to a field that holds tandem's id, then retry)", r.Entity, w.GID, s.name, err, r.Name)}
		}
		return fmt.Errorf("create %s with global id %s in %s: %w; it is looked up before the next try", r.Entity, w.GID, s.name, err)
	}
	return rest.RecordError(err)
}

func (s *System) markUnsure(gid string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.unsure[gid] = true
}

// settle records that gid's record is key.
func (s *System) settle(entity, gid, key string) {
	s.mu.Lock()
	delete(s.unsure, gid)
	if len(s.created) > 100000 {
		clear(s.created)
	}
	s.created[[2]string{entity, key}] = made{gid: gid, at: time.Now()}
	s.mu.Unlock()
}

// made tells delivery, at once, that the system made gid's record under key.
func (s *System) made(entity, gid, key string) {
	s.settle(entity, gid, key)
	if s.announce != nil {
		s.announce(entity, gid, key)
	}
}

// madeAndGone returns a connector.Gone for a create in doubt that its
// lookup did not find, if the delete scan listed its record: an earlier
// try made it (its answer was lost, or the hub stopped before keeping
// it), and its users deleted it since. Made again, it would undo their
// delete.
func (s *System) madeAndGone(r *resource, w record.Write) error {
	sc := s.scans[r.Entity]
	if sc == nil {
		return nil
	}
	if was, ok := sc.Held(w.GID); ok {
		return &connector.Gone{Err: fmt.Errorf(
			"create %s %s in %s: an earlier try made it under %s, and it is gone from there", r.Entity, w.GID, s.name, was)}
	}
	return nil
}

// scanSaw tells the delete scan of r that tandem made gid's record under
// key: it carries gid in the lookup field, if r has one.
func (s *System) scanSaw(r *resource, gid, key string) {
	sc := s.scans[r.Entity]
	switch {
	case sc == nil:
	case r.cfg.Lookup != "":
		sc.Made(key, gid)
	default:
		sc.Saw(key)
	}
}

func (s *System) forget(entity, key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.created, [2]string{entity, key})
}

// find looks up the record a create would make: by the lookup field
// holding the global id, or by the natural-key field.
func (s *System) find(ctx context.Context, r *resource, w record.Write) (string, error) {
	field, val := r.cfg.Lookup, any(w.GID)
	if field == "" {
		field = r.cfg.Match
		val = w.Fields[field]
		if val == nil || val == "" {
			return "", nil
		}
	}
	if field == "" {
		return "", nil
	}
	want := rest.Text(val)
	recs, _, err := s.list(ctx, r, r.path, map[string]string{field: want}, "")
	if err != nil {
		return "", fmt.Errorf("look up %s %s=%q in %s before creating it: %w", r.Entity, field, want, s.name, err)
	}
	// The system may ignore a filter it does not know: check each record.
	for _, rec := range recs {
		if rest.Text(rest.Get(rec, field)) == want && !(r.deleted != "" && rest.Truthy(rest.Get(rec, r.deleted))) {
			return rest.Text(rest.Get(rec, r.id)), nil
		}
	}
	return "", nil
}

// body is the JSON written for w.
func (s *System) body(r *resource, w record.Write, create bool) any {
	m := make(map[string]any, len(w.Fields)+2)
	for k, v := range w.Fields {
		if k == r.id && !create {
			continue
		}
		rest.Set(m, k, v)
	}
	if create {
		if r.cfg.Lookup != "" {
			rest.Set(m, r.cfg.Lookup, w.GID)
		}
		if !r.KeyGenerated && rest.Get(m, r.id) == nil {
			rest.Set(m, r.id, w.GID)
		}
	}
	if r.cfg.Body != "" {
		return map[string]any{r.cfg.Body: m}
	}
	return m
}

// applyBatch writes a segment through a batch endpoint.
func (s *System) applyBatch(ctx context.Context, r *resource, ep *config.BatchEndpoint, seg segment, ws []record.Write, res []record.Result, g guarded, before map[int]look) (late bool) {
	limit := batchMax(ep)
	method := ep.Method
	if method == "" {
		method = "POST"
	}
	idx := seg.idx
	if seg.kind == 'd' {
		// Records whose create had an unknown outcome are looked for first.
		var keyed []int
		for _, i := range idx {
			if ws[i].Key != "" {
				keyed = append(keyed, i)
				continue
			}
			key, err := s.find(ctx, r, ws[i])
			if err != nil || key == "" {
				res[i].Err = err
				continue
			}
			ws[i].Key = key
			keyed = append(keyed, i)
		}
		idx = keyed
	}
	if seg.kind == 'c' {
		// Creates whose outcome is unknown are looked up one by one first.
		var fresh []int
		for _, i := range idx {
			s.mu.Lock()
			doubt := s.unsure[ws[i].GID] || ws[i].Doubt
			s.mu.Unlock()
			if !doubt {
				fresh = append(fresh, i)
				continue
			}
			key, err := s.find(ctx, r, ws[i])
			switch {
			case err != nil:
				res[i].Err = err
			case key != "":
				// Made already; its users may have edited it since.
				if g, err := s.guard(ctx, r, key); err != nil {
					res[i].Err = err
				} else if res[i] = s.updateOne(ctx, r, key, ws[i], g); res[i].Err == nil {
					s.settle(r.Entity, ws[i].GID, key)
				}
			case r.cfg.Lookup == "" && r.cfg.Match == "":
				res[i].Err = s.createFailed(r, ws[i], &rest.Unsure{Err: errors.New("an earlier try")})
			default:
				if res[i].Err = s.madeAndGone(r, ws[i]); res[i].Err == nil {
					fresh = append(fresh, i)
				}
			}
		}
		idx = fresh
	}
	for len(idx) > 0 {
		n := min(limit, len(idx))
		chunk := idx[:n]
		idx = idx[n:]
		items := make([]any, n)
		for j, i := range chunk {
			w := ws[i]
			switch seg.kind {
			case 'd':
				items[j] = map[string]any{r.id: w.Key}
			case 'u':
				b := s.body(r, w, false)
				if m, ok := b.(map[string]any); ok && r.cfg.Body == "" {
					m[r.id] = w.Key
				}
				s.condition(r, b, before[i])
				items[j] = b
			default:
				items[j] = s.body(r, w, true)
			}
		}
		done := map[int]func(bool){}
		for _, i := range chunk {
			if seg.kind != 'd' {
				done[i] = s.expect(r, ws[i].Key, ws[i])
			}
		}
		late = s.applyChunk(ctx, r, ep, method, seg, chunk, items, ws, res, &g, before) || late
		for i, f := range done {
			// Busy: not sent, unless maybe by an earlier try.
			f(res[i].Err == nil || (connector.IsBusy(res[i].Err) && !rest.IsUnsure(res[i].Err)))
		}
	}
	return late
}

// applyChunk sends one batch request of applyBatch and takes its answer.
func (s *System) applyChunk(ctx context.Context, r *resource, ep *config.BatchEndpoint, method string, seg segment, chunk []int, items []any, ws []record.Write, res []record.Result, g *guarded, before map[int]look) (late bool) {
	var body any = items
	if ep.Body != "" {
		body = map[string]any{ep.Body: items}
	}
	resp, err := s.c.Do(ctx, rest.Request{Method: method, Path: ep.Path, Body: body, Idempotent: seg.kind != 'c', NotAfter: g.notAfter, Paid: g.paid})
	g.paid = false // one token was taken, for the first request
	if errors.Is(err, rest.ErrLate) {
		for _, i := range chunk {
			res[i] = record.Result{Key: ws[i].Key, Err: &connector.Busy{Err: fmt.Errorf(
				"%s %s in %s: held up too long to be sure no edit of its users is lost; it is tried again", r.Entity, ws[i].Key, s.name)}}
		}
		return true
	}
	if err != nil {
		for _, i := range chunk {
			if seg.kind == 'c' {
				res[i].Err = s.createFailed(r, ws[i], err)
			} else {
				res[i].Err = rest.RecordError(err)
			}
		}
		return
	}
	var v any
	if err := resp.JSON(&v); err != nil && seg.kind != 'd' {
		for _, i := range chunk {
			res[i].Err = err
		}
		return
	}
	results, _ := rest.Get(v, ep.Results).([]any)
	for j, i := range chunk {
		w := ws[i]
		var item map[string]any
		if j < len(results) {
			item, _ = results[j].(map[string]any)
		}
		if item == nil && seg.kind != 'd' {
			res[i].Err = fmt.Errorf("%s batch answer has no result %d of %d", s.name, j+1, len(chunk))
			if seg.kind == 'c' {
				s.markUnsure(w.GID)
			}
			continue
		}
		if item != nil && (item["error"] != nil || item["errors"] != nil) {
			ae := rest.DecodeError(400, nil)
			rest.ReadError(ae, item)
			ae.System, ae.Method, ae.Path = s.name, method, ep.Path
			notFound := ae.Code == "not_found" || ae.Code == "NOT_FOUND"
			if seg.kind == 'd' && notFound {
				res[i].Key = w.Key
				continue
			}
			if seg.kind == 'u' && r.cfg.Condition != nil && conflict(ae) {
				res[i] = record.Result{Key: w.Key, Err: s.changedMeanwhile(r, w.Key, ae, resp.Resent)}
				continue
			}
			if seg.kind == 'u' && notFound {
				// Deleted in the system while tandem had an update for
				// it, as a single update's 404 says.
				res[i].Err = &connector.Gone{Err: fmt.Errorf("update %s %s in %s: the record is gone: %w", r.Entity, w.Key, s.name, ae)}
				continue
			}
			res[i].Err = rest.RecordError(ae)
			continue
		}
		switch seg.kind {
		case 'c':
			key := rest.Text(rest.Get(item, r.id))
			if key == "" {
				s.markUnsure(w.GID)
				res[i].Err = fmt.Errorf("%s batch create answered no %q", s.name, r.id)
				continue
			}
			s.ownRecord(r, key, w.GID, item, rest.Stamp{}, w.Ver)
			s.made(r.Entity, w.GID, key)
			s.scanSaw(r, w.GID, key)
			res[i].Key = key
		case 'd':
			s.forget(r.Entity, w.Key)
			res[i].Key = w.Key
		default:
			// Its stamp marks the record's next read as tandem's own
			// write, as for a single update.
			s.ownRecord(r, w.Key, w.GID, item, before[i].stamp, w.Ver)
			res[i].Key = w.Key
		}
	}
	return false
}

package http

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/tandemhub/tandem/internal/connector"
	"github.com/tandemhub/tandem/internal/connector/rest"
	"github.com/tandemhub/tandem/internal/record"
)

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
// value an update's condition is to carry (see Condition).
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
	unseen := err == nil && f.Unseen(key, st, r.sum(rec))
	if s.log.Enabled(ctx, slog.LevelDebug) {
		since, _ := f.Since()
		s.log.Debug("looked before writing", "entity", r.Entity, "key", key, "stamp", st.Raw, "feed since", since.Raw, "unseen", unseen)
	}
	return unseen, l, nil
}

// guardFor is how long a look for pending edits holds: a write held up
// longer (rate limits, retries) is busy and looked at again.
const guardFor = 100 * time.Millisecond

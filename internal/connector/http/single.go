package http

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/tandemhub/tandem/internal/connector"
	"github.com/tandemhub/tandem/internal/connector/rest"
	"github.com/tandemhub/tandem/internal/record"
)

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
		return s.deleteOne(ctx, r, w)
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
	return s.createOne(ctx, r, w)
}

// deleteOne deletes one record, once its guard found no edit of its
// users still to capture. A record already gone counts as deleted.
func (s *System) deleteOne(ctx context.Context, r *resource, w record.Write) record.Result {
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
}

// createOne writes a create. It first finds a record made before (a lost
// answer, or one that existed before tandem) and updates it instead; a
// create in doubt whose record its users deleted since is Gone.
func (s *System) createOne(ctx context.Context, r *resource, w record.Write) record.Result {
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
	return s.post(ctx, r, w)
}

// post sends a create no lookup found made, and takes the new record's
// key from the answer. The note that tandem is writing it (see expect)
// ends only once all of that is done.
func (s *System) post(ctx context.Context, r *resource, w record.Write) record.Result {
	done := s.expect(r, "", w)
	// The note ends as answered only when the answer named the new
	// record; otherwise it stays a while, as for a batch (see unsureFor).
	answered := false
	defer func() { done(answered) }()
	resp, err := s.c.Do(ctx, rest.Request{Method: r.create.Method, Path: r.create.Path, Body: s.body(r, w, true)})
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
	key := rest.Text(rest.Get(rest.Get(v, r.cfg.Record), r.id))
	if key == "" {
		s.markUnsure(w.GID)
		return record.Result{Err: fmt.Errorf("create %s in %s: the answer holds no %q", r.Entity, s.name, r.id)}
	}
	s.own(r, key, w.GID, resp, rest.Stamp{}, w.Ver)
	s.made(r.Entity, w.GID, key)
	s.scanSaw(r, w.GID, key)
	answered = true
	return record.Result{Key: key}
}

// updateOne writes w to the record under key, by g's time if set.
func (s *System) updateOne(ctx context.Context, r *resource, key string, w record.Write, g guarded) record.Result {
	done := s.expect(r, key, w)
	body := s.body(r, w, false)
	s.condition(r, body, g.before)
	resp, err := s.c.Do(ctx, rest.Request{Method: r.update.Method, Path: itemPath(r.update.Path, key),
		Body: body, Idempotent: true, NotAfter: g.notAfter, Paid: g.paid})
	if s.log.Enabled(ctx, slog.LevelDebug) {
		s.log.Debug("updated", "entity", r.Entity, "key", key, "gid", w.GID, "ver", w.Ver, "looked", g.before.stamp.Raw,
			"condition", g.before.cond, "resent", resp != nil && resp.Resent, "err", err)
	}
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

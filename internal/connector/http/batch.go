package http

import (
	"context"
	"errors"
	"fmt"

	"github.com/tandemhub/tandem/internal/connector"
	"github.com/tandemhub/tandem/internal/connector/rest"
	"github.com/tandemhub/tandem/internal/record"
)

// batchMax is how many records one request to ep may carry.
func batchMax(ep *BatchEndpoint) int {
	if ep.Max > 0 {
		return ep.Max
	}
	return 100
}

// batchOf is b's endpoint for writes of kind, nil when it has none.
func batchOf(b *Batch, kind byte) *BatchEndpoint {
	switch kind {
	case 'c':
		return b.Create
	case 'u':
		return b.Update
	}
	return b.Delete
}

// applyBatch writes a segment through a batch endpoint.
func (s *System) applyBatch(ctx context.Context, r *resource, ep *BatchEndpoint, seg segment, ws []record.Write, res []record.Result, g guarded, before map[int]look) (late bool) {
	limit := batchMax(ep)
	method := ep.Method
	if method == "" {
		method = "POST"
	}
	idx := seg.idx
	if seg.kind == 'd' {
		idx = s.keyDeletes(ctx, r, idx, ws, res)
	}
	if seg.kind == 'c' {
		idx = s.settleDoubts(ctx, r, idx, ws, res)
	}
	for len(idx) > 0 {
		n := min(limit, len(idx))
		chunk := idx[:n]
		idx = idx[n:]
		items := s.batchItems(r, seg.kind, chunk, ws, before)
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

// keyDeletes returns the deletes of idx that have a key, after looking
// for the records whose create had an unknown outcome first: those found
// take their key (in ws), the others are done (not made) or fail with
// the lookup's error in res.
func (s *System) keyDeletes(ctx context.Context, r *resource, idx []int, ws []record.Write, res []record.Result) []int {
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
	return keyed
}

// settleDoubts returns the creates of idx that are to be sent, after
// looking up one by one those whose outcome is unknown: one found made
// is updated instead (its users may have edited it since), one that
// cannot be looked up fails, and one whose record its users deleted
// since is Gone; their results are in res.
func (s *System) settleDoubts(ctx context.Context, r *resource, idx []int, ws []record.Write, res []record.Result) []int {
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
				s.made(r.Entity, ws[i].GID, key) // as a single create in doubt does
			}
		case r.cfg.Lookup == "" && r.cfg.Match == "":
			res[i].Err = s.createFailed(r, ws[i], &rest.Unsure{Err: errors.New("an earlier try")})
		default:
			if res[i].Err = s.madeAndGone(r, ws[i]); res[i].Err == nil {
				fresh = append(fresh, i)
			}
		}
	}
	return fresh
}

// batchItems is what one batch request carries for the writes of chunk,
// of kind: the key of a delete, the body of an update with its key and
// its condition (see condition), the body of a create.
func (s *System) batchItems(r *resource, kind byte, chunk []int, ws []record.Write, before map[int]look) []any {
	items := make([]any, len(chunk))
	for j, i := range chunk {
		w := ws[i]
		switch kind {
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
	return items
}

// applyChunk sends one batch request of applyBatch and takes its answer.
func (s *System) applyChunk(ctx context.Context, r *resource, ep *BatchEndpoint, method string, seg segment, chunk []int, items []any, ws []record.Write, res []record.Result, g *guarded, before map[int]look) (late bool) {
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
			s.itemRefused(r, ep, method, seg.kind, w, item, resp.Resent, &res[i])
			continue
		}
		s.itemTaken(r, seg.kind, w, item, before[i], &res[i])
	}
	return false
}

// itemRefused takes into res a result of a batch answer that names an
// error: a delete of a record already gone is done, an update its
// condition stopped is busy (see changedMeanwhile), an update of a
// record gone is Gone, as the answers to single requests say.
func (s *System) itemRefused(r *resource, ep *BatchEndpoint, method string, kind byte, w record.Write, item map[string]any, resent bool, res *record.Result) {
	ae := rest.DecodeError(400, nil)
	rest.ReadError(ae, item)
	ae.System, ae.Method, ae.Path = s.name, method, ep.Path
	notFound := ae.Code == "not_found" || ae.Code == "NOT_FOUND"
	if kind == 'd' && notFound {
		res.Key = w.Key
		return
	}
	if kind == 'u' && r.cfg.Condition != nil && conflict(ae) {
		*res = record.Result{Key: w.Key, Err: s.changedMeanwhile(r, w.Key, ae, resent)}
		return
	}
	if kind == 'u' && notFound {
		// Deleted in the system while tandem had an update for
		// it, as a single update's 404 says.
		res.Err = &connector.Gone{Err: fmt.Errorf("update %s %s in %s: the record is gone: %w", r.Entity, w.Key, s.name, ae)}
		return
	}
	res.Err = rest.RecordError(ae)
}

// itemTaken takes into res a result of a batch answer that names no
// error, noting what tandem made or wrote (before is the record's look
// before an update) as a single request's answer would.
func (s *System) itemTaken(r *resource, kind byte, w record.Write, item map[string]any, before look, res *record.Result) {
	switch kind {
	case 'c':
		key := rest.Text(rest.Get(item, r.id))
		if key == "" {
			s.markUnsure(w.GID)
			res.Err = fmt.Errorf("%s batch create answered no %q", s.name, r.id)
			return
		}
		s.ownRecord(r, key, w.GID, item, rest.Stamp{}, w.Ver)
		s.made(r.Entity, w.GID, key)
		s.scanSaw(r, w.GID, key)
		res.Key = key
	case 'd':
		s.forget(r.Entity, w.Key)
		res.Key = w.Key
	default:
		// Its stamp marks the record's next read as tandem's own
		// write, as for a single update.
		s.ownRecord(r, w.Key, w.GID, item, before.stamp, w.Ver)
		res.Key = w.Key
	}
}

package http

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"tandem/internal/config"
	"tandem/internal/connector"
	"tandem/internal/connector/rest"
	"tandem/internal/record"
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
			s.applyBatch(ctx, r, batchOf(b, seg.kind), seg, writes, res)
			continue
		}
		s.applyEach(ctx, r, seg, writes, res)
	}
	return res, nil
}

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
		_, err := s.c.Do(ctx, rest.Request{Method: r.delete.Method, Path: itemPath(r.delete.Path, w.Key)})
		if err != nil && !rest.NotFound(err) {
			return record.Result{Err: rest.RecordError(err)}
		}
		s.forget(w.Key)
		return record.Result{Key: w.Key}
	case 'u':
		return s.updateOne(ctx, r, w.Key, w)
	}
	// A create: find a record made before (a lost answer, or one that
	// existed before tandem) and update it instead.
	key, err := s.find(ctx, r, w)
	if err != nil {
		return record.Result{Err: err}
	}
	if key != "" {
		res := s.updateOne(ctx, r, key, w)
		if res.Err == nil {
			s.settle(w.GID, key)
		}
		return res
	}
	resp, err := s.c.Do(ctx, rest.Request{Method: r.create.Method, Path: r.create.Path, Body: s.body(r, w, true)})
	if err != nil {
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
	s.settle(w.GID, key)
	if sc := s.scans[r.Entity]; sc != nil {
		sc.Saw(key)
	}
	return record.Result{Key: key}
}

func (s *System) updateOne(ctx context.Context, r *resource, key string, w record.Write) record.Result {
	_, err := s.c.Do(ctx, rest.Request{Method: r.update.Method, Path: itemPath(r.update.Path, key),
		Body: s.body(r, w, false), Idempotent: true})
	if rest.NotFound(err) {
		// Deleted in the system while tandem had an update for it.
		return record.Result{Err: &connector.Gone{Err: fmt.Errorf("update %s %s in %s: the record is gone: %w", r.Entity, key, s.name, err)}}
	}
	if err != nil {
		return record.Result{Err: rest.RecordError(err)}
	}
	return record.Result{Key: key}
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
func (s *System) settle(gid, key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.unsure, gid)
	if len(s.created) > 100000 {
		clear(s.created)
	}
	s.created[key] = gid
}

func (s *System) forget(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.created, key)
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
func (s *System) applyBatch(ctx context.Context, r *resource, ep *config.BatchEndpoint, seg segment, ws []record.Write, res []record.Result) {
	limit := ep.Max
	if limit <= 0 {
		limit = 100
	}
	method := ep.Method
	if method == "" {
		method = "POST"
	}
	idx := seg.idx
	if seg.kind == 'c' {
		// Creates whose outcome is unknown are looked up one by one first.
		var fresh []int
		for _, i := range idx {
			s.mu.Lock()
			doubt := s.unsure[ws[i].GID]
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
				res[i] = s.updateOne(ctx, r, key, ws[i])
				if res[i].Err == nil {
					s.settle(ws[i].GID, key)
				}
			case r.cfg.Lookup == "" && r.cfg.Match == "":
				res[i].Err = s.createFailed(r, ws[i], &rest.Unsure{Err: errors.New("an earlier try")})
			default:
				fresh = append(fresh, i)
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
				items[j] = b
			default:
				items[j] = s.body(r, w, true)
			}
		}
		var body any = items
		if ep.Body != "" {
			body = map[string]any{ep.Body: items}
		}
		resp, err := s.c.Do(ctx, rest.Request{Method: method, Path: ep.Path, Body: body, Idempotent: seg.kind != 'c'})
		if err != nil {
			for _, i := range chunk {
				if seg.kind == 'c' {
					res[i].Err = s.createFailed(r, ws[i], err)
				} else {
					res[i].Err = rest.RecordError(err)
				}
			}
			continue
		}
		var v any
		if err := resp.JSON(&v); err != nil && seg.kind != 'd' {
			for _, i := range chunk {
				res[i].Err = err
			}
			continue
		}
		results, _ := rest.Get(v, ep.Results).([]any)
		for j, i := range chunk {
			w := ws[i]
			var item map[string]any
			if j < len(results) {
				item, _ = results[j].(map[string]any)
			}
			if item == nil && seg.kind != 'd' {
				res[i].Err = fmt.Errorf("%s batch answer has no result %d of %d", s.name, j+1, n)
				if seg.kind == 'c' {
					s.markUnsure(w.GID)
				}
				continue
			}
			if item != nil && (item["error"] != nil || item["errors"] != nil) {
				ae := rest.DecodeError(400, nil)
				rest.ReadError(ae, item)
				ae.System, ae.Method, ae.Path = s.name, method, ep.Path
				if seg.kind == 'd' && (ae.Code == "not_found" || ae.Code == "NOT_FOUND") {
					res[i].Key = w.Key
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
				s.settle(w.GID, key)
				if sc := s.scans[r.Entity]; sc != nil {
					sc.Saw(key)
				}
				res[i].Key = key
			case 'd':
				s.forget(w.Key)
				res[i].Key = w.Key
			default:
				res[i].Key = w.Key
			}
		}
	}
}

package http

import (
	"context"

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

// segment is a run of writes of one kind in which no record appears twice.
type segment struct {
	kind byte // 'c' create, 'u' update, 'd' delete
	idx  []int
}

// kindOf is the kind of w: 'd' a delete, 'c' a create (it has no key
// yet), 'u' an update.
func kindOf(w record.Write) byte {
	switch {
	case w.Op == record.Delete:
		return 'd'
	case w.Key == "":
		return 'c'
	}
	return 'u'
}

// segments cuts ws, in order, into segments: a new one starts where the
// kind changes or a record comes again, so writes of one record keep
// their order.
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

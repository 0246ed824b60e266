package hubspot

import (
	"context"
	"errors"
	"fmt"

	"github.com/tandemhub/tandem/internal/connector"
	"github.com/tandemhub/tandem/internal/connector/rest"
	"github.com/tandemhub/tandem/internal/record"
)

// batchMax is the most inputs a batch call takes.
const batchMax = 100

type batchAnswer struct {
	Results []result `json:"results"`
	Errors  []struct {
		Category string         `json:"category"`
		Message  string         `json:"message"`
		Context  map[string]any `json:"context"`
	} `json:"errors"`
}

// Apply implements connector.Destination through the batch endpoints.
// A call HubSpot refuses as a whole for a bad value returns that error,
// so delivery can split the batch around the bad record.
func (s *System) Apply(ctx context.Context, entity string, writes []record.Write) ([]record.Result, error) {
	o, err := s.object(entity)
	if err != nil {
		return nil, err
	}
	res := make([]record.Result, len(writes))
	kind := func(w record.Write) byte {
		switch {
		case w.Op == record.Delete:
			return 'd'
		case w.Key == "":
			return 'c'
		}
		return 'u'
	}
	start := 0
	seen := map[string]bool{}
	var whole error
	flush := func(end int) {
		for i := start; i < end && whole == nil; i += batchMax {
			idx := make([]int, 0, batchMax)
			for j := i; j < min(end, i+batchMax); j++ {
				idx = append(idx, j)
			}
			whole = s.chunk(ctx, o, kind(writes[idx[0]]), idx, writes, res)
		}
		start = end
		seen = map[string]bool{}
	}
	for i, w := range writes {
		id := w.Key + "\x00" + w.GID
		if i > start && (kind(w) != kind(writes[start]) || seen[id]) {
			flush(i)
		}
		seen[id] = true
	}
	flush(len(writes))
	if whole != nil {
		return nil, whole
	}
	return res, ctx.Err()
}

func (s *System) props(o *object, w record.Write) map[string]any {
	p := make(map[string]any, len(w.Fields))
	for k, v := range w.Fields {
		if k == o.Key {
			continue
		}
		if v == nil {
			v = "" // HubSpot clears a property given an empty string
		}
		p[k] = v
	}
	return p
}

// chunk writes one batch. It returns a non-nil error only when HubSpot
// refused the whole call for a reason that retrying cannot fix.
func (s *System) chunk(ctx context.Context, o *object, kind byte, idx []int, ws []record.Write, res []record.Result) error {
	resp, err := s.c.Do(ctx, s.batchRequest(o, kind, idx, ws))
	if err != nil {
		return s.chunkFailed(o, kind, idx, err, res)
	}
	if kind == 'd' {
		for _, i := range idx {
			res[i].Key = ws[i].Key
		}
		return nil
	}
	var a batchAnswer
	if err := resp.JSON(&a); err != nil {
		for _, i := range idx {
			res[i].Err = err
		}
		return nil
	}
	s.matchResults(o, kind, idx, ws, res, a.Results)
	return nil
}

// batchRequest is the batch call that writes ws[idx], all of kind: an
// archive of deletes, an update, or creates (upserts by tandem's id when
// id_property is set).
func (s *System) batchRequest(o *object, kind byte, idx []int, ws []record.Write) rest.Request {
	inputs := make([]any, len(idx))
	var req rest.Request
	switch kind {
	case 'd':
		for j, i := range idx {
			inputs[j] = map[string]any{"id": ws[i].Key}
		}
		req = rest.Request{Method: "POST", Path: s.path(o, "/batch/archive"), Idempotent: true}
	case 'u':
		for j, i := range idx {
			inputs[j] = map[string]any{"id": ws[i].Key, "properties": s.props(o, ws[i])}
		}
		req = rest.Request{Method: "POST", Path: s.path(o, "/batch/update"), Idempotent: true}
	default:
		for j, i := range idx {
			p := s.props(o, ws[i])
			if s.cfg.IDProperty != "" {
				p[s.cfg.IDProperty] = ws[i].GID
				inputs[j] = map[string]any{"idProperty": s.cfg.IDProperty, "id": ws[i].GID, "properties": p}
			} else {
				inputs[j] = map[string]any{"properties": p, "objectWriteTraceId": ws[i].GID}
			}
		}
		if s.cfg.IDProperty != "" {
			// An upsert by tandem's id: sending it again cannot duplicate.
			req = rest.Request{Method: "POST", Path: s.path(o, "/batch/upsert"), Idempotent: true}
		} else {
			req = rest.Request{Method: "POST", Path: s.path(o, "/batch/create")}
		}
	}
	req.Body = map[string]any{"inputs": inputs}
	return req
}

// chunkFailed takes a batch call that failed with err. A call of several
// records HubSpot refused for good is the whole call's error, for
// delivery to split; otherwise each record of idx fails with err in res,
// and a create whose outcome is unknown is parked.
func (s *System) chunkFailed(o *object, kind byte, idx []int, err error, res []record.Result) error {
	var ae *rest.APIError
	if errors.As(err, &ae) && ae.Permanent() && len(idx) > 1 {
		return &connector.Permanent{Err: err, Field: ae.Field()}
	}
	if kind == 'c' && rest.IsUnsure(err) {
		err = &connector.Permanent{Err: fmt.Errorf("create %s in %s: %w; without id_property it cannot be looked up, "+
			"so it is not sent again (set hubspot.id_property, then retry)", o.Entity, s.name, err)}
	} else {
		err = rest.RecordError(err)
	}
	for _, i := range idx {
		res[i].Err = err
	}
	return nil
}

// matchResults takes the results of a batch call of updates or creates
// into res. They come in any order: an update's by its id, a create's by
// tandem's id in id_property, or else by its objectWriteTraceId.
func (s *System) matchResults(o *object, kind byte, idx []int, ws []record.Write, res []record.Result, results []result) {
	byKey := map[string]result{}
	for _, r := range results {
		switch {
		case kind == 'u':
			byKey[r.ID] = r
		case s.cfg.IDProperty != "":
			byKey[rest.Text(r.Properties[s.cfg.IDProperty])] = r
		default:
			byKey[r.ObjectWriteTraceID] = r
		}
	}
	for _, i := range idx {
		w := ws[i]
		k := w.Key
		if kind == 'c' {
			k = w.GID
		}
		r, ok := byKey[k]
		switch {
		case ok && kind == 'c':
			res[i].Key = r.ID
		case ok:
			res[i].Key = w.Key
		case kind == 'u':
			res[i].Err = fmt.Errorf("update %s %s in %s: HubSpot did not update it (archived there?)", o.Entity, w.Key, s.name)
		default:
			res[i].Err = fmt.Errorf("create %s with global id %s in %s: HubSpot answered no result for it", o.Entity, w.GID, s.name)
		}
	}
}

package salesforce

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/tandemhub/tandem/internal/connector"
	"github.com/tandemhub/tandem/internal/connector/rest"
	"github.com/tandemhub/tandem/internal/record"
)

// collectionMax is the most records an sObject Collections call takes.
const collectionMax = 200

// saveResult is a SaveResult or UpsertResult.
type saveResult struct {
	ID      string `json:"id"`
	Success bool   `json:"success"`
	Created bool   `json:"created"`
	Errors  []struct {
		StatusCode string   `json:"statusCode"`
		Message    string   `json:"message"`
		Fields     []string `json:"fields"`
	} `json:"errors"`
}

func (r saveResult) err(s *System, what string) error {
	if r.Success {
		return nil
	}
	ae := &rest.APIError{System: s.name, Method: "collections", Path: what, Status: 400}
	if len(r.Errors) > 0 {
		e := r.Errors[0]
		ae.Code, ae.Message, ae.Fields = e.StatusCode, e.Message, e.Fields
	}
	if ae.Code == "UNABLE_TO_LOCK_ROW" {
		ae.Transient = true
	}
	return rest.RecordError(ae)
}

// Apply implements connector.Destination through sObject Collections.
func (s *System) Apply(ctx context.Context, entity string, writes []record.Write) ([]record.Result, error) {
	o, err := s.object(entity)
	if err != nil {
		return nil, err
	}
	res := make([]record.Result, len(writes))
	// Runs of one kind, no record twice, keep the order of each record.
	start := 0
	seen := map[string]bool{}
	kind := func(w record.Write) byte {
		switch {
		case w.Op == record.Delete:
			return 'd'
		case w.Key == "":
			return 'c'
		}
		return 'u'
	}
	flush := func(end int) {
		if end > start {
			idx := make([]int, 0, end-start)
			for i := start; i < end; i++ {
				idx = append(idx, i)
			}
			for len(idx) > 0 {
				n := min(collectionMax, len(idx))
				s.applyChunk(ctx, o, kind(writes[idx[0]]), idx[:n], writes, res)
				idx = idx[n:]
			}
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
	return res, ctx.Err()
}

func (s *System) body(o *object, w record.Write) map[string]any {
	m := map[string]any{"attributes": map[string]any{"type": o.Name}}
	for k, v := range w.Fields {
		if k != o.id {
			m[k] = v
		}
	}
	return m
}

func (s *System) applyChunk(ctx context.Context, o *object, kind byte, idx []int, ws []record.Write, res []record.Result) {
	fail := func(err error) {
		for _, i := range idx {
			res[i].Err = err
		}
	}
	var req rest.Request
	switch kind {
	case 'd':
		ids := make([]string, len(idx))
		for j, i := range idx {
			ids[j] = ws[i].Key
		}
		req = rest.Request{Method: "DELETE", Path: s.prefix + "/composite/sobjects",
			Query: url.Values{"ids": {strings.Join(ids, ",")}, "allOrNone": {"false"}}}
	case 'u':
		recs := make([]any, len(idx))
		for j, i := range idx {
			m := s.body(o, ws[i])
			m["id"] = ws[i].Key
			recs[j] = m
		}
		req = rest.Request{Method: "PATCH", Path: s.prefix + "/composite/sobjects", Idempotent: true,
			Body: map[string]any{"allOrNone": false, "records": recs}}
	default:
		recs := make([]any, len(idx))
		for j, i := range idx {
			m := s.body(o, ws[i])
			if s.cfg.ExternalID != "" {
				m[s.cfg.ExternalID] = ws[i].GID
			}
			recs[j] = m
		}
		if s.cfg.ExternalID != "" {
			// An upsert by tandem's id: sending it again cannot duplicate.
			req = rest.Request{Method: "PATCH", Path: s.prefix + "/composite/sobjects/" + o.Name + "/" + s.cfg.ExternalID,
				Idempotent: true, Body: map[string]any{"allOrNone": false, "records": recs}}
		} else {
			req = rest.Request{Method: "POST", Path: s.prefix + "/composite/sobjects",
				Body: map[string]any{"allOrNone": false, "records": recs}}
		}
	}
	resp, err := s.c.Do(ctx, req)
	if err != nil {
		if kind == 'c' && rest.IsUnsure(err) {
			err = &connector.Permanent{Err: fmt.Errorf("create %s in %s: %w; without external_id it cannot be looked up, "+
				"so it is not sent again (set salesforce.external_id, then retry)", o.Entity, s.name, err)}
		} else {
			err = rest.RecordError(err)
		}
		fail(err)
		return
	}
	var out []saveResult
	if err := resp.JSON(&out); err != nil {
		fail(fmt.Errorf("%s answered %d results for %d records: %w", s.name, len(out), len(idx), err))
		return
	}
	if len(out) != len(idx) {
		fail(fmt.Errorf("%s answered %d results for %d records", s.name, len(out), len(idx)))
		return
	}
	for j, i := range idx {
		r := out[j]
		switch {
		case kind == 'd' && !r.Success && len(r.Errors) > 0 &&
			(r.Errors[0].StatusCode == "ENTITY_IS_DELETED" || r.Errors[0].StatusCode == "INVALID_CROSS_REFERENCE_KEY"):
			res[i].Key = ws[i].Key // already gone
		case !r.Success:
			res[i].Err = r.err(s, o.Name)
		case kind == 'c':
			res[i].Key = r.ID
		default:
			res[i].Key = ws[i].Key
		}
	}
}

package http

import (
	"context"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/tandemhub/tandem/internal/connector/rest"
	"github.com/tandemhub/tandem/internal/record"
)

func values(m map[string]string) url.Values {
	if len(m) == 0 {
		return nil
	}
	q := url.Values{}
	for k, v := range m {
		q.Set(k, v)
	}
	return q
}

// list reads one page of the listing at path with extra parameters.
// page is "" for the first page; next is "" after the last.
func (s *System) list(ctx context.Context, r *resource, path string, extra map[string]string, page string) ([]map[string]any, string, error) {
	q := url.Values{}
	for k, v := range r.cfg.Params {
		q.Set(k, v)
	}
	for k, v := range extra {
		q.Set(k, v)
	}
	pg := r.paging
	size := strconv.Itoa(pg.Size)
	if pg.Limit != "" {
		q.Set(pg.Limit, size)
	}
	var offset, number int
	switch pg.Style {
	case "offset":
		offset, _ = strconv.Atoi(page)
		q.Set(pg.Offset, strconv.Itoa(offset))
	case "page":
		number = pg.First
		if page != "" {
			number, _ = strconv.Atoi(page)
		}
		q.Set(pg.Page, strconv.Itoa(number))
	case "token":
		if page != "" {
			q.Set(pg.Token, page)
		}
	case "link":
		if page != "" {
			path, q = page, nil // the link carries every parameter
		}
	}
	resp, err := s.c.Do(ctx, rest.Request{Method: "GET", Path: path, Query: q})
	if err != nil {
		return nil, "", err
	}
	var v any
	if err := resp.JSON(&v); err != nil {
		return nil, "", fmt.Errorf("list %s: %w", path, err)
	}
	raw := rest.Get(v, r.cfg.Records)
	if _, ok := raw.([]any); !ok && raw != nil {
		return nil, "", fmt.Errorf("list %s: no list of records at %q", path, r.cfg.Records)
	}
	recs := rest.Objects(raw)
	next := ""
	full := len(recs) >= pg.Size
	switch pg.Style {
	case "offset":
		if full {
			next = strconv.Itoa(offset + len(recs))
		}
	case "page":
		if (pg.Limit != "" && full) || (pg.Limit == "" && len(recs) > 0) {
			next = strconv.Itoa(number + 1)
		}
	case "token":
		next = rest.Text(rest.Get(v, pg.Next))
	case "link":
		if pg.Next != "" {
			next = rest.Text(rest.Get(v, pg.Next))
		} else {
			next = nextLink(resp.Header.Get("Link"))
		}
	}
	return recs, next, nil
}

var linkNext = regexp.MustCompile(`<([^>]+)>\s*;[^,]*rel="?next"?`)

// nextLink finds rel="next" in a Link header.
func nextLink(h string) string {
	if m := linkNext.FindStringSubmatch(h); m != nil {
		return m[1]
	}
	return ""
}

// feed is the ListFunc of a resource's changes (or, with deletes, of its
// listing of deleted records).
func (s *System) feed(r *resource, path string, deletes bool) rest.ListFunc {
	return func(ctx context.Context, since rest.Stamp, from bool, page string) ([]rest.Item, string, error) {
		extra := map[string]string{}
		format := r.cfg.SinceFormat
		if from && (format == "" || format == "raw") && since.Time && r.sampled() == "" && page == "" {
			// {since} must look like the system's own values: learn how it
			// writes them from one page first.
			recs, _, err := s.list(ctx, r, path, nil, "")
			if err != nil {
				return nil, "", err
			}
			for _, rec := range recs {
				if x, err := rest.ParseStamp(rest.Get(rec, r.cfg.Updated)); err == nil {
					r.sample(x.Raw)
					break
				}
			}
			if r.sampled() == "" {
				from = false // nothing to learn from yet: read all, filter here
			}
		}
		if from {
			like := r.sampled()
			if !since.Time {
				like = since.Raw
			}
			for k, v := range r.cfg.Since {
				extra[k] = strings.ReplaceAll(v, "{since}", since.Format(format, like))
			}
		}
		recs, next, err := s.list(ctx, r, path, extra, page)
		if err != nil {
			return nil, "", err
		}
		items := make([]rest.Item, 0, len(recs))
		for _, rec := range recs {
			c, st := s.change(r, rec, deletes)
			if c.Key == "" || st.Raw == "" {
				continue // no id or no stamp: cannot be ordered
			}
			items = append(items, rest.Item{Key: c.Key, Stamp: st, Sum: r.sum(rec), Change: c})
		}
		// Offset and page numbers shift when records change while paging:
		// stop after a page with news and query again from the new cursor.
		if !r.stable && len(items) > 0 {
			next = ""
		}
		return items, next, nil
	}
}

// ids lists every id of a resource (for delete scans), with the global
// id each record carries in the lookup field.
func (s *System) ids(ctx context.Context, r *resource) ([]rest.Listed, error) {
	var out []rest.Listed
	page := ""
	for range 100000 {
		recs, next, err := s.list(ctx, r, r.path, nil, page)
		if err != nil {
			return nil, err
		}
		for _, rec := range recs {
			if r.deleted != "" && rest.Truthy(rest.Get(rec, r.deleted)) {
				continue
			}
			if id := rest.Text(rest.Get(rec, r.id)); id != "" {
				l := rest.Listed{ID: id}
				if r.cfg.Lookup != "" {
					l.GID = rest.Text(rest.Get(rec, r.cfg.Lookup))
				}
				out = append(out, l)
			}
		}
		if next == "" || next == page {
			return out, nil
		}
		page = next
	}
	return out, nil
}

// snapshotEnd is the cursor after the last page of a snapshot.
const snapshotEnd = "~end"

// Snapshot implements connector.Source: one page of the listing per
// call, live records only; the cursor is the next page.
func (s *System) Snapshot(ctx context.Context, entity, after string, max int) ([]record.Change, string, error) {
	r, err := s.resource(entity)
	if err != nil {
		return nil, "", err
	}
	if after == snapshotEnd {
		return nil, after, nil
	}
	for {
		recs, next, err := s.list(ctx, r, r.path, nil, after)
		if err != nil {
			return nil, "", fmt.Errorf("snapshot %s of %s: %w", entity, s.name, err)
		}
		out := make([]record.Change, 0, len(recs))
		for _, rec := range recs {
			if c, _ := s.change(r, rec, false); c.Op == record.Upsert && c.Key != "" {
				out = append(out, c)
			}
		}
		if next == "" || next == after {
			next = snapshotEnd
		}
		if len(out) > 0 || next == snapshotEnd {
			return out, next, nil
		}
		after = next // a page of tombstones only
	}
}

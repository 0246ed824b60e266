package http

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	nethttp "net/http"
	"sync"
	"time"

	"github.com/tandemhub/tandem/internal/config"
	"github.com/tandemhub/tandem/internal/connector"
	"github.com/tandemhub/tandem/internal/connector/rest"
	"github.com/tandemhub/tandem/internal/record"
	"github.com/tandemhub/tandem/internal/webhook"
)

// System is a system reached through a REST API. Its methods are safe
// for concurrent use.
type System struct {
	name          string
	c             *rest.Client
	cfg           *Settings
	res           map[string]*resource // by entity
	byTable       map[string]*resource
	scans         map[string]*rest.Scan // by entity
	feeds         map[string]*rest.Feed // a resource's changes, by entity
	*rest.Capture                       // Changes, Ack and the cursor methods the hub keeps
	pulls         *rest.Pulls
	log           *slog.Logger

	announce func(entity, gid, key string)
	answered func(entity, gid string, stamp int64)

	mu      sync.Mutex
	unsure  map[string]bool     // global ids whose create may or may not have happened
	created map[[2]string]made  // entity, key → the record made there (echo help without a lookup field)
	owned   map[[2]string]owned // entity, key → what the system showed of tandem's last write there
	writing map[[2]string]owned // entity, key (or "\x00" and gid for a create) → what tandem is writing there now
}

// New connects to the API of sys, with the tables mapped to it.
func New(ctx context.Context, name string, sys *config.System, tables []connector.Table, log *slog.Logger) (*System, error) {
	cfg := SettingsOf(sys)
	tc, err := sys.TLS.Config()
	if err != nil {
		return nil, fmt.Errorf("system %q: %w", name, err)
	}
	c, err := rest.NewClient(rest.Options{System: name, Base: sys.DSN, API: cfg.API, Log: log, TLS: tc})
	if err != nil {
		return nil, err
	}
	return Open(name, c, cfg, tables, log)
}

// Open makes a System on a client (tests pass their own).
func Open(name string, c *rest.Client, cfg *Settings, tables []connector.Table, log *slog.Logger) (*System, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &System{name: name, c: c, cfg: cfg, res: map[string]*resource{}, byTable: map[string]*resource{},
		pulls: &rest.Pulls{}, scans: map[string]*rest.Scan{}, feeds: map[string]*rest.Feed{}, log: log, unsure: map[string]bool{}, created: map[[2]string]made{}, owned: map[[2]string]owned{}, writing: map[[2]string]owned{}}
	overlap := cfg.Overlap.D()
	if overlap <= 0 {
		overlap = rest.DefaultOverlap
	}
	s.Capture = &rest.Capture{System: name, Pulls: s.pulls, Fetch: s.fetchTable, Now: s.clock, Overlap: overlap, Log: log}
	for _, t := range tables {
		if s.res[t.Entity] != nil {
			return nil, fmt.Errorf("http system %q: entity %q is mapped twice", name, t.Entity)
		}
		r := newResource(t, cfg.Resources[t.Name])
		s.res[t.Entity] = r
		s.byTable[t.Name] = r
		if r.cfg.Updated != "" {
			f := &rest.Feed{Name: t.Entity, Overlap: overlap, List: s.feed(r, r.path, false)}
			s.Capture.Feeds = append(s.Capture.Feeds, f)
			s.feeds[t.Entity] = f
		}
		if d := r.cfg.Deletes; d != nil && d.Path != "" {
			s.Capture.Feeds = append(s.Capture.Feeds, &rest.Feed{Name: t.Entity + "/deleted", Overlap: overlap, List: s.feed(r, d.Path, true)})
		}
		if d := r.cfg.Deletes; d != nil && d.Scan > 0 {
			sc := &rest.Scan{Name: t.Entity + "/ids", Entity: t.Entity, System: name, Every: d.Scan.D(),
				IDs:   func(ctx context.Context) ([]rest.Listed, error) { return s.ids(ctx, r) },
				Gone:  func(ctx context.Context, ids []string) ([]rest.Absent, error) { return s.gone(ctx, r, ids) },
				GIDOf: func(id string, before time.Time) string { return s.madeHere(t.Entity, id, before) }}
			s.Capture.Scans = append(s.Capture.Scans, sc)
			s.scans[t.Entity] = sc
		}
	}
	return s, nil
}

// Setup implements connector.Installer: it checks that the API answers
// and that the credentials work by reading one page of each resource.
func (s *System) Setup(ctx context.Context) error {
	var errs []error
	for _, r := range s.res {
		if _, _, err := s.list(ctx, r, r.path, nil, ""); err != nil {
			errs = append(errs, fmt.Errorf("http system %q, resource %q: %w", s.name, r.Name, err))
		}
	}
	return errors.Join(errs...)
}

// Announce implements connector.Announcer.
func (s *System) Announce(f func(entity, gid, key string)) { s.announce = f }

// AnnounceAnswered implements connector.Announcer.
func (s *System) AnnounceAnswered(f func(entity, gid string, stamp int64)) { s.answered = f }

// Close implements connector.Source and connector.Destination.
func (s *System) Close(context.Context) error { return nil }

func (s *System) Client() *rest.Client { return s.c }
func (s *System) resource(entity string) (*resource, error) {
	r := s.res[entity]
	if r == nil {
		return nil, &connector.Permanent{Err: fmt.Errorf("http system %q has no mapping for entity %q", s.name, entity)}
	}
	return r, nil
}

// clock is the API's clock, from the Date header of a small request.
func (s *System) clock(ctx context.Context) (time.Time, error) {
	for _, r := range s.res { // any one will do
		q := map[string]string{}
		if r.paging.Limit != "" {
			q[r.paging.Limit] = "1"
		}
		return s.c.Clock(ctx, rest.Request{Method: "GET", Path: r.path, Query: values(q)})
	}
	return time.Now(), nil
}

// Webhook is the handler of the system's notifications, or nil when it
// has no webhook configured.
func (s *System) Webhook() nethttp.Handler {
	w := s.cfg.Webhook
	if w == nil {
		return nil
	}
	scheme := webhook.Scheme{Secret: []byte(w.Secret), Header: w.Header, Encoding: w.Encoding, Prefix: w.Prefix,
		Timestamp: w.Timestamp, Tolerance: w.Tolerance.D()}
	if scheme.Header == "" {
		scheme.Header = "X-Tandem-Signature"
	}
	return &webhook.Handler{System: s.name, Scheme: scheme, Parse: s.parseNotification, Notify: s.pulls.Add, Log: s.log}
}

// parseNotification reads the records a notification names.
func (s *System) parseNotification(body []byte) ([]webhook.Notice, error) {
	w := s.cfg.Webhook
	var v any
	if err := (&rest.Response{Body: body}).JSON(&v); err != nil {
		return nil, err
	}
	events := rest.Get(v, w.Events)
	var list []map[string]any
	switch x := events.(type) {
	case []any:
		list = rest.Objects(x)
	case map[string]any:
		list = []map[string]any{x}
	default:
		return nil, fmt.Errorf("no notifications at %q", w.Events)
	}
	idField := w.ID
	if idField == "" {
		idField = "id"
	}
	var out []webhook.Notice
	for _, ev := range list {
		table := ""
		if w.Resource != "" {
			table = rest.Text(rest.Get(ev, w.Resource))
		} else if len(s.byTable) == 1 {
			for t := range s.byTable {
				table = t
			}
		}
		id := rest.Text(rest.Get(ev, idField))
		if s.byTable[table] == nil || id == "" {
			continue // not about a mapped resource
		}
		out = append(out, webhook.Notice{Table: table, ID: id})
	}
	return out, nil
}

// Fetch implements connector.Source: one GET per key; a missing record
// comes back as a delete.
func (s *System) Fetch(ctx context.Context, entity string, keys []string) ([]record.Change, error) {
	r, err := s.resource(entity)
	if err != nil {
		return nil, err
	}
	return s.fetch(ctx, r, keys)
}

func (s *System) fetchTable(ctx context.Context, table string, keys []string) ([]record.Change, error) {
	r := s.byTable[table]
	if r == nil {
		return nil, nil
	}
	return s.fetch(ctx, r, keys)
}

func (s *System) fetch(ctx context.Context, r *resource, keys []string) ([]record.Change, error) {
	out := make([]record.Change, 0, len(keys))
	for _, k := range keys {
		asked := time.Now()
		rec, err := s.get(ctx, r, k)
		switch {
		case rest.NotFound(err):
			out = append(out, record.Change{System: s.name, Entity: r.Entity, Key: k, Op: record.Delete,
				Version: asked.UnixNano(), At: asked, Observed: true})
		case err != nil:
			return nil, fmt.Errorf("fetch %s %s from %s: %w", r.Entity, k, s.name, err)
		default:
			c, _ := s.change(r, rec, false)
			out = append(out, c)
		}
	}
	return out, nil
}

// made is a record this process made in the system.
type made struct {
	gid string
	at  time.Time // when the system answered
}

// madeHere returns the global id of the record tandem made under key
// before before, if this process made it, and forgets it: the record is
// gone. A record made since is not the one found gone.
func (s *System) madeHere(entity, key string, before time.Time) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.created[[2]string{entity, key}]
	if !ok || !m.at.Before(before) {
		return ""
	}
	delete(s.created, [2]string{entity, key})
	return m.gid
}

// gone returns which of ids the system no longer holds (or holds as
// deleted), asking for each, with when it asked.
func (s *System) gone(ctx context.Context, r *resource, ids []string) ([]rest.Absent, error) {
	var out []rest.Absent
	for _, id := range ids {
		asked := time.Now()
		rec, err := s.get(ctx, r, id)
		switch {
		case rest.NotFound(err):
		case err != nil:
			return nil, fmt.Errorf("look up %s %s in %s before taking it as deleted: %w", r.Entity, id, s.name, err)
		case r.deleted != "" && rest.Truthy(rest.Get(rec, r.deleted)):
		default:
			continue
		}
		out = append(out, rest.Absent{ID: id, At: asked})
	}
	return out, nil
}

func (s *System) get(ctx context.Context, r *resource, id string) (map[string]any, error) {
	return s.getPaid(ctx, r, id, false)
}

// getPaid is get, its limiter token taken already when paid.
func (s *System) getPaid(ctx context.Context, r *resource, id string, paid bool) (map[string]any, error) {
	resp, err := s.c.Do(ctx, rest.Request{Method: "GET", Path: itemPath(r.item, id), Paid: paid})
	if err != nil {
		return nil, err
	}
	var v any
	if err := resp.JSON(&v); err != nil {
		return nil, err
	}
	rec, ok := rest.Get(v, r.cfg.Record).(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s %s: the answer holds no record at %q", r.Name, id, r.cfg.Record)
	}
	return rec, nil
}

// change turns a record of the API into a change. deleted forces a delete.
func (s *System) change(r *resource, rec map[string]any, deleted bool) (record.Change, rest.Stamp) {
	key := rest.Text(rest.Get(rec, r.id))
	// When the system does not say when the record changed, tandem's
	// clock does: it read the change then.
	c := record.Change{System: s.name, Entity: r.Entity, Key: key, At: time.Now(), Observed: true}
	var st rest.Stamp
	if r.cfg.Updated != "" {
		if x, err := rest.ParseStamp(rest.Get(rec, r.cfg.Updated)); err == nil {
			st = x
			c.Version = x.Order
			if x.Time {
				c.At = time.Unix(0, x.Order).UTC() // when the system says it changed
				c.Observed = false
			}
			if c.Echo, c.Base = s.ownWrite(r, key, x, rec); !c.Echo {
				c.Echo, c.Base = s.beingWritten(r, key, x, rec)
			}
			if f := s.feeds[r.Entity]; f != nil && !c.Echo {
				c.UsersStamp = f.Stamping() == rest.StampingKeeps
			}
			r.sample(x.Raw)
		}
	}
	if deleted || (r.deleted != "" && rest.Truthy(rest.Get(rec, r.deleted))) {
		c.Op = record.Delete
		if r.cfg.Lookup != "" {
			c.GID = rest.Text(rest.Get(rec, r.cfg.Lookup))
		}
		if gid := s.madeHere(r.Entity, key, time.Now()); c.GID == "" {
			c.GID = gid
		}
		if c.Version == 0 {
			c.Version = time.Now().UnixNano()
		}
		return c, st
	}
	c.Op = record.Upsert
	if sc := s.scans[r.Entity]; sc != nil && key != "" {
		sc.Saw(key)
	}
	c.Fields = make(record.Fields, len(r.Columns)+1)
	for _, col := range r.Columns {
		c.Fields[col] = rest.Value(rest.Get(rec, col))
	}
	if r.Key != r.id {
		c.Fields[r.Key] = rest.Value(rest.Get(rec, r.Key))
	}
	if r.cfg.Lookup != "" {
		// The record's own field says; one without it tandem did not make.
		c.GID = rest.Text(rest.Get(rec, r.cfg.Lookup))
	} else {
		s.mu.Lock()
		c.GID = s.created[[2]string{r.Entity, key}].gid
		s.mu.Unlock()
	}
	return c, st
}

// Known implements connector.Knower: the keys tandem links here join the
// baseline of the entity's delete scan.
func (s *System) Known(entity string, keys []string) {
	if sc := s.scans[entity]; sc != nil && len(keys) > 0 {
		sc.Saw(keys...)
	}
}

// ReadsBack implements connector.ReadsBack: capture reads tandem's writes
// back, and knows them only by the stamps this process saw.
func (s *System) ReadsBack() bool { return true }

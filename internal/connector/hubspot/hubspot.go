package hubspot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tandemhub/tandem/internal/config"
	"github.com/tandemhub/tandem/internal/connector"
	"github.com/tandemhub/tandem/internal/connector/rest"
	"github.com/tandemhub/tandem/internal/record"
	"github.com/tandemhub/tandem/internal/webhook"
)

// DefaultBase is HubSpot's API host.
const DefaultBase = "https://api.hubapi.com"

// System is a HubSpot portal. Its methods are safe for concurrent use.
type System struct {
	name          string
	c             *rest.Client
	cfg           Settings
	objects       map[string]*object // by entity
	byType        map[string]*object // by object type
	*rest.Capture                    // Changes, Ack and the cursor methods the hub keeps
	pulls         *rest.Pulls
	log           *slog.Logger
}

type object struct {
	connector.Table
	mod string // the last-modified property

	mu       sync.Mutex
	lastScan time.Time // of the archived listing
}

// New connects to the portal.
func New(ctx context.Context, name string, sys *config.System, tables []connector.Table, log *slog.Logger) (*System, error) {
	cfg := SettingsOf(sys)
	base := sys.DSN
	if base == "" {
		base = DefaultBase
	}
	tc, err := sys.TLS.Config()
	if err != nil {
		return nil, fmt.Errorf("system %q: %w", name, err)
	}
	c, err := rest.NewClient(rest.Options{System: name, Base: base, API: cfg.API, Log: log, TLS: tc})
	if err != nil {
		return nil, err
	}
	return Open(name, c, cfg, tables, log), nil
}

// Open makes a System on a client.
func Open(name string, c *rest.Client, cfg Settings, tables []connector.Table, log *slog.Logger) *System {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.Archived <= 0 {
		cfg.Archived = config.Duration(30 * time.Second)
	}
	s := &System{name: name, c: c, cfg: cfg, objects: map[string]*object{}, byType: map[string]*object{},
		pulls: &rest.Pulls{}, log: log}
	overlap := cfg.Overlap.D()
	if overlap <= 0 {
		overlap = rest.DefaultOverlap
	}
	s.Capture = &rest.Capture{System: name, Pulls: s.pulls, Fetch: s.fetchType, Now: s.clock, Overlap: overlap, Log: log}
	for _, t := range tables {
		o := &object{Table: t, mod: "hs_lastmodifieddate"}
		if t.Name == "contacts" {
			o.mod = "lastmodifieddate"
		}
		s.objects[t.Entity] = o
		s.byType[t.Name] = o
		s.Capture.Feeds = append(s.Capture.Feeds,
			&rest.Feed{Name: t.Entity, Overlap: overlap, List: s.feed(o)},
			&rest.Feed{Name: t.Entity + "/archived", Overlap: overlap, List: s.archived(o)})
	}
	return s
}

func (s *System) object(entity string) (*object, error) {
	o := s.objects[entity]
	if o == nil {
		return nil, &connector.Permanent{Err: fmt.Errorf("hubspot system %q has no mapping for entity %q", s.name, entity)}
	}
	return o, nil
}

func (s *System) path(o *object, tail string) string {
	return "/crm/v3/objects/" + url.PathEscape(o.Name) + tail
}

// properties lists the properties read: the mapped columns and the id property.
func (s *System) properties(o *object) []string {
	out := append([]string(nil), o.Columns...)
	if s.cfg.IDProperty != "" {
		out = append(out, s.cfg.IDProperty)
	}
	return out
}

// result is one object in an answer.
type result struct {
	ID                 string         `json:"id"`
	Properties         map[string]any `json:"properties"`
	UpdatedAt          string         `json:"updatedAt"`
	Archived           bool           `json:"archived"`
	ArchivedAt         string         `json:"archivedAt"`
	ObjectWriteTraceID string         `json:"objectWriteTraceId"`
}

type page struct {
	Results []result `json:"results"`
	Paging  struct {
		Next struct {
			After string `json:"after"`
		} `json:"next"`
	} `json:"paging"`
}

func (s *System) change(o *object, r result) record.Change {
	c := record.Change{System: s.name, Entity: o.Entity, Key: r.ID, At: time.Now()}
	if r.Archived {
		c.Op = record.Delete
		return c
	}
	c.Op = record.Upsert
	c.Fields = make(record.Fields, len(o.Columns))
	for _, col := range o.Columns {
		c.Fields[col] = rest.Value(r.Properties[col])
	}
	if s.cfg.IDProperty != "" {
		c.GID = rest.Text(r.Properties[s.cfg.IDProperty])
	}
	return c
}

// feed searches for objects modified since the cursor.
func (s *System) feed(o *object) rest.ListFunc {
	return func(ctx context.Context, since rest.Stamp, from bool, after string) ([]rest.Item, string, error) {
		body := map[string]any{"properties": s.properties(o), "limit": 100,
			"sorts": []any{map[string]any{"propertyName": o.mod, "direction": "ASCENDING"}}}
		if from && since.Time {
			ms := since.Order / int64(time.Millisecond)
			body["filterGroups"] = []any{map[string]any{"filters": []any{
				map[string]any{"propertyName": o.mod, "operator": "GTE", "value": strconv.FormatInt(ms, 10)}}}}
		}
		if after != "" {
			body["after"] = after
		}
		resp, err := s.c.Do(ctx, rest.Request{Method: "POST", Path: s.path(o, "/search"), Body: body, Idempotent: true})
		if err != nil {
			return nil, "", err
		}
		var p page
		if err := resp.JSON(&p); err != nil {
			return nil, "", err
		}
		items := make([]rest.Item, 0, len(p.Results))
		for _, r := range p.Results {
			st, err := rest.ParseStamp(r.UpdatedAt)
			if err != nil {
				continue
			}
			c := s.change(o, r)
			c.Version = st.Order
			items = append(items, rest.Item{Key: r.ID, Stamp: st, Change: c})
		}
		next := p.Paging.Next.After
		if len(items) > 0 {
			next = "" // search pages by offset: search again from the new cursor
		}
		return items, next, nil
	}
}

// archived lists archived objects, every archived_every, as deletes.
func (s *System) archived(o *object) rest.ListFunc {
	return func(ctx context.Context, since rest.Stamp, from bool, after string) ([]rest.Item, string, error) {
		o.mu.Lock()
		due := after != "" || time.Since(o.lastScan) >= s.cfg.Archived.D()
		if after == "" && due {
			o.lastScan = time.Now()
		}
		o.mu.Unlock()
		if !due {
			return nil, "", nil
		}
		q := url.Values{"archived": {"true"}, "limit": {"100"}}
		if after != "" {
			q.Set("after", after)
		}
		resp, err := s.c.Do(ctx, rest.Request{Method: "GET", Path: s.path(o, ""), Query: q})
		if err != nil {
			return nil, "", err
		}
		var p page
		if err := resp.JSON(&p); err != nil {
			return nil, "", err
		}
		var items []rest.Item
		for _, r := range p.Results {
			st, err := rest.ParseStamp(r.ArchivedAt)
			if err != nil {
				continue
			}
			c := record.Change{System: s.name, Entity: o.Entity, Key: r.ID, Op: record.Delete, Version: st.Order, At: time.Now()}
			items = append(items, rest.Item{Key: r.ID, Stamp: st, Change: c})
		}
		return items, p.Paging.Next.After, nil
	}
}

// clock reads HubSpot's clock from the Date header of a small request.
func (s *System) clock(ctx context.Context) (time.Time, error) {
	for _, o := range s.objects { // any one will do
		return s.c.Clock(ctx, rest.Request{Method: "GET", Path: s.path(o, ""), Query: url.Values{"limit": {"1"}}})
	}
	return time.Now(), nil
}

// Setup implements connector.Installer: it reads one object of each type.
func (s *System) Setup(ctx context.Context) error {
	var errs []error
	for _, o := range s.objects {
		q := url.Values{"limit": {"1"}, "properties": {strings.Join(s.properties(o), ",")}}
		if _, err := s.c.Do(ctx, rest.Request{Method: "GET", Path: s.path(o, ""), Query: q}); err != nil {
			errs = append(errs, fmt.Errorf("hubspot system %q, object type %s: %w", s.name, o.Name, err))
		}
	}
	return errors.Join(errs...)
}

// Close implements connector.Source and connector.Destination.
func (s *System) Close(context.Context) error { return nil }

// Snapshot implements connector.Source, paging the list with after.
func (s *System) Snapshot(ctx context.Context, entity, after string, _ int) ([]record.Change, string, error) {
	o, err := s.object(entity)
	if err != nil {
		return nil, "", err
	}
	if after == "~end" {
		return nil, after, nil
	}
	q := url.Values{"limit": {"100"}, "properties": {strings.Join(s.properties(o), ",")}}
	if after != "" {
		q.Set("after", after)
	}
	resp, err := s.c.Do(ctx, rest.Request{Method: "GET", Path: s.path(o, ""), Query: q})
	if err != nil {
		return nil, "", fmt.Errorf("snapshot %s of %s: %w", entity, s.name, err)
	}
	var p page
	if err := resp.JSON(&p); err != nil {
		return nil, "", err
	}
	out := make([]record.Change, 0, len(p.Results))
	for _, r := range p.Results {
		out = append(out, s.change(o, r))
	}
	next := p.Paging.Next.After
	if next == "" {
		next = "~end"
	}
	return out, next, nil
}

// Fetch implements connector.Source with batch/read; ids not found are deletes.
func (s *System) Fetch(ctx context.Context, entity string, keys []string) ([]record.Change, error) {
	o, err := s.object(entity)
	if err != nil {
		return nil, err
	}
	return s.fetch(ctx, o, keys)
}

func (s *System) fetchType(ctx context.Context, typ string, keys []string) ([]record.Change, error) {
	o := s.byType[typ]
	if o == nil {
		return nil, nil
	}
	return s.fetch(ctx, o, keys)
}

func (s *System) fetch(ctx context.Context, o *object, keys []string) ([]record.Change, error) {
	found := map[string]record.Change{}
	for i := 0; i < len(keys); i += 100 {
		chunk := keys[i:min(i+100, len(keys))]
		inputs := make([]any, len(chunk))
		for j, k := range chunk {
			inputs[j] = map[string]any{"id": k}
		}
		resp, err := s.c.Do(ctx, rest.Request{Method: "POST", Path: s.path(o, "/batch/read"), Idempotent: true,
			Body: map[string]any{"properties": s.properties(o), "inputs": inputs}})
		if err != nil && !rest.NotFound(err) {
			return nil, fmt.Errorf("fetch %s from %s: %w", o.Entity, s.name, err)
		}
		if resp == nil || rest.NotFound(err) {
			continue
		}
		var p page
		if err := resp.JSON(&p); err != nil {
			return nil, err
		}
		for _, r := range p.Results {
			found[r.ID] = s.change(o, r)
		}
	}
	out := make([]record.Change, len(keys))
	for i, k := range keys {
		if c, ok := found[k]; ok {
			out[i] = c
		} else {
			out[i] = record.Change{System: s.name, Entity: o.Entity, Key: k, Op: record.Delete, Version: time.Now().UnixNano(), At: time.Now()}
		}
	}
	return out, nil
}

// Webhook is the handler of HubSpot's notifications, or nil without a webhook.
func (s *System) Webhook() http.Handler {
	w := s.cfg.Webhook
	if w == nil {
		return nil
	}
	scheme := webhook.HubSpotV3(w.Secret)
	if w.Tolerance > 0 {
		scheme.Tolerance = w.Tolerance.D()
	}
	return &webhook.Handler{System: s.name, Scheme: scheme, Parse: s.parse, Notify: s.pulls.Add, Log: s.log}
}

// objectTypes maps the first word of a subscriptionType to an object type.
var objectTypes = map[string]string{"contact": "contacts", "company": "companies", "deal": "deals",
	"ticket": "tickets", "product": "products", "line_item": "line_items", "quote": "quotes"}

// parse reads HubSpot's list of events.
func (s *System) parse(body []byte) ([]webhook.Notice, error) {
	var events []struct {
		SubscriptionType string      `json:"subscriptionType"`
		ObjectID         json.Number `json:"objectId"`
		ObjectTypeID     string      `json:"objectTypeId"`
	}
	if err := json.Unmarshal(body, &events); err != nil {
		return nil, fmt.Errorf("not a list of HubSpot events: %w", err)
	}
	var out []webhook.Notice
	for _, e := range events {
		kind, _, _ := strings.Cut(e.SubscriptionType, ".")
		typ := objectTypes[kind]
		if typ == "" {
			typ = e.ObjectTypeID
		}
		if s.byType[typ] == nil || e.ObjectID == "" {
			continue
		}
		out = append(out, webhook.Notice{Table: typ, ID: e.ObjectID.String()})
	}
	return out, nil
}

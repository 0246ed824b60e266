package salesforce

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/tandemhub/tandem/internal/config"
	"github.com/tandemhub/tandem/internal/connector"
	"github.com/tandemhub/tandem/internal/connector/rest"
	"github.com/tandemhub/tandem/internal/record"
)

// DefaultVersion is the REST API version used when none is configured.
const DefaultVersion = "60.0"

// System is a Salesforce org. Its methods are safe for concurrent use.
type System struct {
	name          string
	c             *rest.Client
	cfg           Settings
	prefix        string             // /services/data/vNN.N
	objects       map[string]*object // by entity
	*rest.Capture                    // Changes, Ack and the cursor methods the hub keeps
	log           *slog.Logger
}

type object struct {
	connector.Table
	id string // Id field (the mapping's key)
}

// New connects to the org at sys.DSN.
func New(ctx context.Context, name string, sys *config.System, tables []connector.Table, log *slog.Logger) (*System, error) {
	cfg := SettingsOf(sys)
	tc, err := sys.TLS.Config()
	if err != nil {
		return nil, fmt.Errorf("system %q: %w", name, err)
	}
	c, err := rest.NewClient(rest.Options{System: name, Base: sys.DSN, API: cfg.API, Log: log, TLS: tc, Decode: decodeError})
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
	if cfg.Version == "" {
		cfg.Version = DefaultVersion
	}
	s := &System{name: name, c: c, cfg: cfg, prefix: "/services/data/v" + cfg.Version, objects: map[string]*object{}, log: log}
	overlap := cfg.Overlap.D()
	if overlap <= 0 {
		overlap = rest.DefaultOverlap
	}
	s.Capture = &rest.Capture{System: name, Now: s.clock, Overlap: overlap, Log: log}
	for _, t := range tables {
		o := &object{Table: t, id: t.Key}
		if o.id == "" {
			o.id = "Id"
		}
		s.objects[t.Entity] = o
		s.Capture.Feeds = append(s.Capture.Feeds, &rest.Feed{Name: t.Entity, Overlap: overlap, List: s.feed(o)})
	}
	return s
}

// decodeError reads Salesforce's [{message, errorCode, fields}].
func decodeError(status int, body []byte) *rest.APIError {
	e := rest.DecodeError(status, body)
	switch e.Code {
	case "REQUEST_LIMIT_EXCEEDED":
		e.RateLimited = true
	case "UNABLE_TO_LOCK_ROW", "SERVER_UNAVAILABLE", "QUERY_TIMEOUT":
		e.Transient = true
	}
	return e
}

func (s *System) object(entity string) (*object, error) {
	o := s.objects[entity]
	if o == nil {
		return nil, &connector.Permanent{Err: fmt.Errorf("salesforce system %q has no mapping for entity %q", s.name, entity)}
	}
	return o, nil
}

// fields lists what queries select: Id, the mapped columns, the
// External ID field, SystemModstamp and IsDeleted.
func (s *System) fields(o *object, deleted bool) string {
	seen := map[string]bool{}
	var out []string
	add := func(f string) {
		if f != "" && !seen[f] {
			seen[f] = true
			out = append(out, f)
		}
	}
	add(o.id)
	for _, c := range o.Columns {
		add(c)
	}
	add(s.cfg.ExternalID)
	add("SystemModstamp")
	if deleted {
		add("IsDeleted")
	}
	return strings.Join(out, ", ")
}

// query runs SOQL (queryAll with all) or follows a nextRecordsUrl.
func (s *System) query(ctx context.Context, soql string, all bool, next string) ([]map[string]any, string, error) {
	req := rest.Request{Method: "GET", Header: http.Header{"Sforce-Query-Options": {"batchSize=2000"}}}
	if next != "" {
		req.Path = next
	} else {
		req.Path = s.prefix + "/query"
		if all {
			req.Path = s.prefix + "/queryAll"
		}
		req.Query = url.Values{"q": {soql}}
	}
	resp, err := s.c.Do(ctx, req)
	if err != nil {
		return nil, "", err
	}
	var out struct {
		Done           bool             `json:"done"`
		NextRecordsURL string           `json:"nextRecordsUrl"`
		Records        []map[string]any `json:"records"`
	}
	d := json.NewDecoder(bytes.NewReader(resp.Body))
	d.UseNumber()
	if err := d.Decode(&out); err != nil {
		return nil, "", fmt.Errorf("decode query answer: %w", err)
	}
	if out.Done {
		out.NextRecordsURL = ""
	}
	return out.Records, out.NextRecordsURL, nil
}

// quote writes a SOQL string literal.
func quote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

// soqlTime writes a SOQL datetime literal.
func soqlTime(st rest.Stamp) string {
	return time.Unix(0, st.Order).UTC().Format("2006-01-02T15:04:05.000Z")
}

// feed reads changes of an object with queryAll, deletes included.
func (s *System) feed(o *object) rest.ListFunc {
	return func(ctx context.Context, since rest.Stamp, from bool, page string) ([]rest.Item, string, error) {
		q := "SELECT " + s.fields(o, true) + " FROM " + o.Name
		if from && since.Time {
			q += " WHERE SystemModstamp >= " + soqlTime(since)
		}
		q += " ORDER BY SystemModstamp, Id"
		recs, next, err := s.query(ctx, q, true, page)
		if err != nil {
			return nil, "", err
		}
		items := make([]rest.Item, 0, len(recs))
		for _, rec := range recs {
			c := s.change(o, rec)
			st, err := rest.ParseStamp(rec["SystemModstamp"])
			if err != nil || c.Key == "" {
				continue
			}
			c.Version = st.Order
			items = append(items, rest.Item{Key: c.Key, Stamp: st, Change: c})
		}
		return items, next, nil // a query locator is a fixed result set: safe to follow
	}
}

func (s *System) change(o *object, rec map[string]any) record.Change {
	c := record.Change{System: s.name, Entity: o.Entity, Key: rest.Text(rec[o.id]), At: time.Now()}
	if rest.Truthy(rec["IsDeleted"]) {
		c.Op = record.Delete
		return c
	}
	c.Op = record.Upsert
	c.Fields = make(record.Fields, len(o.Columns))
	for _, col := range o.Columns {
		c.Fields[col] = rest.Value(rec[col])
	}
	if s.cfg.ExternalID != "" {
		c.GID = rest.Text(rec[s.cfg.ExternalID])
	}
	return c
}

// clock reads the org's clock from the Date header of a small query.
func (s *System) clock(ctx context.Context) (time.Time, error) {
	for _, o := range s.objects { // any one will do
		return s.c.Clock(ctx, rest.Request{Method: "GET", Path: s.prefix + "/query",
			Query: url.Values{"q": {"SELECT Id FROM " + o.Name + " ORDER BY SystemModstamp DESC LIMIT 1"}}})
	}
	return time.Now(), nil
}

// Setup implements connector.Installer: it checks that every mapped
// object and field can be queried.
func (s *System) Setup(ctx context.Context) error {
	var errs []error
	for _, o := range s.objects {
		if _, _, err := s.query(ctx, "SELECT "+s.fields(o, false)+" FROM "+o.Name+" LIMIT 1", false, ""); err != nil {
			errs = append(errs, fmt.Errorf("salesforce system %q, object %s: %w", s.name, o.Name, err))
		}
	}
	return errors.Join(errs...)
}

// Close implements connector.Source and connector.Destination.
func (s *System) Close(context.Context) error { return nil }

// Snapshot implements connector.Source, paging by Id.
func (s *System) Snapshot(ctx context.Context, entity, after string, limit int) ([]record.Change, string, error) {
	o, err := s.object(entity)
	if err != nil {
		return nil, "", err
	}
	q := "SELECT " + s.fields(o, false) + " FROM " + o.Name
	if after != "" {
		q += " WHERE Id > " + quote(after)
	}
	q += fmt.Sprintf(" ORDER BY Id LIMIT %d", min(max(limit, 1), 2000))
	recs, _, err := s.query(ctx, q, false, "")
	if err != nil {
		return nil, "", fmt.Errorf("snapshot %s of %s: %w", entity, s.name, err)
	}
	out := make([]record.Change, 0, len(recs))
	for _, rec := range recs {
		out = append(out, s.change(o, rec))
	}
	if len(out) > 0 {
		after = out[len(out)-1].Key
	}
	return out, after, nil
}

// Fetch implements connector.Source with one query per 200 ids.
func (s *System) Fetch(ctx context.Context, entity string, keys []string) ([]record.Change, error) {
	o, err := s.object(entity)
	if err != nil {
		return nil, err
	}
	found := map[string]record.Change{}
	for i := 0; i < len(keys); i += 200 {
		chunk := keys[i:min(i+200, len(keys))]
		quoted := make([]string, len(chunk))
		for j, k := range chunk {
			quoted[j] = quote(k)
		}
		q := "SELECT " + s.fields(o, false) + " FROM " + o.Name + " WHERE Id IN (" + strings.Join(quoted, ", ") + ")"
		for next := ""; ; {
			recs, n, err := s.query(ctx, q, false, next)
			if err != nil {
				return nil, fmt.Errorf("fetch %s from %s: %w", entity, s.name, err)
			}
			for _, rec := range recs {
				c := s.change(o, rec)
				found[c.Key] = c
			}
			if n == "" {
				break
			}
			next = n
		}
	}
	out := make([]record.Change, len(keys))
	for i, k := range keys {
		if c, ok := found[k]; ok {
			out[i] = c
		} else {
			out[i] = record.Change{System: s.name, Entity: entity, Key: k, Op: record.Delete, Version: time.Now().UnixNano(), At: time.Now()}
		}
	}
	return out, nil
}

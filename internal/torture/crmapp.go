package torture

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// startCRM starts `tandem crmsim --kind crm` (bin is the tandem binary)
// on a free port, its log in dir. Its API is under /v1 of its url.
func startCRM(ctx context.Context, bin, dir string) (*child, error) {
	port, err := freePort(ctx)
	if err != nil {
		return nil, err
	}
	f, err := os.Create(filepath.Join(dir, "crmsim.log"))
	if err != nil {
		return nil, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	cmd := exec.Command(bin, "crmsim", "--kind", "crm", "--addr", addr) //nolint:noctx // its life is startChild's: child.stop signals its process group
	cmd.Dir = dir
	tail := func() string {
		b, _ := os.ReadFile(f.Name())
		return string(b)
	}
	c, err := startChild(ctx, "tandem crmsim", cmd, f, tail, "http://"+addr, "http://"+addr+"/v1/companies?limit=1")
	f.Close() // the child has its own descriptor
	return c, err
}

// crmApp plays the CRM's users through its REST API: companies and
// people, keyed by ids the CRM makes (never reused), stamped by the CRM
// itself. A company's number and a person's handle are the natural
// keys; a person's company holds the company's CRM id. Segments are the
// CRM's words for tiers.
type crmApp struct {
	name string
	base string // http://…/v1
	hc   *http.Client
}

var crmSegment = map[string]string{"gold": "enterprise", "silver": "midmarket", "bronze": "smb"}

func newCRMApp(name, base string) *crmApp {
	return &crmApp{name: name, base: base, hc: &http.Client{Timeout: 10 * time.Second}}
}

func (a *crmApp) Name() string { return a.name }
func (a *crmApp) Close() error { return nil }

// crmColl is the collection and natural-key field of an entity.
func crmColl(entity string) (coll, ref string) {
	if entity == Account {
		return "companies", "number"
	}
	return "people", "handle"
}

func (a *crmApp) do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := a.hc.Do(req)
	if err != nil {
		return fmt.Errorf("%s: %s %s: %w", a.name, method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == http.StatusNotFound {
		return errNotHere
	}
	if resp.StatusCode >= 300 {
		return fmt.Errorf("%s: %s %s: %d %s", a.name, method, path, resp.StatusCode, data)
	}
	if out != nil {
		d := json.NewDecoder(bytes.NewReader(data))
		d.UseNumber()
		if err := d.Decode(out); err != nil {
			return fmt.Errorf("%s: %s %s: %w", a.name, method, path, err)
		}
	}
	return nil
}

// list reads every live record of a collection matching q, page by page.
func (a *crmApp) list(ctx context.Context, coll string, q url.Values) ([]map[string]any, error) {
	if q == nil {
		q = url.Values{}
	}
	q.Set("limit", "1000")
	var all []map[string]any
	for {
		var page struct {
			Data []map[string]any `json:"data"`
			Next *string          `json:"next_cursor"`
		}
		if err := a.do(ctx, "GET", "/"+coll+"?"+q.Encode(), nil, &page); err != nil {
			return nil, err
		}
		all = append(all, page.Data...)
		if page.Next == nil || *page.Next == "" {
			return all, nil
		}
		q.Set("cursor", *page.Next)
	}
}

func (a *crmApp) segmentIn(v string) string {
	for c, l := range crmSegment {
		if l == v {
			return c
		}
	}
	return v
}

func (a *crmApp) row(entity string, r map[string]any, companies map[string]string) Row {
	_, refField := crmColl(entity)
	row := Row{Entity: entity, Key: text(r["id"]), Ref: text(r[refField])}
	if entity == Account {
		row.State = State{Name: text(r["company_name"]), Tier: a.segmentIn(text(r["segment"])), Score: integer(r["rating"])}
		return row
	}
	row.AccountKey = text(r["company"])
	row.State = State{Name: text(r["display_name"]), Account: companies[row.AccountKey]}
	return row
}

func (a *crmApp) Rows(ctx context.Context, entity string) ([]Row, error) {
	coll, _ := crmColl(entity)
	recs, err := a.list(ctx, coll, nil)
	if err != nil {
		return nil, err
	}
	var companies map[string]string // id → number
	if entity == Contact {
		cs, err := a.list(ctx, "companies", nil)
		if err != nil {
			return nil, err
		}
		companies = map[string]string{}
		for _, c := range cs {
			companies[text(c["id"])] = text(c["number"])
		}
	}
	out := make([]Row, 0, len(recs))
	for _, r := range recs {
		out = append(out, a.row(entity, r, companies))
	}
	return out, nil
}

// find returns the CRM id of the live record whose natural key is ref.
func (a *crmApp) find(ctx context.Context, entity, ref string) (string, error) {
	coll, refField := crmColl(entity)
	recs, err := a.list(ctx, coll, url.Values{refField: {ref}})
	if err != nil {
		return "", err
	}
	for _, r := range recs {
		if text(r[refField]) == ref {
			return text(r["id"]), nil
		}
	}
	return "", errNotHere
}

// body is what a create (p nil: the whole of s) or an update sends.
func (a *crmApp) body(ctx context.Context, entity string, s State, p *Patch) (map[string]any, error) {
	m := map[string]any{}
	if p == nil {
		p = &Patch{Name: &s.Name}
		if entity == Account {
			p.Tier, p.Score = &s.Tier, &s.Score
		} else {
			p.Account = &s.Account
		}
	}
	if entity == Account {
		if p.Name != nil {
			m["company_name"] = *p.Name
		}
		if p.Tier != nil {
			m["segment"] = crmSegment[*p.Tier]
		}
		if p.Score != nil {
			m["rating"] = *p.Score
		}
		return m, nil
	}
	if p.Name != nil {
		m["display_name"] = *p.Name
	}
	if p.Account != nil {
		if *p.Account == "" {
			m["company"] = nil
		} else {
			id, err := a.find(ctx, Account, *p.Account)
			if err != nil {
				return nil, err
			}
			m["company"] = id
		}
	}
	return m, nil
}

// stateOf reads the state of a record the CRM answered with.
func (a *crmApp) stateOf(ctx context.Context, entity string, r map[string]any) (State, error) {
	if entity == Account {
		return a.row(entity, r, nil).State, nil
	}
	companies := map[string]string{}
	if id := text(r["company"]); id != "" {
		var c map[string]any
		switch err := a.do(ctx, "GET", "/companies/"+url.PathEscape(id), nil, &c); {
		case err == nil:
			companies[id] = text(c["number"])
		case errors.Is(err, errNotHere):
		default:
			return State{}, err
		}
	}
	return a.row(entity, r, companies).State, nil
}

func (a *crmApp) Create(ctx context.Context, entity, ref string, s State) (State, error) {
	m, err := a.body(ctx, entity, s, nil)
	if err != nil {
		return s, err
	}
	coll, refField := crmColl(entity)
	m[refField] = ref
	var got map[string]any
	if err := a.do(ctx, "POST", "/"+coll, m, &got); err != nil {
		return s, err
	}
	return a.stateOf(ctx, entity, got)
}

func (a *crmApp) Update(ctx context.Context, entity, ref string, p Patch) (State, error) {
	id, err := a.find(ctx, entity, ref)
	if err != nil {
		return State{}, err
	}
	m, err := a.body(ctx, entity, State{}, &p)
	if err != nil {
		return State{}, err
	}
	coll, _ := crmColl(entity)
	var got map[string]any
	if err := a.do(ctx, "PATCH", "/"+coll+"/"+url.PathEscape(id), m, &got); err != nil {
		return State{}, err
	}
	return a.stateOf(ctx, entity, got)
}

func (a *crmApp) Delete(ctx context.Context, entity, ref string) error {
	id, err := a.find(ctx, entity, ref)
	if err != nil {
		return err
	}
	coll, _ := crmColl(entity)
	return a.do(ctx, "DELETE", "/"+coll+"/"+url.PathEscape(id), nil, nil)
}

// crmSystem starts the CRM simulator behind an API proxy. tandem polls
// it by updated_at with token paging, reads its tombstones for deletes,
// finds its own creates by a lookup field, and writes in batches.
func crmSystem(ctx context.Context, bin, dir string) (*system, error) {
	crm, err := startCRM(ctx, bin, dir)
	if err != nil {
		return nil, err
	}
	s := &system{name: "crm", kind: "http", app: newCRMApp("crm", crm.url+"/v1")}
	s.cleanup = append(s.cleanup, crm.stop)
	if s.api, err = newAPIProxy(ctx, crm.url); err != nil {
		s.close()
		return nil, err
	}
	s.cleanup = append(s.cleanup, s.api.Close)
	resource := func(coll string) string {
		return fmt.Sprintf(`        %s:
          records: data
          updated: updated_at
          since: {updated_since: "{since}"}
          since_format: rfc3339
          params: {include_deleted: "true"}
          paging: {style: token, size: 100, limit: limit, token: cursor, next: next_cursor}
          lookup: tandem_id
          deletes: {field: deleted}
          condition: {field: if_version, from: version}
          batch:
            create: {path: /%[1]s/batch, body: records, results: results}
            update: {path: /%[1]s/batch, body: records, results: results}
            delete: {path: /%[1]s/batch_delete, body: records, results: results}
`, coll)
	}
	s.yaml = fmt.Sprintf(`  crm:
    type: http
    dsn: %q
    poll: 200ms
    batch: 200
    http:
      timeout: 2s
      retries: 3
      max_wait: 30s
      resources:
`, s.api.URL()+"/v1") + resource("companies") + resource("people")
	s.mapping = `  crm:
    account:
      table: companies
      key: id
      key_generated: true
      fields:
        ref: number
        name: company_name
        tier: {column: segment, values: {enterprise: gold, midmarket: silver, smb: bronze}}
        score: rating
    contact: {table: people, key: id, key_generated: true, fields: {ref: handle, name: display_name, account: company}}
`
	return s, nil
}

package http

// The block of tandem.yaml that configures a system of type http, and
// its checks. The field comments are the reference of docs/connectors/http.md.

import (
	"fmt"
	"slices"
	"strings"

	"github.com/tandemhub/tandem/internal/config"
	"github.com/tandemhub/tandem/internal/connector/rest"
)

func init() {
	config.Register(config.Section{Key: "http", Types: []string{"http"},
		New: func() any { return &Settings{} }, Check: check})
}

// Settings configure a system of type http: any REST API, described
// rather than coded. The system's dsn is the API's base URL.
type Settings struct {
	rest.API `yaml:",inline"`
	// Resources describe the endpoints of each mapped table, by the
	// mapping's table name. A table without an entry gets the defaults:
	// GET/POST /TABLE, GET/PATCH/DELETE /TABLE/{id}.
	Resources map[string]*Resource `yaml:"resources"`
	// Webhook accepts notifications the system pushes to
	// http://LISTEN/webhooks/SYSTEM (see listen:). tandem then fetches
	// the records named, so repeated or reordered notifications are harmless.
	Webhook *rest.Webhook `yaml:"webhook" secret:"block"`
}

// SettingsOf returns the http block of sys, empty when it has none.
func SettingsOf(sys *config.System) *Settings {
	if s, ok := sys.Block("http").(*Settings); ok && s != nil {
		return s
	}
	return &Settings{}
}

// Resource is one REST collection.
type Resource struct {
	// Path of the collection, relative to the base URL. Default /TABLE.
	Path string `yaml:"path"`
	// Item is the path of one record; {id} stands for its id. Default PATH/{id}.
	Item string `yaml:"item"`
	// Records is where a list answer holds the records, as a dotted
	// path like data or result.items; empty when the answer is the list.
	Records string `yaml:"records"`
	// Record is where a get, create or update answer holds the record;
	// empty when the answer is the record.
	Record string `yaml:"record"`
	// ID is the field holding a record's id. Default: the mapping's key.
	ID string `yaml:"id"`
	// Updated is the field holding when a record last changed (a time,
	// or epoch seconds or milliseconds) or a version number that grows
	// with every change. Changes are polled with it.
	Updated string `yaml:"updated"`
	// Since are the query parameters that select records changed since a
	// point, with {since} standing for it, like {updated_since: "{since}"}
	// or {updatedAt_gte: "{since}"}. The list must come sorted by Updated,
	// oldest first (add the sort parameters to params).
	Since map[string]string `yaml:"since"`
	// SinceFormat is how {since} is written: rfc3339, unix, unix_ms or
	// raw (the value as the system wrote it). Default raw.
	SinceFormat string `yaml:"since_format"`
	// Params are sent with every list call, like {_sort: updatedAt, _order: asc}.
	Params map[string]string `yaml:"params"`
	// Paging says how the list is paged. Default: one call returns all.
	Paging *Paging `yaml:"paging"`
	// Lookup is a field of the system in which tandem stores each
	// record's global id when it creates the record. A create whose
	// answer was lost is looked up by it before it is sent again, and
	// tandem's own records are recognised when they come back.
	Lookup string `yaml:"lookup"`
	// Match is a natural-key field (like email) to look a record up by
	// before creating it, when there is no lookup field.
	Match string `yaml:"match"`
	// Create, Update and Delete override the write endpoints.
	// Defaults: POST PATH, PATCH ITEM, DELETE ITEM.
	Create *Endpoint `yaml:"create"`
	Update *Endpoint `yaml:"update"`
	Delete *Endpoint `yaml:"delete"`
	// Body wraps a written record under this key, like data → {"data": {…}}.
	Body string `yaml:"body"`
	// Batch names batch endpoints, used instead of one call per record.
	Batch *Batch `yaml:"batch"`
	// Condition makes updates conditional, where the API can: each
	// update carries the version tandem read before writing, and the API
	// refuses it (409 or 412) if a user wrote the record since. Without
	// it, a user's write in the moment between tandem's read and its
	// write is overwritten.
	Condition *Condition `yaml:"condition"`
	// Deletes says how deletes made in the system are seen.
	Deletes *Deletes `yaml:"deletes"`

	Line int `yaml:"-"`
}

// Condition is how an update says which version of the record it is
// for: the body field Field gets the value of the record's field From
// (like version, or an etag), as tandem read it just before; null when
// the record had no such field then.
type Condition struct {
	Field string `yaml:"field"`
	From  string `yaml:"from"`
}

// Paging is how a list is read page by page.
type Paging struct {
	// Style: offset, page, token, link or none (the default).
	Style string `yaml:"style"`
	// Size is the number of records asked for per page. Default 100.
	Size int `yaml:"size"`
	// Limit is the query parameter carrying Size, like limit or _limit.
	Limit string `yaml:"limit"`
	// Offset (style offset) is the parameter carrying how many records to skip.
	Offset string `yaml:"offset"`
	// Page (style page) is the parameter carrying the page number, from First.
	Page  string `yaml:"page"`
	First int    `yaml:"first"`
	// Token (style token) is the parameter carrying the next-page token.
	Token string `yaml:"token"`
	// Next (styles token and link) is where the answer holds the next
	// token or link, as a dotted path like paging.next.after. Style link
	// reads the Link header when Next is empty.
	Next string `yaml:"next"`
}

// Endpoint is a method and a path; {id} in the path stands for the record's id.
type Endpoint struct {
	Method string `yaml:"method"`
	Path   string `yaml:"path"`
}

// Batch names the endpoints that write many records in one call.
type Batch struct {
	Create *BatchEndpoint `yaml:"create"`
	Update *BatchEndpoint `yaml:"update"`
	Delete *BatchEndpoint `yaml:"delete"`
}

// BatchEndpoint is one batch call. Its answer must hold one result per
// record, in order: the record written, or an error.
type BatchEndpoint struct {
	Method string `yaml:"method"`
	Path   string `yaml:"path"`
	// Body is the key of the array in the request; empty sends the array.
	Body string `yaml:"body"`
	// Results is where the answer holds the results; empty when it is the array.
	Results string `yaml:"results"`
	// Max is the most records per call. Default 100.
	Max int `yaml:"max"`
}

// Deletes says how tandem learns that a record was deleted in the system.
type Deletes struct {
	// Field marks deleted records that the list still returns (a
	// tombstone or soft delete): a record whose field is true or a
	// non-empty value counts as deleted.
	Field string `yaml:"field"`
	// Path is a separate listing of deleted records, polled like the
	// list with the same since, params and paging; each record needs
	// only its id and Updated.
	Path string `yaml:"path"`
	// Scan lists every id this often and reports the ids that vanished,
	// for APIs with no record of deletes. Meant for small collections.
	Scan config.Duration `yaml:"scan"`
}

// check checks the system of type http c is at; block is its *Settings or nil.
func check(c *config.Check, block any) {
	rest.CheckBaseURL(c)
	h, _ := block.(*Settings)
	if h == nil {
		c.Add("missing", "describe the API under http:, at least its resources; see docs/connectors/http.md", "http")
		return
	}
	bc := c.Under("http")
	rest.CheckAPI(bc, h.API)
	checkResources(c, bc, h)
	rest.CheckWebhook(bc.Under("webhook"), h.Webhook)
}

var pagingStyles = []string{"none", "offset", "page", "token", "link"}
var sinceFormats = []string{"raw", "rfc3339", "unix", "unix_ms"}
var methods = []string{"GET", "POST", "PUT", "PATCH", "DELETE"}

// httpResources checks the resources of an http system.
func checkResources(c, bc *config.Check, h *Settings) {
	s, cfg := c.System, c.Config
	tables := map[string][]string{} // table → entities mapped to it here
	for ent, m := range cfg.Mappings[s.Name] {
		if m != nil {
			tables[m.Table] = append(tables[m.Table], ent)
		}
	}
	names := config.SortedKeys(tables)
	for _, name := range config.SortedKeys(h.Resources) {
		r, rc := h.Resources[name], bc.Under("resources", name)
		if _, ok := tables[name]; !ok {
			rc.Add(fmt.Sprintf("no mapping of %s uses table %q", s.Name, name),
				"resources are named by the table: of a mapping; "+config.Suggest(name, names))
		}
		if r != nil {
			checkResource(rc, r)
		}
	}
	// Every captured table needs a way to see changes.
	for _, table := range names {
		captured := false
		for _, ent := range tables[table] {
			if slices.Contains(cfg.Captures(ent), s.Name) {
				captured = true
			}
		}
		r := h.Resources[table]
		if captured && (r == nil || r.Updated == "") && h.Webhook == nil {
			bc.Add(fmt.Sprintf("missing: changes of %q are captured from %s, but tandem has no way to see them", table, s.Name),
				"name the field holding each record's updated-at or version (and the since: parameters), or set up a webhook:",
				"resources", table, "updated")
		}
	}
}

// checkResource checks one resource of an http system; c is at it.
func checkResource(c *config.Check, r *Resource) {
	checkSince(c, r)
	for _, e := range []struct {
		key string
		ep  *Endpoint
	}{{"create", r.Create}, {"update", r.Update}, {"delete", r.Delete}} {
		if e.ep != nil && e.ep.Method != "" && !slices.Contains(methods, strings.ToUpper(e.ep.Method)) {
			c.Add(fmt.Sprintf("%q is not an HTTP method", e.ep.Method), "one of "+strings.Join(methods, ", "), e.key, "method")
		}
	}
	if cd := r.Condition; cd != nil {
		if cd.Field == "" || cd.From == "" {
			c.Add("needs field and from", "write like {field: if_version, from: version}: the body field to send, and the record's field whose value it gets", "condition")
		}
		if r.Updated == "" {
			c.Add("missing: condition needs it", "name the field holding each record's updated-at or version", "updated")
		}
	}
	if pg := r.Paging; pg != nil {
		checkPaging(c.Under("paging"), pg)
	}
	if b := r.Batch; b != nil {
		checkBatch(c.Under("batch"), b)
	}
	if d := r.Deletes; d != nil {
		checkDeletes(c, d, r)
	}
}

// checkSince checks how a resource asks for the records changed since
// a point: the since format and parameters, and the updated field they need.
func checkSince(c *config.Check, r *Resource) {
	if r.SinceFormat != "" && !slices.Contains(sinceFormats, r.SinceFormat) {
		c.Add(fmt.Sprintf("%q is not a format", r.SinceFormat), "one of "+strings.Join(sinceFormats, ", "), "since_format")
	}
	if len(r.Since) > 0 {
		has := false
		for _, v := range r.Since {
			if strings.Contains(v, "{since}") {
				has = true
			}
		}
		if !has {
			c.Add("no parameter uses {since}", `write like {updated_since: "{since}"}`, "since")
		}
		if r.Updated == "" {
			c.Add("missing: since needs it", "name the field holding each record's updated-at or version", "updated")
		}
	}
}

// checkPaging checks a resource's paging block: a known style, and the
// parameters that style needs.
func checkPaging(c *config.Check, pg *Paging) {
	style := pg.Style
	if style == "" {
		style = "none"
	}
	need := func(key, val, hint string) {
		if val == "" {
			c.Add(fmt.Sprintf("missing: style %s needs it", style), hint, key)
		}
	}
	switch style {
	case "none":
	case "offset":
		need("offset", pg.Offset, "name the parameter that skips records, like offset or _start")
		need("limit", pg.Limit, "name the parameter that sets the page size, like limit or _limit")
	case "page":
		need("page", pg.Page, "name the parameter that carries the page number, like page or _page")
	case "token":
		need("token", pg.Token, "name the parameter that carries the next-page token, like after or cursor")
		need("next", pg.Next, "write where the answer holds the next token, like paging.next.after")
	case "link":
	default:
		c.Add(fmt.Sprintf("%q is not a paging style", pg.Style), "one of "+strings.Join(pagingStyles, ", "), "style")
	}
	if pg.Size < 0 {
		c.Add(fmt.Sprintf("%d is negative", pg.Size), "write the records per page; the default is 100", "size")
	}
}

// checkBatch checks a resource's batch endpoints.
func checkBatch(c *config.Check, b *Batch) {
	for _, e := range []struct {
		key string
		ep  *BatchEndpoint
	}{{"create", b.Create}, {"update", b.Update}, {"delete", b.Delete}} {
		if e.ep == nil {
			continue
		}
		if e.ep.Path == "" {
			c.Add("missing", "write the batch endpoint's path, like /contacts/batch", e.key, "path")
		}
		if e.ep.Max < 0 {
			c.Add(fmt.Sprintf("%d is negative", e.ep.Max), "write the most records per call; the default is 100", e.key, "max")
		}
		if e.ep.Method != "" && !slices.Contains(methods, strings.ToUpper(e.ep.Method)) {
			c.Add(fmt.Sprintf("%q is not an HTTP method", e.ep.Method), "one of "+strings.Join(methods, ", "), e.key, "method")
		}
	}
}

// checkDeletes checks how resource r, c is at, sees deletes: one way at
// most, and the updated field a deletes path needs.
func checkDeletes(c *config.Check, d *Deletes, r *Resource) {
	n := 0
	for _, set := range []bool{d.Field != "", d.Path != "", d.Scan != 0} {
		if set {
			n++
		}
	}
	if n > 1 {
		c.Add("sets more than one way of seeing deletes", "set one of field, path or scan", "deletes")
	}
	if d.Scan < 0 {
		c.Add(fmt.Sprintf("%s is negative", d.Scan), "write how often to list every id, like 1m", "deletes", "scan")
	}
	if d.Path != "" && r.Updated == "" {
		c.Add("missing: deletes.path needs it", "name the field holding each record's updated-at or version", "updated")
	}
}

package config

import (
	"fmt"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tandemhub/tandem/internal/secret"
)

// ParseRate reads a rate like 20/s, 600/m, 5000/h or 100/10s as requests
// a second. "off" and "" are 0 (no limit).
func ParseRate(s string) (float64, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "off" {
		return 0, nil
	}
	n, per, ok := strings.Cut(s, "/")
	if !ok {
		return 0, fmt.Errorf("%q is not a rate", s)
	}
	count, err := strconv.ParseFloat(strings.TrimSpace(n), 64)
	if err != nil || count <= 0 {
		return 0, fmt.Errorf("%q is not a rate: %q is not a positive number", s, n)
	}
	per = strings.TrimSpace(per)
	switch per {
	case "s":
		per = "1s"
	case "m":
		per = "1m"
	case "h":
		per = "1h"
	}
	d, err := time.ParseDuration(per)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%q is not a rate: %q is not a unit of time", s, per)
	}
	return count / d.Seconds(), nil
}

var apiVersion = regexp.MustCompile(`^[0-9]+\.[0-9]$`)

// api checks the API settings of system s at path p.
func (k *checker) api(s *System, p string) {
	for _, b := range []struct {
		key, typ string
		set      bool
	}{{"http", "http", s.HTTP != nil}, {"salesforce", "salesforce", s.Salesforce != nil}, {"hubspot", "hubspot", s.HubSpot != nil}} {
		if b.set && s.Type != b.typ && s.Type != "" {
			k.add(s.Line, child(p, b.key), fmt.Sprintf("is only for systems of type %s, and this one is %s", b.typ, s.Type),
				"remove the block, or change the type")
		}
	}
	if !IsAPIType(s.Type) {
		return
	}
	if s.DSN != "" {
		u, err := url.Parse(s.DSN)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			k.add(s.Line, child(p, "dsn"), fmt.Sprintf("%q is not an http or https URL", secret.DSN(s.DSN)), dsnHint(s.Type))
		}
	}
	a, ok := s.APIOf()
	if !ok {
		if s.Type == "http" {
			k.add(s.Line, child(p, "http"), "missing",
				"describe the API under http:, at least its resources; see docs/connectors/http.md")
		}
		return
	}
	bp := child(p, s.Type)
	k.common(a, bp, s.Line)
	switch s.Type {
	case "http":
		k.httpResources(s, bp)
		k.webhook(s.HTTP.Webhook, child(bp, "webhook"), s.Line, false)
	case "salesforce":
		if v := s.Salesforce.Version; v != "" && !apiVersion.MatchString(v) {
			k.add(s.Line, child(bp, "version"), fmt.Sprintf("%q is not an API version", v), "write it like 60.0")
		}
		if f := s.Salesforce.ExternalID; f != "" && !strings.HasSuffix(f, "__c") {
			k.add(s.Line, child(bp, "external_id"), fmt.Sprintf("%q is not a custom field name", f),
				"create a custom text field marked External ID and Unique on each mapped object, like Tandem_Id__c")
		}
	case "hubspot":
		if s.HubSpot.Archived < 0 {
			k.add(s.Line, child(bp, "archived_every"), fmt.Sprintf("%s is negative", s.HubSpot.Archived), "write a duration like 30s (the default)")
		}
		k.webhook(s.HubSpot.Webhook, child(bp, "webhook"), s.Line, true)
	}
}

// common checks the settings every API type shares.
func (k *checker) common(a API, p string, line int) {
	if _, err := ParseRate(a.RateLimit); err != nil {
		k.add(line, child(p, "rate_limit"), err.Error(), "write like 20/s, 600/m or 100/10s, or off")
	}
	for _, d := range []struct {
		key string
		v   Duration
	}{{"timeout", a.Timeout}, {"max_wait", a.MaxWait}, {"overlap", a.Overlap}} {
		if d.v < 0 {
			k.add(line, child(p, d.key), fmt.Sprintf("%s is negative", d.v), "write a duration like 30s, or leave it out for the default")
		}
	}
	if a.Burst < 0 {
		k.add(line, child(p, "burst"), fmt.Sprintf("%d is negative", a.Burst), "write how many requests may go at once, like 5")
	}
	if a.Retries < 0 {
		k.add(line, child(p, "retries"), fmt.Sprintf("%d is negative", a.Retries), "write how many times to resend a failed request; the default is 4")
	}
	if au := a.Auth; au != nil {
		ap := child(p, "auth")
		n := 0
		if au.Bearer != "" {
			n++
		}
		if au.Basic != nil {
			n++
			if au.Basic.User == "" {
				k.add(line, child(child(ap, "basic"), "user"), "missing", "write the user name; secrets as ${ENV_VAR}")
			}
		}
		if au.Header != nil {
			n++
			if au.Header.Name == "" {
				k.add(line, child(child(ap, "header"), "name"), "missing", "name the header that carries the key, like X-API-Key")
			}
			if au.Header.Value == "" {
				k.add(line, child(child(ap, "header"), "value"), "missing", "write the key as ${ENV_VAR}")
			}
		}
		if n != 1 {
			k.add(line, ap, fmt.Sprintf("sets %d ways of signing in", n), "set exactly one of bearer, basic or header")
		}
	}
}

var pagingStyles = []string{"none", "offset", "page", "token", "link"}
var sinceFormats = []string{"raw", "rfc3339", "unix", "unix_ms"}
var methods = []string{"GET", "POST", "PUT", "PATCH", "DELETE"}

// httpResources checks the resources of an http system.
func (k *checker) httpResources(s *System, bp string) {
	h := s.HTTP
	tables := map[string][]string{} // table → entities mapped to it here
	for ent, m := range k.c.Mappings[s.Name] {
		if m != nil {
			tables[m.Table] = append(tables[m.Table], ent)
		}
	}
	names := sortedKeys(tables)
	for _, name := range sortedKeys(h.Resources) {
		r, rp := h.Resources[name], child(child(bp, "resources"), name)
		if _, ok := tables[name]; !ok {
			k.add(s.Line, rp, fmt.Sprintf("no mapping of %s uses table %q", s.Name, name),
				"resources are named by the table: of a mapping; "+suggest(name, names))
		}
		if r == nil {
			continue
		}
		k.resource(r, rp, s.Line)
	}
	// Every captured table needs a way to see changes.
	for _, table := range names {
		captured := false
		for _, ent := range tables[table] {
			if slices.Contains(k.c.Captures(ent), s.Name) {
				captured = true
			}
		}
		r := h.Resources[table]
		if captured && (r == nil || r.Updated == "") && h.Webhook == nil {
			k.add(s.Line, child(child(child(bp, "resources"), table), "updated"),
				fmt.Sprintf("missing: changes of %q are captured from %s, but tandem has no way to see them", table, s.Name),
				"name the field holding each record's updated-at or version (and the since: parameters), or set up a webhook:")
		}
	}
}

// resource checks one resource of an http system, at rp.
func (k *checker) resource(r *Resource, rp string, line int) {
	k.resourceSince(r, rp, line)
	for _, e := range []struct {
		key string
		ep  *Endpoint
	}{{"create", r.Create}, {"update", r.Update}, {"delete", r.Delete}} {
		if e.ep != nil && e.ep.Method != "" && !slices.Contains(methods, strings.ToUpper(e.ep.Method)) {
			k.add(line, child(child(rp, e.key), "method"), fmt.Sprintf("%q is not an HTTP method", e.ep.Method), "one of "+strings.Join(methods, ", "))
		}
	}
	if c := r.Condition; c != nil {
		cp := child(rp, "condition")
		if c.Field == "" || c.From == "" {
			k.add(line, cp, "needs field and from", "write like {field: if_version, from: version}: the body field to send, and the record's field whose value it gets")
		}
		if r.Updated == "" {
			k.add(line, child(rp, "updated"), "missing: condition needs it", "name the field holding each record's updated-at or version")
		}
	}
	if pg := r.Paging; pg != nil {
		k.paging(pg, child(rp, "paging"), line)
	}
	if b := r.Batch; b != nil {
		k.batch(b, child(rp, "batch"), line)
	}
	if d := r.Deletes; d != nil {
		k.deletes(d, r, rp, line)
	}
}

// resourceSince checks how a resource asks for the records changed since
// a point: the since format and parameters, and the updated field they need.
func (k *checker) resourceSince(r *Resource, rp string, line int) {
	if r.SinceFormat != "" && !slices.Contains(sinceFormats, r.SinceFormat) {
		k.add(line, child(rp, "since_format"), fmt.Sprintf("%q is not a format", r.SinceFormat), "one of "+strings.Join(sinceFormats, ", "))
	}
	if len(r.Since) > 0 {
		has := false
		for _, v := range r.Since {
			if strings.Contains(v, "{since}") {
				has = true
			}
		}
		if !has {
			k.add(line, child(rp, "since"), "no parameter uses {since}", `write like {updated_since: "{since}"}`)
		}
		if r.Updated == "" {
			k.add(line, child(rp, "updated"), "missing: since needs it", "name the field holding each record's updated-at or version")
		}
	}
}

// paging checks a resource's paging block, at pp: a known style, and the
// parameters that style needs.
func (k *checker) paging(pg *Paging, pp string, line int) {
	style := pg.Style
	if style == "" {
		style = "none"
	}
	need := func(key, val, hint string) {
		if val == "" {
			k.add(line, child(pp, key), fmt.Sprintf("missing: style %s needs it", style), hint)
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
		k.add(line, child(pp, "style"), fmt.Sprintf("%q is not a paging style", pg.Style), "one of "+strings.Join(pagingStyles, ", "))
	}
	if pg.Size < 0 {
		k.add(line, child(pp, "size"), fmt.Sprintf("%d is negative", pg.Size), "write the records per page; the default is 100")
	}
}

// batch checks a resource's batch endpoints, at bp.
func (k *checker) batch(b *Batch, bp string, line int) {
	for _, e := range []struct {
		key string
		ep  *BatchEndpoint
	}{{"create", b.Create}, {"update", b.Update}, {"delete", b.Delete}} {
		if e.ep == nil {
			continue
		}
		ep := child(bp, e.key)
		if e.ep.Path == "" {
			k.add(line, child(ep, "path"), "missing", "write the batch endpoint's path, like /contacts/batch")
		}
		if e.ep.Max < 0 {
			k.add(line, child(ep, "max"), fmt.Sprintf("%d is negative", e.ep.Max), "write the most records per call; the default is 100")
		}
		if e.ep.Method != "" && !slices.Contains(methods, strings.ToUpper(e.ep.Method)) {
			k.add(line, child(ep, "method"), fmt.Sprintf("%q is not an HTTP method", e.ep.Method), "one of "+strings.Join(methods, ", "))
		}
	}
}

// deletes checks how resource r, at rp, sees deletes: one way at most,
// and the updated field a deletes path needs.
func (k *checker) deletes(d *Deletes, r *Resource, rp string, line int) {
	n := 0
	for _, set := range []bool{d.Field != "", d.Path != "", d.Scan != 0} {
		if set {
			n++
		}
	}
	if n > 1 {
		k.add(line, child(rp, "deletes"), "sets more than one way of seeing deletes", "set one of field, path or scan")
	}
	if d.Scan < 0 {
		k.add(line, child(child(rp, "deletes"), "scan"), fmt.Sprintf("%s is negative", d.Scan), "write how often to list every id, like 1m")
	}
	if d.Path != "" && r.Updated == "" {
		k.add(line, child(rp, "updated"), "missing: deletes.path needs it", "name the field holding each record's updated-at or version")
	}
}

// webhook checks a webhook block.
func (k *checker) webhook(w *Webhook, p string, line int, vendor bool) {
	if w == nil {
		return
	}
	if w.Secret == "" {
		k.add(line, child(p, "secret"), "missing: tandem refuses notifications it cannot verify",
			"write the shared signing secret as ${ENV_VAR}")
	}
	if w.Encoding != "" && w.Encoding != "hex" && w.Encoding != "base64" {
		k.add(line, child(p, "encoding"), fmt.Sprintf("%q is not an encoding", w.Encoding), "write hex or base64")
	}
	if w.Tolerance < 0 {
		k.add(line, child(p, "tolerance"), fmt.Sprintf("%s is negative", w.Tolerance), "write a duration like 5m (the default)")
	}
	if k.c.Listen == "" {
		k.add(line, p, "needs the hub to listen for notifications", "add listen: 127.0.0.1:7070 (or another address) at the top of the file")
	}
	_ = vendor
}

// listen checks the hub's listen address.
func (k *checker) listen() {
	if k.c.Listen == "" {
		return
	}
	host, port, err := net.SplitHostPort(k.c.Listen)
	if err != nil || port == "" {
		k.add(0, "listen", fmt.Sprintf("%q is not an address", k.c.Listen), "write host:port, like 127.0.0.1:7070 or 0.0.0.0:7070")
		return
	}
	if host == "" {
		// An empty host binds every interface; that must be asked for.
		k.add(0, "listen", fmt.Sprintf("%q names no host, so it would accept connections on every interface", k.c.Listen),
			fmt.Sprintf("write 127.0.0.1:%s to accept only this machine, or 0.0.0.0:%s to accept every interface explicitly", port, port))
	}
}

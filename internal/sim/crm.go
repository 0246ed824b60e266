package sim

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/mail"
	"strconv"
	"strings"
	"time"
)

// CRM simulates a generic CRM with a REST API of its own:
//
//	GET    /v1/{coll}?updated_since=T&limit=N&cursor=C&include_deleted=true&FIELD=V
//	       → {"data": [record…], "next_cursor": "…"|null}, sorted by updated_at, id
//	GET    /v1/{coll}/{id}          → record, or 404
//	POST   /v1/{coll}               → 201 record (the CRM makes the id)
//	PATCH  /v1/{coll}/{id}          → record
//	DELETE /v1/{coll}/{id}          → 204
//	POST   /v1/{coll}/batch         {"records": […]} → {"results": [record | {"error": …}]}
//	       (a record with an id is an update, one without a create)
//	POST   /v1/{coll}/batch_delete  {"records": [{"id": …}]} → {"results": […]}
//
// An update holding "if_version": N is made only while the record is at
// version N; otherwise it fails with 409 (in a batch, that record's
// result), code "conflict".
//
// A record is {"id", "created_at", "updated_at", "version", fields…}; a deleted one
// listed with include_deleted=true also has "deleted": true. Stamps are
// RFC 3339 with milliseconds. Errors are {"error": {"code", "message",
// "field"}}; a refused rate answers 429 with Retry-After and
// X-RateLimit-Limit/-Remaining/-Reset. Fields named email must hold an
// address; fields listed in Required must be set.
type CRM struct {
	Store *Store
	// Token, when set, is the bearer token every request must carry.
	Token string
	// Required lists the fields each collection's records must have.
	Required map[string][]string
	gate     *gate
}

// NewCRM makes an empty CRM.
func NewCRM(f Faults) *CRM {
	c := &CRM{gate: newGate(f), Required: map[string][]string{}}
	c.Store = NewStore(func(coll string, seq int64) string {
		p := coll
		if len(p) > 3 {
			p = p[:3]
		}
		return fmt.Sprintf("%s_%06d%s", p, seq, strconv.FormatInt(seq*7919%46656, 36))
	})
	c.Store.Validate = c.validate
	return c
}

// SetFaults changes the faults while the CRM runs.
func (c *CRM) SetFaults(f Faults) { c.gate.set(f) }

// Stats counts requests, refusals, failures and lost answers.
func (c *CRM) Stats() Stats { return c.gate.snapshot() }

func (c *CRM) validate(coll string, f map[string]any) error {
	for _, r := range c.Required[coll] {
		if v, ok := f[r]; !ok || v == nil || v == "" {
			return &FieldError{Field: r, Code: "required", Message: fmt.Sprintf("%s is required", r)}
		}
	}
	for k, v := range f {
		if k == "email" || strings.HasSuffix(k, "_email") {
			s, _ := v.(string)
			if s == "" {
				continue
			}
			if _, err := mail.ParseAddress(s); err != nil || !strings.Contains(s, ".") {
				return &FieldError{Field: k, Code: "invalid_field", Message: fmt.Sprintf("%q is not a valid email address", s)}
			}
		}
	}
	return nil
}

func (c *CRM) fail(w http.ResponseWriter, status int, code, msg, field string) {
	e := map[string]any{"code": code, "message": msg}
	if field != "" {
		e["field"] = field
	}
	writeJSON(w, status, map[string]any{"error": e})
}

func (c *CRM) view(r *Rec, withDeleted bool) map[string]any {
	out := make(map[string]any, len(r.Fields)+4)
	for k, v := range r.Fields {
		out[k] = v
	}
	out["id"] = r.ID
	out["created_at"] = r.Created.Format("2006-01-02T15:04:05.000Z07:00")
	out["updated_at"] = r.Updated.Format("2006-01-02T15:04:05.000Z07:00")
	out["version"] = r.Version
	if withDeleted && r.Deleted {
		out["deleted"] = true
	}
	return out
}

func (c *CRM) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if c.Token != "" && r.Header.Get("Authorization") != "Bearer "+c.Token {
		c.fail(w, http.StatusUnauthorized, "unauthorized", "a valid bearer token is required", "")
		return
	}
	switch v, wait := c.gate.admit(); v {
	case limited:
		secs := int(wait/time.Second) + 1
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		w.Header().Set("X-RateLimit-Limit", strconv.Itoa(int(c.gate.faults().Rate)))
		w.Header().Set("X-RateLimit-Remaining", "0")
		w.Header().Set("X-RateLimit-Reset", strconv.Itoa(secs))
		c.fail(w, http.StatusTooManyRequests, "rate_limited", "too many requests; slow down", "")
		return
	case failed:
		c.fail(w, http.StatusInternalServerError, "internal", "simulated server error", "")
		return
	}
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(parts) < 2 || parts[0] != "v1" {
		c.fail(w, http.StatusNotFound, "not_found", "no such endpoint", "")
		return
	}
	coll := parts[1]
	switch {
	case len(parts) == 2 && r.Method == http.MethodGet:
		c.list(w, r, coll)
	case len(parts) == 2 && r.Method == http.MethodPost:
		c.create(w, r, coll)
	case len(parts) == 3 && parts[2] == "batch" && r.Method == http.MethodPost:
		c.batch(w, r, coll)
	case len(parts) == 3 && parts[2] == "batch_delete" && r.Method == http.MethodPost:
		c.batchDelete(w, r, coll)
	case len(parts) == 3 && r.Method == http.MethodGet:
		rec := c.Store.Get(coll, parts[2])
		if rec == nil || rec.Deleted {
			c.fail(w, http.StatusNotFound, "not_found", fmt.Sprintf("%s %s not found", coll, parts[2]), "")
			return
		}
		writeJSON(w, http.StatusOK, c.view(rec, false))
	case len(parts) == 3 && (r.Method == http.MethodPatch || r.Method == http.MethodPut):
		c.update(w, r, coll, parts[2])
	case len(parts) == 3 && r.Method == http.MethodDelete:
		if err := c.Store.Delete(coll, parts[2]); err != nil {
			c.fail(w, http.StatusNotFound, "not_found", fmt.Sprintf("%s %s not found", coll, parts[2]), "")
			return
		}
		if c.gate.lose() {
			drop(w)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	default:
		c.fail(w, http.StatusMethodNotAllowed, "method_not_allowed", r.Method+" is not allowed here", "")
	}
}

func (c *CRM) list(w http.ResponseWriter, r *http.Request, coll string) {
	q := r.URL.Query()
	limit := 100
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 1000 {
			c.fail(w, http.StatusBadRequest, "invalid_parameter", "limit must be 1 to 1000", "limit")
			return
		}
		limit = n
	}
	var since time.Time
	if s := q.Get("updated_since"); s != "" {
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			c.fail(w, http.StatusBadRequest, "invalid_parameter", "updated_since must be an RFC 3339 time", "updated_since")
			return
		}
		since = t
	}
	var afterT time.Time
	var afterID string
	if s := q.Get("cursor"); s != "" {
		b, err := base64.RawURLEncoding.DecodeString(s)
		ns, id, ok := strings.Cut(string(b), ":")
		n, err2 := strconv.ParseInt(ns, 10, 64)
		if err != nil || !ok || err2 != nil {
			c.fail(w, http.StatusBadRequest, "invalid_parameter", "cursor is not one this API gave", "cursor")
			return
		}
		afterT, afterID = time.Unix(0, n).UTC(), id
	}
	deleted := q.Get("include_deleted") == "true"
	filters := map[string]string{}
	for k, vs := range q {
		switch k {
		case "limit", "updated_since", "cursor", "include_deleted":
		default:
			filters[k] = vs[0]
		}
	}
	recs := c.Store.List(coll, func(rec *Rec) bool {
		if rec.Deleted && !deleted {
			return false
		}
		if !since.IsZero() && rec.Updated.Before(since) {
			return false
		}
		if !afterT.IsZero() && (rec.Updated.Before(afterT) || rec.Updated.Equal(afterT) && rec.ID <= afterID) {
			return false
		}
		for k, v := range filters {
			if k == "id" {
				if rec.ID != v {
					return false
				}
			} else if fmt.Sprint(rec.Fields[k]) != v {
				return false
			}
		}
		return true
	})
	var next any
	if len(recs) > limit {
		recs = recs[:limit]
		last := recs[limit-1]
		next = base64.RawURLEncoding.EncodeToString([]byte(fmt.Sprintf("%d:%s", last.Updated.UnixNano(), last.ID)))
	}
	data := make([]any, len(recs))
	for i, rec := range recs {
		data[i] = c.view(rec, deleted)
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": data, "next_cursor": next})
}

func (c *CRM) body(w http.ResponseWriter, r *http.Request, v any) bool {
	d := json.NewDecoder(http.MaxBytesReader(w, r.Body, 8<<20))
	d.UseNumber()
	if err := d.Decode(v); err != nil {
		c.fail(w, http.StatusBadRequest, "invalid_json", "the body is not JSON: "+err.Error(), "")
		return false
	}
	return true
}

// ifVersion is the version an update is conditional on, 0 if none.
func ifVersion(f map[string]any) int64 {
	switch v := f["if_version"].(type) {
	case json.Number:
		n, _ := v.Int64()
		return n
	case float64:
		return int64(v)
	}
	return 0
}

func clean(f map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range f {
		switch k {
		case "id", "created_at", "updated_at", "deleted", "version", "if_version":
		default:
			if n, ok := v.(json.Number); ok {
				if i, err := n.Int64(); err == nil {
					v = i
				} else if x, err := n.Float64(); err == nil {
					v = x
				}
			}
			out[k] = v
		}
	}
	return out
}

func (c *CRM) fieldError(w http.ResponseWriter, err error) {
	var fe *FieldError
	if errors.As(err, &fe) {
		c.fail(w, http.StatusUnprocessableEntity, fe.Code, fe.Message, fe.Field)
		return
	}
	c.fail(w, http.StatusNotFound, "not_found", err.Error(), "")
}

func (c *CRM) create(w http.ResponseWriter, r *http.Request, coll string) {
	var f map[string]any
	if !c.body(w, r, &f) {
		return
	}
	rec, err := c.Store.Create(coll, clean(f))
	if err != nil {
		c.fieldError(w, err)
		return
	}
	if c.gate.lose() {
		drop(w)
		return
	}
	writeJSON(w, http.StatusCreated, c.view(rec, false))
}

func (c *CRM) update(w http.ResponseWriter, r *http.Request, coll, id string) {
	var f map[string]any
	if !c.body(w, r, &f) {
		return
	}
	rec, err := c.Store.UpdateIf(coll, id, clean(f), ifVersion(f))
	if errors.Is(err, ErrConflict) {
		c.fail(w, http.StatusConflict, "conflict", fmt.Sprintf("%s %s %s", coll, id, err), "")
		return
	}
	if err != nil {
		c.fieldError(w, err)
		return
	}
	if c.gate.lose() {
		drop(w)
		return
	}
	writeJSON(w, http.StatusOK, c.view(rec, false))
}

func (c *CRM) batch(w http.ResponseWriter, r *http.Request, coll string) {
	var req struct {
		Records []map[string]any `json:"records"`
	}
	if !c.body(w, r, &req) {
		return
	}
	if len(req.Records) > 100 {
		c.fail(w, http.StatusBadRequest, "too_many", "at most 100 records per batch", "records")
		return
	}
	results := make([]any, len(req.Records))
	for i, f := range req.Records {
		var rec *Rec
		var err error
		if id, ok := f["id"].(string); ok && id != "" {
			rec, err = c.Store.UpdateIf(coll, id, clean(f), ifVersion(f))
		} else {
			rec, err = c.Store.Create(coll, clean(f))
		}
		if err != nil {
			e := map[string]any{"code": "not_found", "message": err.Error()}
			if errors.Is(err, ErrConflict) {
				e["code"] = "conflict"
			}
			var fe *FieldError
			if errors.As(err, &fe) {
				e = map[string]any{"code": fe.Code, "message": fe.Message, "field": fe.Field}
			}
			results[i] = map[string]any{"error": e}
			continue
		}
		results[i] = c.view(rec, false)
	}
	if c.gate.lose() {
		drop(w)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"results": results})
}

func (c *CRM) batchDelete(w http.ResponseWriter, r *http.Request, coll string) {
	var req struct {
		Records []struct {
			ID string `json:"id"`
		} `json:"records"`
	}
	if !c.body(w, r, &req) {
		return
	}
	results := make([]any, len(req.Records))
	for i, rec := range req.Records {
		if err := c.Store.Delete(coll, rec.ID); err != nil {
			results[i] = map[string]any{"error": map[string]any{"code": "not_found", "message": rec.ID + " not found"}}
			continue
		}
		results[i] = map[string]any{"id": rec.ID, "deleted": true}
	}
	if c.gate.lose() {
		drop(w)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"results": results})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

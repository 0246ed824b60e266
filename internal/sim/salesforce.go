package sim

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/mail"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Salesforce simulates the parts of the Salesforce REST API that tandem
// uses, under /services/data/vNN.N/, in the documented shapes:
//
//	GET    query?q=SOQL, queryAll?q=SOQL, query/LOCATOR   {totalSize, done, nextRecordsUrl?, records}
//	POST   sobjects/OBJ                                     {id, success, errors}
//	GET|PATCH|DELETE sobjects/OBJ/ID
//	POST   composite/sobjects        {allOrNone, records}   [SaveResult…]
//	PATCH  composite/sobjects        {allOrNone, records}   [SaveResult…]
//	DELETE composite/sobjects?ids=…&allOrNone=false         [SaveResult…]
//	PATCH  composite/sobjects/OBJ/EXTFIELD {allOrNone, records} [UpsertResult…]
//	GET    composite/sobjects/OBJ?ids=…&fields=…            [record|null…]
//
// Records carry 18-character ids with the object's key prefix (001
// Account, 003 Contact), CreatedDate, LastModifiedDate and SystemModstamp
// ("2006-01-02T15:04:05.000+0000") and IsDeleted. Errors are
// [{message, errorCode, fields}]; a refused rate answers 403
// REQUEST_LIMIT_EXCEEDED, as Salesforce does when an org's API limit is
// spent, with Sforce-Limit-Info on every answer. Query results come in
// batches of 2000 (Sforce-Query-Options: batchSize=N, 200 to 2000).
// Account needs Name, Contact LastName; Email must be an address.
type Salesforce struct {
	Store *Store
	Token string
	gate  *gate

	mu       sync.Mutex
	locators map[string][]map[string]any
	nextLoc  int
	calls    int
}

const sfTime = "2006-01-02T15:04:05.000-0700"

// NewSalesforce makes an empty org.
func NewSalesforce(f Faults) *Salesforce {
	s := &Salesforce{gate: newGate(f), locators: map[string][]map[string]any{}}
	s.Store = NewStore(func(coll string, seq int64) string {
		prefix := map[string]string{"Account": "001", "Contact": "003", "Lead": "00Q", "Opportunity": "006", "Product2": "01t"}[coll]
		if prefix == "" {
			prefix = "a0" + strings.ToUpper(coll[:1])
		}
		id := prefix + "5g" + fmt.Sprintf("%010s", strings.ToUpper(strconv.FormatInt(seq, 36)))
		return id + "AAA"[:18-len(id)]
	})
	s.Store.Validate = sfValidate
	return s
}

// SetFaults changes the faults while the org runs.
func (s *Salesforce) SetFaults(f Faults) { s.gate.set(f) }

// Stats counts requests, refusals, failures and lost answers.
func (s *Salesforce) Stats() Stats { return s.gate.snapshot() }

func sfValidate(obj string, f map[string]any) error {
	required := map[string]string{"Account": "Name", "Contact": "LastName"}[obj]
	if required != "" {
		if v, ok := f[required]; !ok || v == nil || v == "" {
			return &FieldError{Field: required, Code: "REQUIRED_FIELD_MISSING", Message: "Required fields are missing: [" + required + "]"}
		}
	}
	for k, v := range f {
		if strings.Contains(strings.ToLower(k), "email") {
			if e, _ := v.(string); e != "" {
				if _, err := mail.ParseAddress(e); err != nil || !strings.Contains(e, ".") {
					return &FieldError{Field: k, Code: "INVALID_EMAIL_ADDRESS", Message: k + ": invalid email address: " + e}
				}
			}
		}
	}
	return nil
}

func sfErr(w http.ResponseWriter, status int, code, msg string, fields ...string) {
	if fields == nil {
		fields = []string{}
	}
	writeJSON(w, status, []any{map[string]any{"message": msg, "errorCode": code, "fields": fields}})
}

func (s *Salesforce) view(obj string, r *Rec, fields []string) map[string]any {
	out := map[string]any{"attributes": map[string]any{"type": obj, "url": "/services/data/v60.0/sobjects/" + obj + "/" + r.ID}}
	for _, f := range fields {
		out[f] = sfValue(r, f)
	}
	return out
}

func sfValue(r *Rec, f string) any {
	switch f {
	case "Id":
		return r.ID
	case "SystemModstamp", "LastModifiedDate":
		return r.Updated.Format(sfTime)
	case "CreatedDate":
		return r.Created.Format(sfTime)
	case "IsDeleted":
		return r.Deleted
	}
	return r.Fields[f]
}

func (s *Salesforce) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.calls++
	w.Header().Set("Sforce-Limit-Info", fmt.Sprintf("api-usage=%d/15000", s.calls))
	s.mu.Unlock()
	if s.Token != "" && r.Header.Get("Authorization") != "Bearer "+s.Token {
		sfErr(w, http.StatusUnauthorized, "INVALID_SESSION_ID", "Session expired or invalid")
		return
	}
	switch v, _ := s.gate.admit(); v {
	case limited:
		sfErr(w, http.StatusForbidden, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
		return
	case failed:
		sfErr(w, http.StatusInternalServerError, "UNKNOWN_EXCEPTION", "An unexpected error occurred. Please include this ErrorId if you contact support: 1234567-89 (simulated)")
		return
	}
	path := r.URL.Path
	const root = "/services/data/v"
	if !strings.HasPrefix(path, root) {
		sfErr(w, http.StatusNotFound, "NOT_FOUND", "The requested resource does not exist")
		return
	}
	parts := strings.Split(strings.Trim(path[len(root):], "/"), "/")
	if len(parts) < 2 {
		sfErr(w, http.StatusNotFound, "NOT_FOUND", "The requested resource does not exist")
		return
	}
	parts = parts[1:] // drop the version
	switch {
	case (parts[0] == "query" || parts[0] == "queryAll") && len(parts) == 1:
		s.query(w, r, parts[0] == "queryAll")
	case (parts[0] == "query" || parts[0] == "queryAll") && len(parts) == 2:
		s.more(w, parts[1])
	case parts[0] == "sobjects" && len(parts) == 2 && r.Method == http.MethodPost:
		s.createOne(w, r, parts[1])
	case parts[0] == "sobjects" && len(parts) == 3:
		s.one(w, r, parts[1], parts[2])
	case parts[0] == "composite" && len(parts) >= 2 && parts[1] == "sobjects":
		s.collections(w, r, parts[2:])
	default:
		sfErr(w, http.StatusNotFound, "NOT_FOUND", "The requested resource does not exist")
	}
}

func (s *Salesforce) query(w http.ResponseWriter, r *http.Request, all bool) {
	q, err := parseSOQL(r.URL.Query().Get("q"))
	if err != nil {
		sfErr(w, http.StatusBadRequest, "MALFORMED_QUERY", err.Error())
		return
	}
	recs := s.Store.List(q.object, func(rec *Rec) bool {
		if rec.Deleted && !all {
			return false
		}
		for _, c := range q.conds {
			if !c.match(sfCompareValue(rec, c.field)) {
				return false
			}
		}
		return true
	})
	if len(q.order) > 0 {
		slices.SortStableFunc(recs, func(a, b *Rec) int {
			for _, o := range q.order {
				n, _ := compare(sfCompareValue(a, o.field), sfCompareValue(b, o.field))
				if o.desc {
					n = -n
				}
				if n != 0 {
					return n
				}
			}
			return cmp.Compare(a.ID, b.ID)
		})
	}
	if q.limit > 0 && len(recs) > q.limit {
		recs = recs[:q.limit]
	}
	rows := make([]map[string]any, len(recs))
	for i, rec := range recs {
		rows[i] = s.view(q.object, rec, q.fields)
	}
	batch := 2000
	if opt := r.Header.Get("Sforce-Query-Options"); strings.HasPrefix(opt, "batchSize=") {
		if n, err := strconv.Atoi(strings.TrimPrefix(opt, "batchSize=")); err == nil && n >= 200 && n <= 2000 {
			batch = n
		}
	}
	s.page(w, rows, batch, len(rows))
}

// page answers the first batch of rows and keeps the rest behind a locator.
func (s *Salesforce) page(w http.ResponseWriter, rows []map[string]any, batch, total int) {
	out := map[string]any{"totalSize": total, "done": true}
	if len(rows) > batch {
		s.mu.Lock()
		s.nextLoc++
		loc := fmt.Sprintf("01g5g%011d-%d", s.nextLoc, batch)
		s.locators[loc] = rows[batch:]
		s.mu.Unlock()
		out["done"] = false
		out["nextRecordsUrl"] = "/services/data/v60.0/query/" + loc
		rows = rows[:batch]
	}
	if rows == nil {
		rows = []map[string]any{}
	}
	out["records"] = rows
	writeJSON(w, http.StatusOK, out)
}

func (s *Salesforce) more(w http.ResponseWriter, loc string) {
	s.mu.Lock()
	rows, ok := s.locators[loc]
	delete(s.locators, loc)
	s.mu.Unlock()
	if !ok {
		sfErr(w, http.StatusBadRequest, "INVALID_QUERY_LOCATOR", "invalid query locator")
		return
	}
	batch := 2000
	if i := strings.LastIndexByte(loc, '-'); i > 0 {
		batch, _ = strconv.Atoi(loc[i+1:])
	}
	s.page(w, rows, batch, len(rows))
}

func sfCompareValue(r *Rec, f string) any {
	switch f {
	case "SystemModstamp", "LastModifiedDate":
		return r.Updated
	case "CreatedDate":
		return r.Created
	}
	return sfValue(r, f)
}

// sfFields decodes a record body, separating attributes and Id.
func sfFields(m map[string]any) (string, map[string]any) {
	id, _ := m["Id"].(string)
	if id == "" {
		id, _ = m["id"].(string)
	}
	out := map[string]any{}
	for k, v := range m {
		switch k {
		case "attributes", "Id", "id", "SystemModstamp", "LastModifiedDate", "CreatedDate", "IsDeleted":
			continue
		}
		if n, ok := v.(json.Number); ok {
			f, _ := n.Float64()
			v = f
		}
		out[k] = v
	}
	return id, out
}

func saveError(err error) map[string]any {
	var fe *FieldError
	if !errors.As(err, &fe) {
		return map[string]any{"statusCode": "ENTITY_IS_DELETED", "message": "entity is deleted", "fields": []string{}}
	}
	return map[string]any{"statusCode": fe.Code, "message": fe.Message, "fields": []string{fe.Field}}
}

func (s *Salesforce) decode(w http.ResponseWriter, r *http.Request, v any) bool {
	d := json.NewDecoder(http.MaxBytesReader(w, r.Body, 16<<20))
	d.UseNumber()
	if err := d.Decode(v); err != nil {
		sfErr(w, http.StatusBadRequest, "JSON_PARSER_ERROR", err.Error())
		return false
	}
	return true
}

func (s *Salesforce) createOne(w http.ResponseWriter, r *http.Request, obj string) {
	var m map[string]any
	if !s.decode(w, r, &m) {
		return
	}
	_, f := sfFields(m)
	rec, err := s.Store.Create(obj, f)
	if err != nil {
		var fe *FieldError
		if !errors.As(err, &fe) {
			sfErr(w, http.StatusInternalServerError, "UNKNOWN_EXCEPTION", err.Error())
			return
		}
		sfErr(w, http.StatusBadRequest, fe.Code, fe.Message, fe.Field)
		return
	}
	if s.gate.lose() {
		drop(w)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"id": rec.ID, "success": true, "errors": []any{}})
}

func (s *Salesforce) one(w http.ResponseWriter, r *http.Request, obj, id string) {
	switch r.Method {
	case http.MethodGet:
		rec := s.Store.Get(obj, id)
		if rec == nil || rec.Deleted {
			sfErr(w, http.StatusNotFound, "NOT_FOUND", "The requested resource does not exist")
			return
		}
		fields := []string{"Id", "CreatedDate", "LastModifiedDate", "SystemModstamp"}
		for k := range rec.Fields {
			fields = append(fields, k)
		}
		writeJSON(w, http.StatusOK, s.view(obj, rec, fields))
	case http.MethodPatch:
		var m map[string]any
		if !s.decode(w, r, &m) {
			return
		}
		_, f := sfFields(m)
		if _, err := s.Store.Update(obj, id, f); err != nil {
			var fe *FieldError
			if errors.As(err, &fe) {
				sfErr(w, http.StatusBadRequest, fe.Code, fe.Message, fe.Field)
				return
			}
			sfErr(w, http.StatusNotFound, "NOT_FOUND", "The requested resource does not exist")
			return
		}
		w.WriteHeader(http.StatusNoContent)
	case http.MethodDelete:
		if err := s.Store.Delete(obj, id); err != nil {
			sfErr(w, http.StatusNotFound, "ENTITY_IS_DELETED", "entity is deleted")
			return
		}
		w.WriteHeader(http.StatusNoContent)
	default:
		sfErr(w, http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED", "HTTP Method '"+r.Method+"' not allowed")
	}
}

// collections answers composite/sobjects[/OBJ[/EXTFIELD]].
func (s *Salesforce) collections(w http.ResponseWriter, r *http.Request, rest []string) {
	switch {
	case len(rest) == 0 && r.Method == http.MethodDelete:
		s.deleteMany(w, r)
	case len(rest) == 1 && r.Method == http.MethodGet:
		s.readMany(w, r, rest[0])
	case (len(rest) == 0 && (r.Method == http.MethodPost || r.Method == http.MethodPatch)) || (len(rest) == 2 && r.Method == http.MethodPatch):
		s.saveMany(w, r, rest)
	default:
		sfErr(w, http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED", "HTTP Method '"+r.Method+"' not allowed")
	}
}

// deleteMany answers DELETE composite/sobjects?ids=…: a SaveResult for
// each id, in order, failing for an id no live record has.
func (s *Salesforce) deleteMany(w http.ResponseWriter, r *http.Request) {
	var out []any
	for _, id := range strings.Split(r.URL.Query().Get("ids"), ",") {
		obj := s.objectOf(id)
		if obj == "" || s.Store.Delete(obj, id) != nil {
			out = append(out, map[string]any{"id": id, "success": false, "errors": []any{
				map[string]any{"statusCode": "ENTITY_IS_DELETED", "message": "entity is deleted", "fields": []string{}}}})
			continue
		}
		out = append(out, map[string]any{"id": id, "success": true, "errors": []any{}})
	}
	s.answer(w, out)
}

// readMany answers GET composite/sobjects/OBJ?ids=…&fields=…: for each
// id, in order, its record with Id and the fields, or null when it is
// missing or deleted.
func (s *Salesforce) readMany(w http.ResponseWriter, r *http.Request, obj string) {
	fields := strings.Split(r.URL.Query().Get("fields"), ",")
	var out []any
	for _, id := range strings.Split(r.URL.Query().Get("ids"), ",") {
		rec := s.Store.Get(obj, id)
		if rec == nil || rec.Deleted {
			out = append(out, nil)
			continue
		}
		out = append(out, s.view(obj, rec, append([]string{"Id"}, fields...)))
	}
	writeJSON(w, http.StatusOK, out)
}

// saveMany answers POST (create) and PATCH (update) composite/sobjects
// and PATCH composite/sobjects/OBJ/EXTFIELD (upsert): at most 200
// records, saved in order, with a result for each.
func (s *Salesforce) saveMany(w http.ResponseWriter, r *http.Request, rest []string) {
	var req struct {
		AllOrNone bool             `json:"allOrNone"`
		Records   []map[string]any `json:"records"`
	}
	if !s.decode(w, r, &req) {
		return
	}
	if len(req.Records) > 200 {
		sfErr(w, http.StatusBadRequest, "EXCEEDED_ID_LIMIT", "record limit exceeded; 200 is the limit")
		return
	}
	out := make([]any, len(req.Records))
	for i, m := range req.Records {
		out[i] = s.saveRecord(r.Method, rest, m)
	}
	s.answer(w, out)
}

// saveRecord saves one record of a collection call, of the object its
// attributes.type names (OBJ for an upsert), and returns its SaveResult,
// or UpsertResult (with created) for an upsert.
func (s *Salesforce) saveRecord(method string, rest []string, m map[string]any) map[string]any {
	attrs, _ := m["attributes"].(map[string]any)
	obj, _ := attrs["type"].(string)
	if len(rest) == 2 {
		obj = rest[0]
	}
	if obj == "" {
		return map[string]any{"success": false, "errors": []any{map[string]any{"statusCode": "INVALID_TYPE", "message": "attributes.type is required", "fields": []string{}}}}
	}
	id, f := sfFields(m)
	var rec *Rec
	var err error
	created := false
	switch {
	case len(rest) == 2:
		rec, created, err = s.upsert(obj, rest[1], fmt.Sprint(m[rest[1]]), f)
	case method == http.MethodPost:
		rec, err = s.Store.Create(obj, f)
	default:
		rec, err = s.Store.Update(obj, id, f)
	}
	if err != nil {
		res := map[string]any{"success": false, "errors": []any{saveError(err)}}
		if id != "" {
			res["id"] = id
		}
		return res
	}
	res := map[string]any{"id": rec.ID, "success": true, "errors": []any{}}
	if len(rest) == 2 {
		res["created"] = created
	}
	return res
}

// upsert updates the one record of obj whose ext is key, or creates one
// (created) when none has it; more than one is DUPLICATE_EXTERNAL_ID.
func (s *Salesforce) upsert(obj, ext, key string, f map[string]any) (rec *Rec, created bool, err error) {
	found := s.Store.Find(obj, ext, key)
	switch {
	case len(found) > 1:
		return nil, false, &FieldError{Field: ext, Code: "DUPLICATE_EXTERNAL_ID", Message: "more than one record has " + ext + " " + key}
	case len(found) == 1:
		rec, err = s.Store.Update(obj, found[0].ID, f)
		return rec, false, err
	}
	rec, err = s.Store.Create(obj, f)
	return rec, true, err
}

func (s *Salesforce) answer(w http.ResponseWriter, out []any) {
	if s.gate.lose() {
		drop(w)
		return
	}
	if out == nil {
		out = []any{}
	}
	writeJSON(w, http.StatusOK, out)
}

// objectOf finds the object holding id.
func (s *Salesforce) objectOf(id string) string {
	s.Store.mu.Lock()
	defer s.Store.mu.Unlock()
	for obj, recs := range s.Store.colls {
		if r, ok := recs[id]; ok && !r.Deleted {
			return obj
		}
	}
	return ""
}

// SFTime formats a time as Salesforce writes it.
func SFTime(t time.Time) string { return t.UTC().Format(sfTime) }

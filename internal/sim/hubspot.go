package sim

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/mail"
	"slices"
	"strconv"
	"strings"
	"time"
)

// HubSpot simulates the HubSpot CRM v3 objects API that tandem uses, in
// the documented shapes, under /crm/v3/objects/{objectType}:
//
//	GET  ?limit&after&properties&archived        {results, paging: {next: {after, link}}}
//	POST /search {filterGroups, sorts, properties, limit ≤ 200, after}   {total, results, paging}
//	GET|PATCH|DELETE /{id}; POST (create)
//	POST /batch/create|update|upsert|archive|read {inputs: […]}
//
// A record is {id, properties, createdAt, updatedAt, archived[, archivedAt]};
// property values are strings, with hs_object_id, createdate and
// lastmodifieddate (contacts) or hs_lastmodifieddate (other objects).
// Search sees at most 10,000 results per query. Errors are {status:
// "error", message, correlationId, category, errors: [{message, code,
// context: {propertyName: […]}}]}; batch calls with some failures answer
// 207 with results and errors. A refused rate answers 429 with
// errorType RATE_LIMIT and policyName SECONDLY, and every answer carries
// X-HubSpot-RateLimit-Max, -Remaining and -Interval-Milliseconds (when
// Faults.Rate is set). An email property must be an address.
type HubSpot struct {
	Store *Store
	Token string
	gate  *gate
}

// NewHubSpot makes an empty portal.
func NewHubSpot(f Faults) *HubSpot {
	h := &HubSpot{gate: newGate(f)}
	h.Store = NewStore(func(_ string, seq int64) string { return strconv.FormatInt(5100+seq*13, 10) })
	h.Store.Validate = hsValidate
	return h
}

// SetFaults changes the faults while the portal runs.
func (h *HubSpot) SetFaults(f Faults) { h.gate.set(f) }

// Stats counts requests, refusals, failures and lost answers.
func (h *HubSpot) Stats() Stats { return h.gate.snapshot() }

func hsValidate(_ string, f map[string]any) error {
	if e, _ := f["email"].(string); e != "" {
		if _, err := mail.ParseAddress(e); err != nil || !strings.Contains(e, ".") {
			return &FieldError{Field: "email", Code: "INVALID_EMAIL", Message: "Email address " + e + " is invalid"}
		}
	}
	return nil
}

func modProp(objectType string) string {
	if objectType == "contacts" {
		return "lastmodifieddate"
	}
	return "hs_lastmodifieddate"
}

func correlation() string {
	return fmt.Sprintf("%08x-%04x-4%03x-a%03x-%012x", rand.Uint32(), rand.N(1<<16), rand.N(1<<12), rand.N(1<<12), rand.Uint64()&(1<<48-1))
}

func hsErr(w http.ResponseWriter, status int, category, msg string, errs []any) {
	body := map[string]any{"status": "error", "message": msg, "correlationId": correlation(), "category": category}
	if errs != nil {
		body["errors"] = errs
	}
	writeJSON(w, status, body)
}

// hsFieldErr is HubSpot's message and errors for err, a refused value
// (the store's only errors on create).
func hsFieldErr(err error) (string, []any) {
	var fe *FieldError
	if !errors.As(err, &fe) {
		return err.Error(), nil
	}
	detail, _ := json.Marshal([]any{map[string]any{"isValid": false, "message": fe.Message, "error": fe.Code, "name": fe.Field}})
	return "Property values were not valid: " + string(detail),
		[]any{map[string]any{"message": fe.Message, "code": fe.Code, "context": map[string]any{"propertyName": []string{fe.Field}}}}
}

func (h *HubSpot) view(objectType string, r *Rec, props []string) map[string]any {
	p := map[string]any{"hs_object_id": r.ID, "createdate": r.Created.Format("2006-01-02T15:04:05.000Z"),
		modProp(objectType): r.Updated.Format("2006-01-02T15:04:05.000Z")}
	for _, k := range props {
		if _, ok := p[k]; ok {
			continue
		}
		if v, ok := r.Fields[k]; ok && v != nil {
			p[k] = fmt.Sprint(v)
		} else {
			p[k] = nil
		}
	}
	out := map[string]any{"id": r.ID, "properties": p, "createdAt": r.Created.Format(time.RFC3339Nano),
		"updatedAt": r.Updated.Format(time.RFC3339Nano), "archived": r.Deleted}
	if r.Deleted {
		out["archivedAt"] = r.Updated.Format(time.RFC3339Nano)
	}
	return out
}

func (h *HubSpot) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h.Token != "" && r.Header.Get("Authorization") != "Bearer "+h.Token {
		hsErr(w, http.StatusUnauthorized, "INVALID_AUTHENTICATION", "Authentication credentials not found.", nil)
		return
	}
	f := h.gate.faults()
	if f.Rate > 0 {
		burst := max(f.Burst, 1)
		w.Header().Set("X-HubSpot-RateLimit-Max", strconv.Itoa(int(f.Rate*10)))
		w.Header().Set("X-HubSpot-RateLimit-Interval-Milliseconds", "10000")
		w.Header().Set("X-HubSpot-RateLimit-Remaining", strconv.Itoa(burst))
	}
	switch v, _ := h.gate.admit(); v {
	case limited:
		w.Header().Set("X-HubSpot-RateLimit-Remaining", "0")
		writeJSON(w, http.StatusTooManyRequests, map[string]any{"status": "error", "message": "You have reached your secondly limit.",
			"errorType": "RATE_LIMIT", "correlationId": correlation(), "policyName": "SECONDLY"})
		return
	case failed:
		hsErr(w, http.StatusInternalServerError, "INTERNAL_ERROR", "internal error (simulated)", nil)
		return
	}
	const root = "/crm/v3/objects/"
	if !strings.HasPrefix(r.URL.Path, root) {
		hsErr(w, http.StatusNotFound, "OBJECT_NOT_FOUND", "resource not found", nil)
		return
	}
	parts := strings.Split(strings.Trim(r.URL.Path[len(root):], "/"), "/")
	typ := parts[0]
	switch {
	case len(parts) == 1 && r.Method == http.MethodGet:
		h.list(w, r, typ)
	case len(parts) == 1 && r.Method == http.MethodPost:
		var in struct {
			Properties map[string]any `json:"properties"`
		}
		if !h.decode(w, r, &in) {
			return
		}
		rec, err := h.Store.Create(typ, strings_(in.Properties))
		if err != nil {
			msg, errs := hsFieldErr(err)
			hsErr(w, http.StatusBadRequest, "VALIDATION_ERROR", msg, errs)
			return
		}
		h.answer(w, http.StatusCreated, h.view(typ, rec, keys(rec.Fields)))
	case len(parts) == 2 && parts[1] == "search" && r.Method == http.MethodPost:
		h.search(w, r, typ)
	case len(parts) == 3 && parts[1] == "batch" && r.Method == http.MethodPost:
		h.batch(w, r, typ, parts[2])
	case len(parts) == 2:
		h.one(w, r, typ, parts[1])
	default:
		hsErr(w, http.StatusNotFound, "OBJECT_NOT_FOUND", "resource not found", nil)
	}
}

func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// strings_ makes property values strings, as HubSpot keeps them.
func strings_(p map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range p {
		switch x := v.(type) {
		case nil:
			out[k] = nil
		case string:
			out[k] = x
		default:
			out[k] = fmt.Sprint(x)
		}
	}
	return out
}

func (h *HubSpot) decode(w http.ResponseWriter, r *http.Request, v any) bool {
	d := json.NewDecoder(http.MaxBytesReader(w, r.Body, 16<<20))
	d.UseNumber()
	if err := d.Decode(v); err != nil {
		hsErr(w, http.StatusBadRequest, "VALIDATION_ERROR", "Invalid input JSON: "+err.Error(), nil)
		return false
	}
	return true
}

func (h *HubSpot) answer(w http.ResponseWriter, status int, v any) {
	if h.gate.lose() {
		drop(w)
		return
	}
	if v == nil {
		w.WriteHeader(status)
		return
	}
	writeJSON(w, status, v)
}

func props(q string) []string {
	if q == "" {
		return nil
	}
	return strings.Split(q, ",")
}

func (h *HubSpot) list(w http.ResponseWriter, r *http.Request, typ string) {
	q := r.URL.Query()
	limit := 10
	if n, err := strconv.Atoi(q.Get("limit")); err == nil {
		limit = min(max(n, 1), 100)
	}
	archived := q.Get("archived") == "true"
	after := q.Get("after")
	recs := h.Store.List(typ, func(rec *Rec) bool { return rec.Deleted == archived })
	slices.SortFunc(recs, func(a, b *Rec) int { return cmp.Compare(idNum(a.ID), idNum(b.ID)) })
	start := 0
	if after != "" {
		n := idNum(after)
		start = slices.IndexFunc(recs, func(rec *Rec) bool { return idNum(rec.ID) > n })
		if start < 0 {
			start = len(recs)
		}
	}
	page := recs[start:]
	out := map[string]any{}
	if len(page) > limit {
		page = page[:limit]
		next := page[limit-1].ID
		out["paging"] = map[string]any{"next": map[string]any{"after": next,
			"link": "https://api.hubapi.com/crm/v3/objects/" + typ + "?after=" + next}}
	}
	results := make([]any, len(page))
	for i, rec := range page {
		results[i] = h.view(typ, rec, props(q.Get("properties")))
	}
	out["results"] = results
	writeJSON(w, http.StatusOK, out)
}

func idNum(id string) int64 {
	n, _ := strconv.ParseInt(id, 10, 64)
	return n
}

type hsFilter struct {
	PropertyName string   `json:"propertyName"`
	Operator     string   `json:"operator"`
	Value        any      `json:"value"`
	Values       []string `json:"values"`
}

func (h *HubSpot) propValue(typ string, r *Rec, p string) any {
	switch p {
	case "hs_object_id":
		return r.ID
	case "lastmodifieddate", "hs_lastmodifieddate":
		return r.Updated
	case "createdate":
		return r.Created
	}
	return r.Fields[p]
}

func (f hsFilter) match(v any) bool {
	if f.Operator == "HAS_PROPERTY" {
		return v != nil && v != ""
	}
	if f.Operator == "NOT_HAS_PROPERTY" {
		return v == nil || v == ""
	}
	want := fmt.Sprint(f.Value)
	var n int
	switch x := v.(type) {
	case time.Time:
		ms, err := strconv.ParseInt(want, 10, 64)
		if err != nil {
			t, err2 := time.Parse(time.RFC3339Nano, want)
			if err2 != nil {
				return false
			}
			ms = t.UnixMilli()
		}
		n = cmp.Compare(x.UnixMilli(), ms)
	case nil:
		return f.Operator == "NEQ"
	default:
		s := fmt.Sprint(x)
		a, e1 := strconv.ParseFloat(s, 64)
		b, e2 := strconv.ParseFloat(want, 64)
		if e1 == nil && e2 == nil {
			n = cmp.Compare(a, b)
		} else {
			n = strings.Compare(strings.ToLower(s), strings.ToLower(want))
		}
		if f.Operator == "IN" {
			return slices.ContainsFunc(f.Values, func(x string) bool { return strings.EqualFold(x, s) })
		}
	}
	switch f.Operator {
	case "EQ":
		return n == 0
	case "NEQ":
		return n != 0
	case "GT":
		return n > 0
	case "GTE":
		return n >= 0
	case "LT":
		return n < 0
	case "LTE":
		return n <= 0
	}
	return false
}

// hsFilterGroup is a search's group of filters, all of which must match.
type hsFilterGroup struct {
	Filters []hsFilter `json:"filters"`
}

// hsSearchRequest is the body of a search call.
type hsSearchRequest struct {
	FilterGroups []hsFilterGroup   `json:"filterGroups"`
	Sorts        []json.RawMessage `json:"sorts"`
	Properties   []string          `json:"properties"`
	Limit        int               `json:"limit"`
	After        string            `json:"after"`
}

// search answers POST search: the live records matching any filter group,
// sorted, one page of them.
func (h *HubSpot) search(w http.ResponseWriter, r *http.Request, typ string) {
	req, after, ok := h.searchRequest(w, r)
	if !ok {
		return
	}
	recs := h.Store.List(typ, func(rec *Rec) bool {
		return !rec.Deleted && h.matchesAnyGroup(typ, rec, req.FilterGroups)
	})
	for i := len(req.Sorts) - 1; i >= 0; i-- {
		h.sortBy(typ, recs, req.Sorts[i])
	}
	h.searchAnswer(w, typ, recs, after, req)
}

// searchRequest decodes a search and checks its limit (10 by default, at
// most 200) and that the page ends within the first 10,000 results; it
// returns the request and its offset, or answers 400 and returns false.
func (h *HubSpot) searchRequest(w http.ResponseWriter, r *http.Request) (*hsSearchRequest, int, bool) {
	var req hsSearchRequest
	if !h.decode(w, r, &req) {
		return nil, 0, false
	}
	if req.Limit <= 0 {
		req.Limit = 10
	}
	if req.Limit > 200 {
		hsErr(w, http.StatusBadRequest, "VALIDATION_ERROR", "limit must be at most 200", nil)
		return nil, 0, false
	}
	after, _ := strconv.Atoi(req.After)
	if after+req.Limit > 10000 {
		hsErr(w, http.StatusBadRequest, "VALIDATION_ERROR", "search results are limited to 10,000 per query", nil)
		return nil, 0, false
	}
	return &req, after, true
}

// matchesAnyGroup reports whether rec matches every filter of some group,
// or there are no groups.
func (h *HubSpot) matchesAnyGroup(typ string, rec *Rec, groups []hsFilterGroup) bool {
	if len(groups) == 0 {
		return true
	}
	for _, g := range groups {
		ok := true
		for _, f := range g.Filters {
			if !f.match(h.propValue(typ, rec, f.PropertyName)) {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// sortBy sorts recs stably by one sort of a search, {propertyName,
// direction} or a bare property name: times in time order, other values
// as text.
func (h *HubSpot) sortBy(typ string, recs []*Rec, raw json.RawMessage) {
	var s struct {
		PropertyName string `json:"propertyName"`
		Direction    string `json:"direction"`
	}
	if json.Unmarshal(raw, &s) != nil {
		_ = json.Unmarshal(raw, &s.PropertyName)
	}
	slices.SortStableFunc(recs, func(a, b *Rec) int {
		x, y := h.propValue(typ, a, s.PropertyName), h.propValue(typ, b, s.PropertyName)
		n := 0
		if tx, ok := x.(time.Time); ok {
			ty, _ := y.(time.Time)
			n = tx.Compare(ty)
		} else {
			n = strings.Compare(fmt.Sprint(x), fmt.Sprint(y))
		}
		if s.Direction == "DESCENDING" {
			n = -n
		}
		return n
	})
}

// searchAnswer answers the page of recs from offset after, with the
// total and, when more follow, the next page's offset.
func (h *HubSpot) searchAnswer(w http.ResponseWriter, typ string, recs []*Rec, after int, req *hsSearchRequest) {
	total := len(recs)
	if after > len(recs) {
		after = len(recs)
	}
	page := recs[after:]
	out := map[string]any{"total": total}
	if len(page) > req.Limit {
		page = page[:req.Limit]
		out["paging"] = map[string]any{"next": map[string]any{"after": strconv.Itoa(after + req.Limit)}}
	}
	results := make([]any, len(page))
	for i, rec := range page {
		results[i] = h.view(typ, rec, req.Properties)
	}
	out["results"] = results
	writeJSON(w, http.StatusOK, out)
}

func (h *HubSpot) one(w http.ResponseWriter, r *http.Request, typ, id string) {
	switch r.Method {
	case http.MethodGet:
		rec := h.Store.Get(typ, id)
		if rec == nil || rec.Deleted {
			hsErr(w, http.StatusNotFound, "OBJECT_NOT_FOUND", "Object not found.  objectId are usually numeric.", nil)
			return
		}
		writeJSON(w, http.StatusOK, h.view(typ, rec, props(r.URL.Query().Get("properties"))))
	case http.MethodPatch:
		var in struct {
			Properties map[string]any `json:"properties"`
		}
		if !h.decode(w, r, &in) {
			return
		}
		rec, err := h.Store.Update(typ, id, strings_(in.Properties))
		var fe *FieldError
		if errors.As(err, &fe) {
			msg, errs := hsFieldErr(fe)
			hsErr(w, http.StatusBadRequest, "VALIDATION_ERROR", msg, errs)
			return
		}
		if err != nil {
			hsErr(w, http.StatusNotFound, "OBJECT_NOT_FOUND", "Object not found.", nil)
			return
		}
		h.answer(w, http.StatusOK, h.view(typ, rec, keys(rec.Fields)))
	case http.MethodDelete:
		_ = h.Store.Delete(typ, id)
		h.answer(w, http.StatusNoContent, nil)
	default:
		hsErr(w, http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED", "method not allowed", nil)
	}
}

// hsBatchInput is one input of a batch call.
type hsBatchInput struct {
	ID                 string         `json:"id"`
	IDProperty         string         `json:"idProperty"`
	Properties         map[string]any `json:"properties"`
	ObjectWriteTraceID string         `json:"objectWriteTraceId"`
}

// hsBatchRequest is the body of a batch call.
type hsBatchRequest struct {
	Properties []string       `json:"properties"`
	IDProperty string         `json:"idProperty"`
	Inputs     []hsBatchInput `json:"inputs"`
}

// errNoBatchOp is batchApply's error for an operation HubSpot has no
// batch endpoint for.
var errNoBatchOp = errors.New("no such batch operation")

// batch answers POST batch/{op}, op one of create, update, upsert,
// archive and read: it checks the whole call, then applies the inputs in
// order and answers their results.
func (h *HubSpot) batch(w http.ResponseWriter, r *http.Request, typ, op string) {
	req, ok := h.batchRequest(w, r, typ, op)
	if !ok {
		return
	}
	results, errs, ok := h.batchApplyAll(w, typ, op, req)
	if !ok {
		return
	}
	if op == "archive" {
		h.answer(w, http.StatusNoContent, nil)
		return
	}
	h.batchAnswer(w, op, results, errs)
}

// batchRequest decodes a batch call and checks it before any write: at
// most 100 inputs, and for creates, updates and upserts every input's
// values, as one bad value fails the whole call with 400, as HubSpot
// does. It answers and returns false when the call is refused.
func (h *HubSpot) batchRequest(w http.ResponseWriter, r *http.Request, typ, op string) (*hsBatchRequest, bool) {
	var req hsBatchRequest
	if !h.decode(w, r, &req) {
		return nil, false
	}
	if len(req.Inputs) > 100 {
		hsErr(w, http.StatusBadRequest, "VALIDATION_ERROR", "batch inputs are limited to 100", nil)
		return nil, false
	}
	if op == "create" || op == "upsert" || op == "update" {
		for _, in := range req.Inputs {
			if err := hsValidate(typ, in.Properties); err != nil {
				msg, errs := hsFieldErr(err)
				hsErr(w, http.StatusBadRequest, "VALIDATION_ERROR", msg, errs)
				return nil, false
			}
		}
	}
	return &req, true
}

// batchApplyAll applies the inputs in order, collecting the views of the
// records written or read and an error entry for each input that failed
// (archives give neither). An unknown op answers 404 at the first input,
// and batchApplyAll returns false.
func (h *HubSpot) batchApplyAll(w http.ResponseWriter, typ, op string, req *hsBatchRequest) (results, errs []any, ok bool) {
	for _, in := range req.Inputs {
		rec, err := h.batchApply(typ, op, req.IDProperty, in)
		if errors.Is(err, errNoBatchOp) {
			hsErr(w, http.StatusNotFound, "OBJECT_NOT_FOUND", "no batch "+op, nil)
			return nil, nil, false
		}
		if op == "archive" {
			continue
		}
		if err != nil {
			errs = append(errs, map[string]any{"status": "error", "category": "OBJECT_NOT_FOUND",
				"message": "Could not get some " + typ + " objects, they may be deleted or not exist.",
				"context": map[string]any{"ids": []string{in.ID}}})
			continue
		}
		v := h.view(typ, rec, append(keys(rec.Fields), req.Properties...))
		if in.ObjectWriteTraceID != "" {
			v["objectWriteTraceId"] = in.ObjectWriteTraceID
		}
		results = append(results, v)
	}
	return results, errs, true
}

// batchApply applies one input of op to the store and returns the record
// written or read; an upsert finds its record by the input's idProperty,
// else idProperty, the call's. An archive returns no record.
func (h *HubSpot) batchApply(typ, op, idProperty string, in hsBatchInput) (*Rec, error) {
	switch op {
	case "create":
		return h.Store.Create(typ, strings_(in.Properties))
	case "update":
		return h.Store.Update(typ, in.ID, strings_(in.Properties))
	case "upsert":
		idp := cmp.Or(in.IDProperty, idProperty)
		p := strings_(in.Properties)
		p[idp] = in.ID
		if found := h.Store.Find(typ, idp, in.ID); len(found) > 0 {
			return h.Store.Update(typ, found[0].ID, p)
		}
		return h.Store.Create(typ, p)
	case "archive":
		_ = h.Store.Delete(typ, in.ID)
		return nil, nil
	case "read":
		rec := h.Store.Get(typ, in.ID)
		if rec == nil || rec.Deleted {
			return rec, ErrNotFound
		}
		return rec, nil
	}
	return nil, errNoBatchOp
}

// batchAnswer answers a batch call's results, shuffled as HubSpot does
// not promise them in input order: 201 for creates, else 200, or 207
// when some inputs failed.
func (h *HubSpot) batchAnswer(w http.ResponseWriter, op string, results, errs []any) {
	rand.Shuffle(len(results), func(i, j int) { results[i], results[j] = results[j], results[i] })
	now := time.Now().UTC().Format(time.RFC3339Nano)
	body := map[string]any{"status": "COMPLETE", "results": results, "startedAt": now, "completedAt": now}
	status := http.StatusOK
	if op == "create" {
		status = http.StatusCreated
	}
	if len(errs) > 0 {
		body["errors"], body["numErrors"] = errs, len(errs)
		status = http.StatusMultiStatus
	}
	if results == nil {
		body["results"] = []any{}
	}
	h.answer(w, status, body)
}

// HubSpotEvents renders store events as HubSpot webhook notifications.
func HubSpotEvents(objectType string) func([]Event) []byte {
	singular := strings.TrimSuffix(objectType, "s")
	if objectType == "companies" {
		singular = "company"
	}
	return func(events []Event) []byte {
		var out []any
		for i, e := range events {
			kind := map[string]string{"created": "creation", "updated": "propertyChange", "deleted": "deletion"}[e.Kind]
			id, _ := strconv.ParseInt(e.ID, 10, 64)
			out = append(out, map[string]any{"eventId": 1000 + i, "subscriptionId": 42, "portalId": 7, "appId": 9,
				"occurredAt": e.At.UnixMilli(), "subscriptionType": singular + "." + kind, "attemptNumber": 0,
				"objectId": id, "changeSource": "CRM"})
		}
		b, _ := json.Marshal(out)
		return b
	}
}

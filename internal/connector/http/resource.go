package http

import (
	"encoding/json"
	"hash/fnv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/tandemhub/tandem/internal/connector"
	"github.com/tandemhub/tandem/internal/connector/rest"
)

// resource is one mapped table with its endpoints, defaults applied.
type resource struct {
	connector.Table
	// piece is how many guarded writes go in one batch request (0: as
	// many as the endpoint takes); see guardedPiece.
	piece   atomic.Int64
	cfg     Resource
	path    string // collection
	item    string // one record, with {id}
	id      string // id field
	paging  Paging
	create  Endpoint
	update  Endpoint
	delete  Endpoint
	deleted string // tombstone field
	stable  bool   // paging follows a snapshot or keyset: safe to follow while records change

	mu   sync.Mutex
	like string // an updated value as the system writes it, to write {since} alike
}

// sample remembers how the system writes updated values.
func (r *resource) sample(raw string) {
	r.mu.Lock()
	if r.like == "" {
		r.like = raw
	}
	r.mu.Unlock()
}

func (r *resource) sampled() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.like
}

func newResource(t connector.Table, c *Resource) *resource {
	r := &resource{Table: t}
	if c != nil {
		r.cfg = *c
	}
	r.path = r.cfg.Path
	if r.path == "" {
		r.path = "/" + t.Name
	}
	r.item = r.cfg.Item
	if r.item == "" {
		r.item = strings.TrimRight(r.path, "/") + "/{id}"
	}
	r.id = r.cfg.ID
	if r.id == "" {
		r.id = t.Key
	}
	if r.cfg.Paging != nil {
		r.paging = *r.cfg.Paging
	}
	if r.paging.Style == "" {
		r.paging.Style = "none"
	}
	if r.paging.Size <= 0 {
		r.paging.Size = 100
	}
	if r.paging.Style == "page" && r.paging.First == 0 {
		r.paging.First = 1
	}
	r.stable = r.paging.Style == "token" || r.paging.Style == "link"
	r.create = endpoint(r.cfg.Create, "POST", r.path)
	r.update = endpoint(r.cfg.Update, "PATCH", r.item)
	r.delete = endpoint(r.cfg.Delete, "DELETE", r.item)
	if r.cfg.Deletes != nil {
		r.deleted = r.cfg.Deletes.Field
	}
	return r
}

func endpoint(c *Endpoint, method, path string) Endpoint {
	e := Endpoint{Method: method, Path: path}
	if c != nil {
		if c.Method != "" {
			e.Method = strings.ToUpper(c.Method)
		}
		if c.Path != "" {
			e.Path = c.Path
		}
	}
	return e
}

// itemPath is the path of the record with id.
func itemPath(tpl, id string) string {
	return strings.ReplaceAll(tpl, "{id}", escape(id))
}

func escape(s string) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-._~", c) >= 0 {
			b.WriteByte(c)
		} else {
			b.WriteString("%" + strings.ToUpper(string("0123456789abcdef"[c>>4])+string("0123456789abcdef"[c&15])))
		}
	}
	return b.String()
}

// contentSum is a checksum of the mapped fields of rec, as capture reads
// them: two reads with the same sum hold the same values. It covers the
// fields named in has (a bit per column, in order; columns past the 64th
// always count), or, when has is 0, those rec holds, which it returns:
// an answer to a write may leave some out.
func (r *resource) contentSum(rec any, has uint64) (uint64, uint64) {
	m, _ := rec.(map[string]any)
	if has == 0 {
		for i, col := range r.Columns {
			if _, ok := m[col]; ok && i < 64 {
				has |= 1 << i
			}
		}
	}
	h := fnv.New64a()
	for i, col := range r.Columns {
		if i < 64 && has&(1<<i) == 0 {
			continue
		}
		b, _ := json.Marshal(rest.Value(rest.Get(rec, col)))
		h.Write([]byte(col))
		h.Write([]byte{0})
		h.Write(b)
		h.Write([]byte{0})
	}
	return h.Sum64(), has
}

// sum is a checksum of all the mapped fields of rec (see rest.Item.Sum).
func (r *resource) sum(rec any) uint64 {
	s, _ := r.contentSum(rec, ^uint64(0))
	return s | 1 // never 0, which means unknown
}

// guardedPiece is how many guarded writes to put in one batch request,
// at most max. Their looks must all be done within guardFor of the
// first (see holdBack); on a slow or loaded API a hundred looks take
// longer, and a piece that always came too late would never be written.
func (r *resource) guardedPiece(max int) int {
	if n := int(r.piece.Load()); n > 0 && n < max {
		return n
	}
	return max
}

// pieceWent adapts the piece size to how the last guarded batch went:
// halved when it came too late, grown by a quarter when it did not.
func (r *resource) pieceWent(late bool, max int) {
	n := r.guardedPiece(max)
	if late {
		n = (n + 1) / 2
	} else {
		n += n/4 + 1
	}
	r.piece.Store(int64(min(n, max)))
}

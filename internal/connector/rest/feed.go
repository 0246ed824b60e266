package rest

import (
	"cmp"
	"context"
	"slices"
	"sync"
	"time"

	"github.com/tandemhub/tandem/internal/record"
)

// Item is one record read from a feed.
type Item struct {
	Key   string
	Stamp Stamp
	// Sum is a checksum of the record's content (0: unknown). Stamps of
	// millisecond resolution give two writes in one millisecond the same
	// stamp; the sum tells the second from a read of the first again.
	Sum    uint64
	Change record.Change
}

// read is what a feed acknowledged of a record: its stamp and content.
type read struct {
	order int64
	sum   uint64
}

// covers reports whether a record at order with content sum was read
// already: an older stamp, or the same stamp and content (or unknown
// content).
func (r read) covers(order int64, sum uint64) bool {
	return r.order > order || (r.order == order && (sum == 0 || r.sum == 0 || r.sum == sum))
}

// ListFunc reads one page of records changed at or after since (all
// records when from is false), oldest first. page is "" for the first
// page; next is "" after the last.
type ListFunc func(ctx context.Context, since Stamp, from bool, page string) (items []Item, next string, err error)

// Feed is one polled listing: a resource's changes, or its deletes.
// Its cursor is the newest stamp acknowledged.
type Feed struct {
	Name    string
	Overlap time.Duration
	List    ListFunc

	mu     sync.Mutex
	cursor Stamp
	has    bool
	seen   map[string]read // key → what was acknowledged, for stamps within the overlap
	// stamping is whether the system moves a record's stamp when tandem
	// writes it, as the answers to its writes showed (see Learn).
	stamping Stamping
}

// Stamping is what a system does to a record's stamp when tandem writes
// it: unknown until an answer shows, then stamps (the system stamps
// every write) or keeps (it leaves stamping to its users, like an
// application that sets its own updated-at).
type Stamping uint8

const (
	StampingUnknown Stamping = iota
	StampingStamps
	StampingKeeps
)

// Learn notes what an answer to tandem's write showed of the stamp.
// The last answer counts: a user writing between tandem's look and its
// write makes a keeping system look stamping for a while, which only
// makes tandem more careful (see Stamping).
func (f *Feed) Learn(st Stamping) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.stamping = st
}

// Stamping returns what the feed has learnt of the system's stamps; it
// is kept in the position, so a hub that starts again knows at once.
func (f *Feed) Stamping() Stamping {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.stamping
}

// poll reads up to max changes not yet acknowledged, oldest first, one
// per key.
func (f *Feed) poll(ctx context.Context, max int) ([]Item, error) {
	f.mu.Lock()
	cursor, has := f.cursor, f.has
	seen := make(map[string]read, len(f.seen))
	for k, v := range f.seen {
		seen[k] = v
	}
	f.mu.Unlock()
	since := cursor.Back(f.Overlap)
	var out []Item
	page := ""
	for {
		items, next, err := f.List(ctx, since, has, page)
		if err != nil {
			return nil, err
		}
		for _, it := range items {
			if has && it.Stamp.Time != cursor.Time {
				// A cursor of the other kind (a start time against version
				// numbers): read from the beginning once.
				has = false
			}
			if has && it.Stamp.Order < since.Order {
				continue // the system ignored the since filter
			}
			if o, ok := seen[it.Key]; ok && o.covers(it.Stamp.Order, it.Sum) {
				continue
			}
			out = append(out, it)
		}
		if len(out) >= max || next == "" || next == page {
			break
		}
		page = next
	}
	slices.SortStableFunc(out, func(a, b Item) int { return cmp.Compare(a.Stamp.Order, b.Stamp.Order) })
	if len(out) > max {
		out = out[:max]
	}
	// One change per key: the newest.
	last := map[string]int{}
	for i, it := range out {
		last[it.Key] = i
	}
	keep := out[:0]
	for i, it := range out {
		if last[it.Key] == i {
			keep = append(keep, it)
		}
	}
	return keep, nil
}

// Since is where the feed reads from: its cursor less the overlap, and
// whether it has a cursor at all.
func (f *Feed) Since() (Stamp, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.cursor.Back(f.Overlap), f.has
}

// Unseen reports whether a record with stamp st and content sum (0:
// unknown) holds a change the feed has not acknowledged: one capture has
// yet to store. A feed with no cursor yet knows of none.
func (f *Feed) Unseen(key string, st Stamp, sum uint64) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.has || st.Time != f.cursor.Time {
		return false
	}
	if st.Order > f.cursor.Order {
		return true
	}
	if st.Order < f.cursor.Back(f.Overlap).Order {
		return false
	}
	o, ok := f.seen[key]
	return !ok || !o.covers(st.Order, sum)
}

// advanced is the cursor after items are acknowledged.
func (f *Feed) advanced(items []Item) (Stamp, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, has := f.cursor, f.has
	for _, it := range items {
		if !has || it.Stamp.Time != c.Time || it.Stamp.Order > c.Order {
			c, has = it.Stamp, true
		}
	}
	return c, has
}

// ack moves the cursor past items and remembers them.
func (f *Feed) ack(items []Item) {
	c, has := f.advanced(items)
	seen := f.seenAfter(items, c)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cursor, f.has, f.seen = c, has, seen
}

// seenAfter is what the feed will remember of the records it read once
// items are acknowledged and its cursor is c: those within the overlap.
func (f *Feed) seenAfter(items []Item, c Stamp) map[string]read {
	f.mu.Lock()
	defer f.mu.Unlock()
	seen := make(map[string]read, len(f.seen)+len(items))
	for k, o := range f.seen {
		seen[k] = o
	}
	for _, it := range items {
		if o, ok := seen[it.Key]; !ok || it.Stamp.Order >= o.order {
			seen[it.Key] = read{order: it.Stamp.Order, sum: it.Sum}
		}
	}
	floor := c.Back(f.Overlap).Order
	for k, o := range seen {
		if o.order < floor {
			delete(seen, k)
		}
	}
	return seen
}

func (f *Feed) set(s Stamp, has bool, st Stamping, seen map[string]Seen) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cursor, f.has, f.seen, f.stamping = s, has, make(map[string]read, len(seen)), st
	for k, o := range seen {
		f.seen[k] = read{order: o.Order, sum: o.Sum}
	}
}

// Seen is a record a feed acknowledged at a stamp within its overlap,
// as the position keeps it: a hub that starts again does not take what
// the overlap reads again for news (a write of tandem's that an earlier
// hub knew for its own would pass for its users' change).
type Seen struct {
	Order int64  `json:"o"`
	Sum   uint64 `json:"s,omitempty"`
}

func kept(seen map[string]read) map[string]Seen {
	if len(seen) == 0 {
		return nil
	}
	out := make(map[string]Seen, len(seen))
	for k, o := range seen {
		out[k] = Seen{Order: o.order, Sum: o.sum}
	}
	return out
}

func (f *Feed) seenNow() map[string]read {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.seen
}

func (f *Feed) get() (Stamp, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.cursor, f.has
}

package torture

import (
	"encoding/json"
	"os"
	"sort"
	"sync"
	"time"
)

// write is one user action as a writer recorded it.
type write struct {
	N      int64 // numbered in the order writes began
	Writer int
	System string
	Entity string
	Ref    string
	Op     string // create, update, delete
	State  State  // what the write left (creates and updates)
	Start  time.Time
	End    time.Time
}

// ledger holds every write the writers made. It is the oracle: what each
// system must hold once edits stop and tandem has caught up.
type ledger struct {
	mu     sync.Mutex
	n      int64
	writes map[[2]string][]write // entity, ref → writes in start order
}

func newLedger() *ledger { return &ledger{writes: map[[2]string][]write{}} }

// begin numbers a write about to start.
func (l *ledger) begin() (int64, time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.n++
	return l.n, time.Now()
}

// add records a write that took effect.
func (l *ledger) add(w write) {
	l.mu.Lock()
	defer l.mu.Unlock()
	k := [2]string{w.Entity, w.Ref}
	l.writes[k] = append(l.writes[k], w)
}

// count is the number of writes that took effect.
func (l *ledger) count() (creates, updates, deletes int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, ws := range l.writes {
		for _, w := range ws {
			switch w.Op {
			case "create":
				creates++
			case "update":
				updates++
			case "delete":
				deletes++
			}
		}
	}
	return
}

// clockSlack is how close two writes may be and still count as
// concurrent: the coarsest source clock (SQLite's, json-server's
// application stamps) counts milliseconds.
const clockSlack = 2 * time.Millisecond

// expectation is what every system must hold of one record.
type expectation struct {
	Entity, Ref string
	Deleted     bool
	// Want are the states that may win: those of writes that no other
	// write of the record began strictly after.
	Want []State
	// Seen are all the states users wrote, to tell a lost update (an
	// older state) from a state no one wrote.
	Seen   []State
	Writes []write
}

func (e expectation) wants(s State) bool {
	for _, w := range e.Want {
		if w == s {
			return true
		}
	}
	return false
}

func (e expectation) saw(s State) bool {
	for _, w := range e.Seen {
		if w == s {
			return true
		}
	}
	return false
}

// expect returns what the ledger says of every record, in a stable order.
// A contact's reference to an account that was deleted is expected to
// be empty: the delete wins over the reference too.
func (l *ledger) expect() []expectation {
	l.mu.Lock()
	defer l.mu.Unlock()
	deleted := map[string]bool{}
	for k, ws := range l.writes {
		for _, w := range ws {
			if k[0] == Account && w.Op == "delete" {
				deleted[k[1]] = true
			}
		}
	}
	state := func(s State) State {
		if deleted[s.Account] {
			s.Account = ""
		}
		return s
	}
	out := make([]expectation, 0, len(l.writes))
	for k, ws := range l.writes {
		e := expectation{Entity: k[0], Ref: k[1], Writes: append([]write(nil), ws...)}
		for _, w := range ws {
			if w.Op == "delete" {
				e.Deleted = true
			}
		}
		for _, w := range ws {
			if w.Op == "delete" {
				continue
			}
			e.Seen = append(e.Seen, state(w.State))
			later := false
			for _, o := range ws {
				if o.N != w.N && o.Start.After(w.End.Add(clockSlack)) {
					later = true
					break
				}
			}
			if !later {
				e.Want = append(e.Want, state(w.State))
			}
		}
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Entity != out[j].Entity {
			return out[i].Entity < out[j].Entity
		}
		return out[i].Ref < out[j].Ref
	})
	return out
}

// dump writes every write, one JSON object a line, in the order they began.
func (l *ledger) dump(path string) error {
	l.mu.Lock()
	var all []write
	for _, ws := range l.writes {
		all = append(all, ws...)
	}
	l.mu.Unlock()
	sort.Slice(all, func(i, j int) bool { return all[i].N < all[j].N })
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(f)
	for _, w := range all {
		if err := enc.Encode(w); err != nil {
			f.Close()
			return err
		}
	}
	return f.Close()
}

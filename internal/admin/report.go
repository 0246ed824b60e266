package admin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/tandemhub/tandem/internal/health"
	"github.com/tandemhub/tandem/internal/store"
)

// DefaultStuck is how long a change may wait for a record it refers to
// (held at capture, or its delivery waiting for a parent) before Inspect
// counts it as a problem. Parents and children captured a moment apart,
// or delivered in the same round, wait that long at most in a healthy hub.
const DefaultStuck = time.Minute

// DefaultList is how many held changes and waiting deliveries Inspect lists.
const DefaultList = 10

// Options adjust Inspect.
type Options struct {
	// Stuck is how long a change may wait for a record it refers to
	// before it counts as a problem; 0: any wait counts. Status uses
	// DefaultStuck.
	Stuck time.Duration
	List  int // how many held changes and waiting deliveries to list; DefaultList when 0
}

// Report is everything status shows: the counters of every system and
// entity, what waits and why, how the hub's loops are doing, and the
// problems among all that.
type Report struct {
	Rows []Row `json:"rows"`
	// Held lists the oldest held changes; HeldMore counts the others.
	Held     []Item `json:"held"`
	HeldMore int64  `json:"held_more"`
	// Waiting lists the longest waiting deliveries (for a parent or a
	// retry); WaitingMore counts the others.
	Waiting     []Item `json:"waiting"`
	WaitingMore int64  `json:"waiting_more"`
	Hub         Hub    `json:"hub"`
	// Problems says, one line each, what is held or waiting for a parent
	// longer than Options.Stuck, dead-lettered or failing, or that the
	// hub is not running. Empty when all is well.
	Problems []string `json:"problems"`
}

// Item is one held change or waiting delivery.
type Item struct {
	System string `json:"system"` // where the change was captured, or the delivery goes
	Entity string `json:"entity"`
	Key    string `json:"key,omitempty"` // the record's key in System, if it has one there
	GID    string `json:"gid,omitempty"` // the record's global id, if it has one
	Why    string `json:"why"`
	// Since is when the change was captured, or the delivery queued (zero if unknown).
	Since time.Time `json:"since,omitzero"`
}

// Hub is what the hub's health file says of it.
type Hub struct {
	Running bool   `json:"running"`
	Why     string `json:"why,omitempty"` // why it is taken as not running
	PID     int    `json:"pid,omitempty"`
	// Started is when it started; Updated when it last wrote its health file.
	Started time.Time                `json:"started,omitzero"`
	Updated time.Time                `json:"updated,omitzero"`
	Systems map[string]health.System `json:"systems,omitempty"`
}

// Inspect reads the store and the health file the hub writes into dir
// (its data directory) and judges what it finds at now.
func Inspect(ctx context.Context, st store.Store, dir string, now time.Time, opt Options) (*Report, error) {
	if opt.List <= 0 {
		opt.List = DefaultList
	}
	rep := &Report{Held: []Item{}, Waiting: []Item{}, Problems: []string{}}
	// One read: the counts and the lists agree.
	err := st.View(ctx, func(tx store.Tx) (err error) {
		if rep.Rows, err = statusRows(tx, now); err != nil {
			return err
		}
		return rep.readItems(tx, opt.List)
	})
	if err != nil {
		return nil, fmt.Errorf("read status: %w", err)
	}
	rows := rep.Rows
	var held, waiting int64
	for _, r := range rows {
		held += r.Held
		waiting += r.Waiting
	}
	rep.HeldMore = max(0, held-int64(len(rep.Held)))
	rep.WaitingMore = max(0, waiting-int64(len(rep.Waiting)))
	rep.readHub(dir, now)
	rep.judge(now, opt.Stuck)
	return rep, nil
}

func (rep *Report) readItems(tx store.Tx, limit int) error {
	held, err := tx.HeldChanges(limit)
	if err != nil {
		return err
	}
	for _, c := range held {
		rep.Held = append(rep.Held, Item{System: c.System, Entity: c.Entity, Key: c.Key, GID: c.GID,
			Why: oneLine(c.Note), Since: c.Logged})
	}
	waiting, err := tx.Waiting(limit)
	if err != nil {
		return err
	}
	for _, o := range waiting {
		key, _, err := tx.Key(o.Entity, o.GID, o.System)
		if err != nil {
			return err
		}
		why := o.Wait
		switch {
		case why != "":
		case o.Error == "":
			why = "due again"
		case o.Attempts > 0:
			why = fmt.Sprintf("retrying after %d failed attempts: %s", o.Attempts, o.Error)
		default:
			why = "retrying: " + o.Error
		}
		rep.Waiting = append(rep.Waiting, Item{System: o.System, Entity: o.Entity, Key: key, GID: o.GID,
			Why: oneLine(why), Since: o.Created})
	}
	return nil
}

func (rep *Report) readHub(dir string, now time.Time) {
	f, err := health.Read(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		rep.Hub.Why = "it never wrote " + health.FileName + " in " + dir
		return
	case err != nil:
		rep.Hub.Why = err.Error()
		return
	}
	rep.Hub.PID, rep.Hub.Started, rep.Hub.Updated, rep.Hub.Systems = f.PID, f.Started, f.Updated, f.Systems
	rep.Hub.Running, rep.Hub.Why = f.Alive(now)
}

// judge lists the problems of the report.
func (rep *Report) judge(now time.Time, stuck time.Duration) {
	add := func(format string, args ...any) {
		rep.Problems = append(rep.Problems, oneLine(fmt.Sprintf(format, args...)))
	}
	if !rep.Hub.Running {
		// What it last said of its loops is history, not news.
		add("hub not running (%s)", rep.Hub.Why)
	}
	if rep.Hub.Running {
		for _, name := range sortedKeys(rep.Hub.Systems) {
			s := rep.Hub.Systems[name]
			for _, p := range []struct {
				part string
				c    *health.Condition
			}{{"capture", s.Capture}, {"delivery", s.Delivery}} {
				if p.c != nil && !p.c.OK {
					add("%s %s failing %s", name, p.part, failure(p.c, now))
				}
			}
		}
	}
	long := func(since time.Time) bool { return since.IsZero() || now.Sub(since) >= stuck }
	for _, r := range rep.Rows {
		if r.Held > 0 && long(r.HeldSince) {
			add("%s %s: %d %s held, waiting for a record %s (oldest captured %s)", r.System, r.Entity,
				r.Held, plural(r.Held, "change", "changes"), plural(r.Held, "it refers to", "they refer to"), age(r.HeldSince, now))
		}
		if r.WaitingParent > 0 && long(r.WaitingParentSince) {
			add("%s %s: %d %s waiting for a parent record to reach %s (oldest queued %s)", r.System, r.Entity,
				r.WaitingParent, plural(r.WaitingParent, "delivery", "deliveries"), r.System, age(r.WaitingParentSince, now))
		}
		if r.Dead > 0 {
			add("%s %s: %d open dead %s (tandem dlq list)", r.System, r.Entity, r.Dead, plural(r.Dead, "letter", "letters"))
		}
	}
}

// failure says since when and how a failing condition fails.
func failure(c *health.Condition, now time.Time) string {
	return fmt.Sprintf("since %s (%s, %d %s): %s", c.Since.UTC().Format(time.RFC3339),
		age(c.Since, now), c.Attempts, plural(int64(c.Attempts), "attempt", "attempts"), c.Error)
}

// age says how long ago t was.
func age(t time.Time, now time.Time) string {
	if t.IsZero() {
		return "at an unknown time"
	}
	return now.Sub(t).Round(time.Second).String() + " ago"
}

func plural(n int64, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// WriteReport prints a report: the table of WriteStatus, then how the
// hub is, what fails, and the oldest held changes and waiting deliveries
// with why.
func WriteReport(w io.Writer, rep *Report, now time.Time) error {
	if err := WriteStatus(w, rep.Rows); err != nil {
		return err
	}
	fmt.Fprintln(w)
	h := rep.Hub
	if h.Running {
		fmt.Fprintf(w, "hub running: pid %d, started %s, last seen %s\n", h.PID, h.Started.UTC().Format(time.RFC3339), age(h.Updated, now))
		for _, name := range sortedKeys(h.Systems) {
			s := h.Systems[name]
			if c := s.Capture; c != nil && !c.OK {
				fmt.Fprintf(w, "FAILING  %s capture %s\n", name, oneLine(failure(c, now)))
			}
			if c := s.Delivery; c != nil && !c.OK {
				fmt.Fprintf(w, "FAILING  %s delivery %s\n", name, oneLine(failure(c, now)))
			}
		}
	} else {
		fmt.Fprintf(w, "hub not running (%s)\n", h.Why)
	}
	items := func(title string, list []Item, more int64) {
		if len(list) == 0 {
			return
		}
		fmt.Fprintf(w, "\n%s:\n", title)
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "SYSTEM\tENTITY\tKEY\tGID\tSINCE\tWHY")
		for _, it := range list {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", it.System, it.Entity, orDash(it.Key), orDash(it.GID), age(it.Since, now), it.Why)
		}
		_ = tw.Flush()
		if more > 0 {
			fmt.Fprintf(w, "and %d more\n", more)
		}
	}
	items("held changes, oldest first", rep.Held, rep.HeldMore)
	items("waiting deliveries, longest queued first", rep.Waiting, rep.WaitingMore)
	return nil
}

// Err is nil when the report finds no problem, and otherwise says what
// the problems are, in one line.
func (rep *Report) Err() error {
	const show = 3
	ps := rep.Problems
	switch {
	case len(ps) == 0:
		return nil
	case len(ps) > show:
		ps = append(ps[:show:show], fmt.Sprintf("and %d more problems", len(ps)-show))
	}
	return errors.New("not healthy: " + strings.Join(ps, "; "))
}

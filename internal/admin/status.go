package admin

import (
	"context"
	"fmt"
	"io"
	"sort"
	"text/tabwriter"
	"time"

	"github.com/tandemhub/tandem/internal/store"
)

// Row is the status of one system and entity.
type Row struct {
	System, Entity string
	Captured       int64 `json:"captured"`
	Dropped        int64 `json:"dropped"` // echoes and no-ops among the captured
	// Held counts captured changes waiting for a record they refer to,
	// which tandem does not know yet; HeldSince is when the oldest was
	// captured (zero if unknown: held before tandem kept the time).
	Held      int64     `json:"held"`
	HeldSince time.Time `json:"held_since,omitzero"`
	Pending   int64     `json:"pending"`   // deliveries queued for this system
	Waiting   int64     `json:"waiting"`   // of which waiting for a retry or a parent
	Delivered int64     `json:"delivered"` // writes applied to this system
	Dead      int64     `json:"dead"`      // open dead letters
	// WaitingParent counts the waiting deliveries whose record refers to
	// one that has not reached this system yet; WaitingParentSince is
	// when the longest waiting of them was queued.
	WaitingParent      int64         `json:"waiting_parent"`
	WaitingParentSince time.Time     `json:"waiting_parent_since,omitzero"`
	Lag                time.Duration `json:"lag"` // age of the oldest pending delivery
	LastCapture        time.Time     `json:"last_capture"`
	LastDelivery       time.Time     `json:"last_delivery"`
}

// Status reads the status of every system and entity.
func Status(ctx context.Context, st store.Store, now time.Time) ([]Row, error) {
	var out []Row
	err := st.View(ctx, func(tx store.Tx) (err error) {
		out, err = statusRows(tx, now)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("read status: %w", err)
	}
	return out, nil
}

// statusRows reads the status of every system and entity in tx.
func statusRows(tx store.Tx, now time.Time) ([]Row, error) {
	rows := map[[2]string]*Row{}
	get := func(s, e string) *Row {
		k := [2]string{s, e}
		if rows[k] == nil {
			rows[k] = &Row{System: s, Entity: e}
		}
		return rows[k]
	}
	err := func() error {
		counts, err := tx.Counts()
		if err != nil {
			return err
		}
		for _, c := range counts {
			r := get(c.System, c.Entity)
			r.Captured, r.Dropped, r.Delivered = c.Captured, c.Dropped, c.Delivered
			r.LastCapture, r.LastDelivery = c.LastCapture, c.LastDelivery
		}
		backlog, err := tx.Backlog()
		if err != nil {
			return err
		}
		for _, p := range backlog {
			r := get(p.System, p.Entity)
			r.Pending, r.Waiting = p.N, p.Waiting
			r.WaitingParent, r.WaitingParentSince = p.Parents, p.OldestParent
			if !p.Oldest.IsZero() {
				r.Lag = now.Sub(p.Oldest)
			}
		}
		holds, err := tx.Holds()
		if err != nil {
			return err
		}
		for _, h := range holds {
			r := get(h.System, h.Entity)
			r.Held, r.HeldSince = h.N, h.Oldest
		}
		dead, err := tx.DeadLetters(store.DeadOpen, 1<<30)
		if err != nil {
			return err
		}
		for _, d := range dead {
			get(d.System, d.Entity).Dead++
		}
		return nil
	}()
	if err != nil {
		return nil, err
	}
	out := make([]Row, 0, len(rows))
	for _, r := range rows {
		out = append(out, *r)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].System != out[j].System {
			return out[i].System < out[j].System
		}
		return out[i].Entity < out[j].Entity
	})
	return out, nil
}

// WriteStatus prints rows as a table.
func WriteStatus(w io.Writer, rows []Row) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "SYSTEM\tENTITY\tCAPTURED\tDROPPED\tHELD\tPENDING\tWAITING\tDELIVERED\tDEAD\tLAG\t")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%s\t\n", r.System, r.Entity, r.Captured, r.Dropped,
			r.Held, r.Pending, r.Waiting, r.Delivered, r.Dead, r.Lag.Round(time.Millisecond))
	}
	return tw.Flush()
}

package admin

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/tandemhub/tandem/internal/mapping"
	"github.com/tandemhub/tandem/internal/store"
)

// DeadLetters lists dead letters in state (all states when empty).
func DeadLetters(ctx context.Context, st store.Store, state store.DeadState, limit int) ([]store.DeadLetter, error) {
	var out []store.DeadLetter
	err := st.View(ctx, func(tx store.Tx) error {
		var err error
		out, err = tx.DeadLetters(state, limit)
		return err
	})
	return out, err
}

// WriteDeadLetters prints dead letters, one block each.
func WriteDeadLetters(w io.Writer, ds []store.DeadLetter) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTAGE\tSYSTEM\tENTITY\tKEY\tFIELD\tSTATE\tATTEMPTS\tERROR")
	for _, d := range ds {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\n", d.ID, d.Stage, d.System, d.Entity, orDash(d.Key),
			orDash(d.Field), d.State, d.Attempts, oneLine(d.Error))
	}
	return tw.Flush()
}

// SetDead moves dead letters to state: retry (the running hub picks them
// up) or discarded. Only open or retried letters can move.
func SetDead(ctx context.Context, st store.Store, ids []int64, to store.DeadState) error {
	return st.Update(ctx, func(tx store.Tx) error {
		for _, id := range ids {
			d, err := tx.DeadLetter(id)
			if err != nil {
				return err
			}
			if d.State != store.DeadOpen && d.State != store.DeadRetried && d.State != store.DeadRetry {
				return fmt.Errorf("dead letter %d is %s; only open ones can be retried or discarded", id, d.State)
			}
			if err := tx.SetDeadState(id, to); err != nil {
				return err
			}
		}
		return nil
	})
}

// OpenIDs lists the ids of every open dead letter.
func OpenIDs(ctx context.Context, st store.Store) ([]int64, error) {
	ds, err := DeadLetters(ctx, st, store.DeadOpen, 1<<30)
	if err != nil {
		return nil, err
	}
	ids := make([]int64, len(ds))
	for i, d := range ds {
		ids[i] = d.ID
	}
	return ids, nil
}

// Links finds a record by system and key (or by global id) and returns
// its global id and its key in every system.
func Links(ctx context.Context, st store.Store, entity, ref string) (string, map[string]string, error) {
	var gid string
	var links map[string]string
	err := st.View(ctx, func(tx store.Tx) error {
		gid = ref
		if sys, key, ok := strings.Cut(ref, ":"); ok {
			g, found, err := tx.GID(entity, sys, key)
			if err != nil {
				return err
			}
			if !found {
				// A key whose record went from that system keeps a tombstone.
				if g, _, found, err = tx.Tombstone(entity, sys, key); err != nil {
					return err
				}
			}
			if !found {
				return fmt.Errorf("no %s with key %q in system %q is linked", entity, key, sys)
			}
			gid = g
		}
		var err error
		if links, err = tx.Links(entity, gid); err != nil || len(links) > 0 {
			return err
		}
		if g, err := tx.Golden(entity, gid); err != nil || g != nil {
			return err // a record gone from every system
		}
		return fmt.Errorf("no %s %q is known (write SYSTEM:KEY or a global id)", entity, ref)
	})
	return gid, links, err
}

// WriteLinks prints a record's links and golden fields.
func WriteLinks(w io.Writer, entity, gid string, links map[string]string, g *store.Golden) {
	fmt.Fprintf(w, "%s %s\n", entity, gid)
	systems := make([]string, 0, len(links))
	for s := range links {
		systems = append(systems, s)
	}
	sort.Strings(systems)
	for _, s := range systems {
		fmt.Fprintf(w, "  %-16s %s\n", s, links[s])
	}
	if g != nil {
		state := "live"
		if g.Deleted {
			state = "deleted"
		}
		fmt.Fprintf(w, "golden (%s):\n", state)
		names := make([]string, 0, len(g.Fields))
		for f := range g.Fields {
			names = append(names, f)
		}
		sort.Strings(names)
		for _, f := range names {
			fmt.Fprintf(w, "  %-16s %-30s from %s\n", f, mapping.Text(g.Fields[f]), g.Sources[f])
		}
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func oneLine(s string) string { return strings.ReplaceAll(s, "\n", " ") }

package torture

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/tandemhub/tandem/internal/store"
)

// Counts are what a check found. Every count must be zero.
type Counts struct {
	Lost        int `json:"lost"`        // a live record missing from a system
	Duplicated  int `json:"duplicated"`  // a record held twice or more by one system
	Resurrected int `json:"resurrected"` // a deleted record still (or again) in a system
	Orphaned    int `json:"orphaned"`    // a contact pointing at an account its system does not hold
	WrongRef    int `json:"wrong_refs"`  // a contact pointing at another account than its last write says
	Mismatched  int `json:"mismatched"`  // a record whose systems disagree
	Stale       int `json:"stale"`       // a record holding an older state than the last write (a lost update)
	Invented    int `json:"invented"`    // a record holding a state no user wrote, or a record no user made
	AppErrors   int `json:"app_errors"`  // the users' own actions that failed
	Dead        int `json:"dead"`        // open dead letters
	Held        int `json:"held"`        // changes tandem holds back
	HubExits    int `json:"hub_exits"`   // tandem run ending by itself
	Moving      int `json:"moving"`      // 1 when the systems' contents still changed after converging
}

// Zero reports whether every count is zero.
func (c Counts) Zero() bool { return c == Counts{} }

// converged is zero for everything the systems' contents show (what
// tandem's own bookkeeping says is checked separately).
func (c Counts) converged() bool {
	c.AppErrors, c.Dead, c.Held, c.HubExits, c.Moving = 0, 0, 0, 0, 0
	return c.Zero()
}

func (c Counts) String() string {
	return fmt.Sprintf("lost %d, duplicated %d, resurrected %d, orphaned %d, wrong refs %d, mismatched %d, stale %d, "+
		"invented %d, app errors %d, dead letters %d, held %d, hub exits %d, moving %d",
		c.Lost, c.Duplicated, c.Resurrected, c.Orphaned, c.WrongRef, c.Mismatched, c.Stale, c.Invented,
		c.AppErrors, c.Dead, c.Held, c.HubExits, c.Moving)
}

// snapshot is every system's rows at one moment, by system, entity, ref.
type snapshot struct {
	rows map[string]map[[2]string][]Row
	fp   string
}

func read(ctx context.Context, apps []App) (*snapshot, error) {
	s := &snapshot{rows: map[string]map[[2]string][]Row{}}
	h := sha256.New()
	for _, a := range apps {
		m := map[[2]string][]Row{}
		var lines []string
		for _, ent := range []string{Account, Contact} {
			rows, err := a.Rows(ctx, ent)
			if err != nil {
				return nil, err
			}
			for _, r := range rows {
				k := [2]string{ent, r.Ref}
				m[k] = append(m[k], r)
				lines = append(lines, fmt.Sprintf("%s|%s|%s|%s|%v|%s", a.Name(), ent, r.Ref, r.Key, r.State, r.AccountKey))
			}
		}
		sort.Strings(lines)
		for _, l := range lines {
			h.Write([]byte(l + "\n"))
		}
		s.rows[a.Name()] = m
	}
	s.fp = hex.EncodeToString(h.Sum(nil))[:16]
	return s, nil
}

// compare holds a snapshot against the ledger. It returns the counts and
// a line per problem.
func compare(snap *snapshot, l *ledger, systems []string) (Counts, []string) {
	var c Counts
	var bad []string
	report := func(n *int, format string, args ...any) {
		*n++
		bad = append(bad, fmt.Sprintf(format, args...))
	}
	known := map[[2]string]bool{}
	for _, e := range l.expect() {
		k := [2]string{e.Entity, e.Ref}
		known[k] = true
		states := map[State][]string{}
		for _, sys := range systems {
			rows := snap.rows[sys][k]
			switch {
			case e.Deleted && len(rows) > 0:
				report(&c.Resurrected, "%s %s: deleted (%s) but %s holds it as %v", e.Entity, e.Ref, lastDelete(e), sys, rows[0].State)
				continue
			case e.Deleted:
				continue
			case len(rows) == 0:
				report(&c.Lost, "%s %s: lost in %s; last write %s", e.Entity, e.Ref, sys, lastWrite(e))
				continue
			case len(rows) > 1:
				keys := make([]string, len(rows))
				for i, r := range rows {
					keys[i] = r.Key
				}
				report(&c.Duplicated, "%s %s: %s holds it %d times (keys %s)", e.Entity, e.Ref, sys, len(rows), strings.Join(keys, ", "))
			}
			r := rows[0]
			states[r.State] = append(states[r.State], sys)
			if e.Entity == Contact && r.AccountKey != "" && r.State.Account == "" {
				report(&c.Orphaned, "contact %s in %s points at account key %s, which %s does not hold", e.Ref, sys, r.AccountKey, sys)
			}
		}
		if e.Deleted || len(states) == 0 {
			continue
		}
		if len(states) > 1 {
			var parts []string
			for s, sys := range states {
				parts = append(parts, fmt.Sprintf("%s: %v", strings.Join(sys, ","), s))
			}
			sort.Strings(parts)
			report(&c.Mismatched, "%s %s: systems disagree: %s; last write %s", e.Entity, e.Ref, strings.Join(parts, "; "), lastWrite(e))
		}
		for s, sys := range states {
			switch {
			case e.wants(s):
			case e.Entity == Contact && wantsButRef(e, s):
				report(&c.WrongRef, "contact %s in %s points at account %q; last write %s", e.Ref, strings.Join(sys, ","), s.Account, lastWrite(e))
			case e.saw(s):
				report(&c.Stale, "%s %s in %s holds an older state %v; last write %s", e.Entity, e.Ref, strings.Join(sys, ","), s, lastWrite(e))
			default:
				report(&c.Invented, "%s %s in %s holds %v, which no user wrote; writes: %s", e.Entity, e.Ref, strings.Join(sys, ","), s, allWrites(e))
			}
		}
	}
	for _, sys := range systems {
		for k, rows := range snap.rows[sys] {
			if !known[k] {
				report(&c.Invented, "%s %s %q in %s (key %s): no user made it", k[0], k[1], rows[0].State.Name, sys, rows[0].Key)
			}
		}
	}
	sort.Strings(bad)
	return c, bad
}

// wantsButRef reports whether s is a wanted state but for the account.
func wantsButRef(e expectation, s State) bool {
	for _, w := range e.Want {
		if w.Name == s.Name && w.Account != s.Account {
			return true
		}
	}
	return false
}

func lastWrite(e expectation) string {
	if len(e.Writes) == 0 {
		return "none"
	}
	return describe(e.Writes[len(e.Writes)-1])
}

func lastDelete(e expectation) string {
	for i := len(e.Writes) - 1; i >= 0; i-- {
		if e.Writes[i].Op == "delete" {
			return describe(e.Writes[i])
		}
	}
	return "never"
}

func allWrites(e expectation) string {
	parts := make([]string, len(e.Writes))
	for i, w := range e.Writes {
		parts[i] = describe(w)
	}
	return strings.Join(parts, ", ")
}

func describe(w write) string {
	s := fmt.Sprintf("#%d %s in %s at %s", w.N, w.Op, w.System, w.End.Format("15:04:05.000"))
	if w.Op != "delete" {
		s += fmt.Sprintf(" → %v", w.State)
	}
	return s
}

// tandemState reads what tandem holds back: open dead letters and held
// changes, with a line for each.
func tandemState(ctx context.Context, dataDir string, systems []string) (dead, held int, lines []string, err error) {
	st, err := store.OpenSQLite(ctx, dataDir)
	if err != nil {
		return 0, 0, nil, err
	}
	defer st.Close()
	err = st.View(ctx, func(tx store.Tx) error {
		ds, err := tx.DeadLetters(store.DeadOpen, 1000)
		if err != nil {
			return err
		}
		for _, d := range ds {
			lines = append(lines, fmt.Sprintf("dead letter %d (%s, %s %s key %q gid %s): %s", d.ID, d.Stage, d.System, d.Entity, d.Key, d.GID, d.Error))
		}
		hs, err := tx.HeldChanges(1000)
		if err != nil {
			return err
		}
		for _, h := range hs {
			lines = append(lines, fmt.Sprintf("held change %d (%s %s key %q): %s", h.Seq, h.System, h.Entity, h.Key, h.Note))
		}
		dead, held = len(ds), len(hs)
		// Deliveries waiting for a parent are held back too.
		for _, sys := range systems {
			due, err := tx.Due(sys, time.Now().Add(time.Hour), 0, 1000)
			if err != nil {
				return err
			}
			for _, o := range due {
				if o.Wait != "" {
					held++
					lines = append(lines, fmt.Sprintf("delivery to %s of %s %s held: %s", sys, o.Entity, o.GID, o.Wait))
				}
			}
		}
		return nil
	})
	return dead, held, lines, err
}

// unlinked counts the live records tandem holds no key of in some
// system, and the deliveries it has yet to make.
func unlinked(ctx context.Context, dataDir string, systems []string) (int, error) {
	st, err := store.OpenSQLite(ctx, dataDir)
	if err != nil {
		return 0, err
	}
	defer st.Close()
	n := 0
	err = st.View(ctx, func(tx store.Tx) error {
		n = 0
		for _, ent := range []string{Account, Contact} {
			for after := ""; ; {
				page, err := tx.GoldenPage(ent, after, 500)
				if err != nil {
					return err
				}
				for _, g := range page {
					if g.Deleted {
						continue
					}
					links, err := tx.Links(ent, g.GID)
					if err != nil {
						return err
					}
					for _, sys := range systems {
						if links[sys] == "" {
							n++
						}
					}
				}
				if len(page) < 500 {
					break
				}
				after = page[len(page)-1].GID
			}
		}
		for _, sys := range systems {
			due, err := tx.Due(sys, time.Now().Add(time.Hour), 0, 1000)
			if err != nil {
				return err
			}
			n += len(due)
		}
		return nil
	})
	return n, err
}

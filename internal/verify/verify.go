package verify

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/tandemhub/tandem/internal/config"
	"github.com/tandemhub/tandem/internal/connector"
	"github.com/tandemhub/tandem/internal/mapping"
	"github.com/tandemhub/tandem/internal/record"
	"github.com/tandemhub/tandem/internal/store"
)

// Diff is one disagreement between a system and the golden record.
type Diff struct {
	System, Entity, Key, GID string
	Field                    string
	Want, Got                any
	Problem                  string
}

func (d Diff) String() string {
	s := fmt.Sprintf("%s %s key=%q gid=%s: %s", d.System, d.Entity, d.Key, d.GID, d.Problem)
	if d.Field != "" {
		s += fmt.Sprintf(" field %q: golden %q, system %q", d.Field, mapping.Text(d.Want), mapping.Text(d.Got))
	}
	return s
}

// Compare reads every row of every mapped entity from every system and
// reports each difference from the golden records: rows tandem does not
// know, rows that should be deleted, missing rows and differing fields.
func Compare(ctx context.Context, cfg *config.Config, maps map[string]map[string]*mapping.Map,
	st store.Store, systems map[string]connector.Source) ([]Diff, error) {
	var diffs []Diff
	for _, ent := range cfg.EntityOrder() {
		golden, err := goldens(ctx, st, ent)
		if err != nil {
			return nil, err
		}
		for _, sys := range cfg.SystemNames() {
			m := maps[sys][ent]
			if m == nil || !routed(cfg, ent, sys) {
				continue
			}
			d, err := compareOne(ctx, st, systems[sys], m, sys, ent, golden)
			if err != nil {
				return nil, err
			}
			diffs = append(diffs, d...)
		}
	}
	return diffs, nil
}

func routed(cfg *config.Config, ent, sys string) bool {
	for _, s := range cfg.Captures(ent) {
		if s == sys {
			return true
		}
	}
	for _, from := range cfg.Captures(ent) {
		for _, s := range cfg.Targets(ent, from) {
			if s == sys {
				return true
			}
		}
	}
	return false
}

func goldens(ctx context.Context, st store.Store, ent string) (map[string]*store.Golden, error) {
	out := map[string]*store.Golden{}
	after := ""
	for {
		var page []store.Golden
		if err := st.View(ctx, func(tx store.Tx) error {
			var err error
			page, err = tx.GoldenPage(ent, after, 5000)
			return err
		}); err != nil {
			return nil, err
		}
		if len(page) == 0 {
			return out, nil
		}
		for i := range page {
			out[page[i].GID] = &page[i]
		}
		after = page[len(page)-1].GID
	}
}

func compareOne(ctx context.Context, st store.Store, src connector.Source, m *mapping.Map, sys, ent string,
	golden map[string]*store.Golden) ([]Diff, error) {
	var diffs []Diff
	seen := map[string]bool{}
	after := ""
	for {
		rows, next, err := src.Snapshot(ctx, ent, after, 2000)
		if err != nil {
			return nil, fmt.Errorf("read %s of %s: %w", ent, sys, err)
		}
		if len(rows) == 0 {
			break
		}
		after = next
		err = st.View(ctx, func(tx store.Tx) error {
			for _, r := range rows {
				d, gid, err := compareRow(tx, m, sys, ent, r, golden)
				if err != nil {
					return err
				}
				seen[gid] = true
				diffs = append(diffs, d...)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	gids := make([]string, 0, len(golden))
	for gid := range golden {
		gids = append(gids, gid)
	}
	sort.Strings(gids)
	for _, gid := range gids {
		g := golden[gid]
		if g.Deleted || seen[gid] {
			continue
		}
		if ok, _ := m.Accepts(g.Fields); !ok {
			continue
		}
		diffs = append(diffs, Diff{System: sys, Entity: ent, GID: gid, Problem: "missing in system"})
	}
	return diffs, nil
}

func compareRow(tx store.Tx, m *mapping.Map, sys, ent string, r record.Change, golden map[string]*store.Golden) ([]Diff, string, error) {
	gid, ok, err := tx.GID(ent, sys, r.Key)
	if err != nil {
		return nil, "", err
	}
	if !ok {
		return []Diff{{System: sys, Entity: ent, Key: r.Key, Problem: "row not known to tandem"}}, "", nil
	}
	g := golden[gid]
	if g == nil {
		return []Diff{{System: sys, Entity: ent, Key: r.Key, GID: gid, Problem: "linked but has no golden record"}}, gid, nil
	}
	if g.Deleted {
		return []Diff{{System: sys, Entity: ent, Key: r.Key, GID: gid, Problem: "should have been deleted"}}, gid, nil
	}
	canon, err := m.ToCanonical(r.Fields)
	if err != nil {
		return []Diff{{System: sys, Entity: ent, Key: r.Key, GID: gid, Problem: err.Error()}}, gid, nil
	}
	for f, pent := range m.Refs {
		if k, ok := canon[f].(string); ok && k != "" {
			pg, found, err := tx.GID(pent, sys, k)
			if err != nil {
				return nil, "", err
			}
			if found {
				canon[f] = pg
			} else {
				canon[f] = "unlinked:" + k
			}
		}
	}
	var diffs []Diff
	names := m.FieldNames()
	sort.Strings(names)
	for _, f := range names {
		if !record.Equal(canon[f], g.Fields[f]) && !(isEmpty(canon[f]) && isEmpty(g.Fields[f])) {
			diffs = append(diffs, Diff{System: sys, Entity: ent, Key: r.Key, GID: gid, Field: f,
				Want: g.Fields[f], Got: canon[f], Problem: "differs"})
		}
	}
	return diffs, gid, nil
}

func isEmpty(v any) bool { return v == nil || v == "" }

// Summary renders diffs for a person, at most max lines.
func Summary(diffs []Diff, max int) string {
	var b strings.Builder
	for i, d := range diffs {
		if i == max {
			fmt.Fprintf(&b, "... and %d more\n", len(diffs)-max)
			break
		}
		b.WriteString(d.String())
		b.WriteByte('\n')
	}
	return b.String()
}

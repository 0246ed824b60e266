package storetest

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tandemhub/tandem/internal/record"
	"github.com/tandemhub/tandem/internal/store"
)

func deref(d *store.DeadLetter) []store.DeadLetter {
	if d == nil {
		return nil
	}
	return []store.DeadLetter{*d}
}

// show prints values as two stores' answers compare: errors as "error"
// (their words may differ), times in UTC, maps in key order.
func show(vs ...any) string {
	parts := make([]string, len(vs))
	for i, v := range vs {
		switch x := v.(type) {
		case error:
			parts[i] = "error"
		case nil:
			parts[i] = "ok"
		case time.Time:
			parts[i] = stamp(x)
		case map[string]string:
			parts[i] = showMap(x)
		case []store.Holds:
			var hs []string
			for _, h := range x {
				hs = append(hs, fmt.Sprintf("%s/%s:%d@%s", h.System, h.Entity, h.N, stamp(h.Oldest)))
			}
			parts[i] = fmt.Sprint(hs)
		case []store.Pending:
			var ps []string
			for _, p := range x {
				ps = append(ps, fmt.Sprintf("%s/%s:%d@%s waiting %d parents %d@%s", p.System, p.Entity, p.N, stamp(p.Oldest),
					p.Waiting, p.Parents, stamp(p.OldestParent)))
			}
			parts[i] = fmt.Sprint(ps)
		case []store.Count:
			var cs []string
			for _, c := range x {
				cs = append(cs, fmt.Sprintf("%s/%s:%d,%d,%d,%d,%s,%s", c.System, c.Entity, c.Captured, c.Dropped, c.Delivered, c.Dead,
					stamp(c.LastCapture), stamp(c.LastDelivery)))
			}
			parts[i] = fmt.Sprint(cs)
		default:
			parts[i] = fmt.Sprint(v)
		}
	}
	return strings.Join(parts, " ")
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("15:04:05.000000000")
}

func showMap(m map[string]string) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, k+"="+m[k])
	}
	return "{" + strings.Join(parts, " ") + "}"
}

// showFields prints fields with numbers as numbers: a whole float and
// an integer of the same value are the same field (record.Equal).
func showFields(f record.Fields) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(f)) {
		v := f[k]
		switch x := v.(type) {
		case int64:
			v = strconv.FormatFloat(float64(x), 'g', -1, 64)
		case float64:
			v = strconv.FormatFloat(x, 'g', -1, 64)
		case string:
			v = strconv.Quote(x)
		}
		parts = append(parts, fmt.Sprintf("%s=%v", k, v))
	}
	return "{" + strings.Join(parts, " ") + "}"
}

func showGolden(g *store.Golden) string {
	if g == nil {
		return "none"
	}
	return fmt.Sprintf("%s/%s %s by %s deleted=%v v%d updated %s at %s flips %d peer %q", g.Entity, g.GID, showFields(g.Fields),
		showMap(g.Sources), g.Deleted, g.Ver, stamp(g.Updated), stamp(g.At), g.Flips, g.FlipPeer)
}

func showChange(c store.Change) string {
	return fmt.Sprintf("#%d %s/%s/%s %s %s gid %s v%d at %s %s %q logged %s", c.Seq, c.System, c.Entity, c.Key, c.Op,
		showFields(c.Fields), c.GID, c.Version, stamp(c.At), c.State, c.Note, stamp(c.Logged))
}

func showChanges(cs []store.Change) []string {
	var out []string
	for _, c := range cs {
		out = append(out, showChange(c))
	}
	return out
}

func showOutbound(os []store.Outbound) []string {
	var out []string
	for _, o := range os {
		out = append(out, fmt.Sprintf("#%d %s/%s/%s v%d gen %d tries %d next %s wait %q error %q created %s tried %v", o.Seq, o.System, o.Entity,
			o.GID, o.Ver, o.Gen, o.Attempts, stamp(o.NextAt), o.Wait, o.Error, stamp(o.Created), o.Tried))
	}
	return out
}

func showSent(ss []store.Sent) []string {
	var out []string
	for _, s := range ss {
		out = append(out, fmt.Sprintf("%s %s stamp %d", stamp(s.At), showFields(s.Fields), s.Stamp))
	}
	return out
}

func showDead(ds []store.DeadLetter) []string {
	var out []string
	for _, d := range ds {
		out = append(out, fmt.Sprintf("#%d %s %s/%s key %s gid %s %s %s field %s %q tries %d at %s %s", d.ID, d.Stage, d.System, d.Entity,
			d.Key, d.GID, d.Op, showFields(d.Fields), d.Field, d.Error, d.Attempts, stamp(d.At), d.State))
	}
	return out
}

func showSet(m map[string]bool) string {
	var ks []string
	for k, v := range m {
		if v {
			ks = append(ks, k)
		}
	}
	slices.Sort(ks)
	return strings.Join(ks, ",")
}

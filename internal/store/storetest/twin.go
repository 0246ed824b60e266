package storetest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tandemhub/tandem/internal/record"
	"github.com/tandemhub/tandem/internal/store"
	"github.com/tandemhub/tandem/internal/store/memory"
)

// call is one store call with its arguments drawn: it runs on a
// transaction and says what it got, in a form two stores' answers can be
// compared in.
type call struct {
	name string
	do   func(store.Tx) string
}

// Random sequences of calls, on the store under test and on the
// in-memory twin side by side, transaction by transaction (some rolled
// back), give the same answers. The first difference fails the test
// with the calls that led to it.
func testSameAnswersAsTheTwin(t *testing.T, open Opener) {
	seeds := 40
	if testing.Short() {
		seeds = 10
	}
	if n, err := strconv.Atoi(os.Getenv("TANDEM_STORETEST_SEEDS")); err == nil && n > 0 {
		seeds = n // a longer hunt: TANDEM_STORETEST_SEEDS=2000 go test -run Acceptance ./internal/store/...
	}
	for seed := range uint64(seeds) {
		s, _ := open(t)
		twin := memory.New()
		g := &gen{rng: rand.New(rand.NewPCG(seed, 0x73746f7265))}
		var story []string
		for txn := range 40 {
			calls := make([]call, 1+g.rng.IntN(10))
			for i := range calls {
				calls[i] = g.call()
			}
			rollback := g.rng.IntN(6) == 0
			got := run(s, calls, rollback)
			want := run(twin, calls, rollback)
			for i := range calls {
				story = append(story, fmt.Sprintf("tx %d: %s → %s", txn, calls[i].name, want[i]))
				if i < len(got) && got[i] != want[i] {
					t.Fatalf("seed %d: the store answered %s\nwith %s\nwhere the in-memory twin answered\n     %s\nafter:\n%s",
						seed, calls[i].name, got[i], want[i], strings.Join(story[max(0, len(story)-80):], "\n"))
				}
			}
			if len(got) != len(want) {
				t.Fatalf("seed %d: the store ran %d calls, the twin %d", seed, len(got), len(want))
			}
			if rollback {
				story = append(story, fmt.Sprintf("tx %d rolled back", txn))
			}
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// run runs calls in one Update and returns their answers.
func run(s store.Store, calls []call, rollback bool) []string {
	var out []string
	err := s.Update(context.Background(), func(tx store.Tx) error {
		for _, c := range calls {
			out = append(out, c.do(tx))
		}
		if rollback {
			return errRollback
		}
		return nil
	})
	if err != nil && !errors.Is(err, errRollback) {
		out = append(out, "commit: "+err.Error())
	}
	return out
}

// gen draws calls over a few entities, systems, keys and records, so
// that they meet often.
type gen struct {
	rng   *rand.Rand
	fresh int // records made so far by NewLinkAt
}

func (g *gen) pick(xs ...string) string { return xs[g.rng.IntN(len(xs))] }
func (g *gen) entity() string           { return g.pick("account", "contact") }
func (g *gen) system() string           { return g.pick("crm", "erp", "shop") }
func (g *gen) key() string              { return g.pick("1", "2", "3", "4") }
func (g *gen) gid() string              { return g.pick("G1", "G2", "G3", "G4") }
func (g *gen) at() time.Time            { return t0.Add(time.Duration(g.rng.IntN(1000)) * time.Millisecond) }
func (g *gen) n(hi int) int64           { return int64(g.rng.IntN(hi)) }

func (g *gen) fields() record.Fields {
	f := record.Fields{}
	for _, k := range []string{"name", "n", "x", "ok", "gone"} {
		if g.rng.IntN(2) == 0 {
			continue
		}
		switch k {
		case "name":
			f[k] = g.pick("Acme", "Globex", "Ünïcode", "")
		case "n":
			f[k] = g.n(5)
		case "x":
			f[k] = g.pick("1.5", "2", "0.25") // as float64 below
			v, _ := strconv.ParseFloat(f[k].(string), 64)
			f[k] = v
		case "ok":
			f[k] = g.rng.IntN(2) == 0
		case "gone":
			f[k] = nil
		}
	}
	return f
}

func (g *gen) outbound() store.Outbound {
	o := store.Outbound{Seq: 1 + g.n(8), Ver: g.n(6)}
	if g.rng.IntN(2) == 0 {
		o.Attempts, o.NextAt, o.Error, o.Tried = int(g.n(4)), g.at(), g.pick("", "timeout"), g.rng.IntN(2) == 0
		o.Wait = g.pick("", "", "waiting for its account")
	}
	return o
}

// call draws one call, reads and writes about evenly.
func (g *gen) call() call {
	e, sys, key, gid := g.entity(), g.system(), g.key(), g.gid()
	c := func(format string, do func(store.Tx) string, args ...any) call {
		return call{name: fmt.Sprintf(format, args...), do: do}
	}
	switch g.rng.IntN(40) {
	case 0:
		return c("GID(%s %s %s)", func(tx store.Tx) string { return show(tx.GID(e, sys, key)) }, e, sys, key)
	case 1:
		return c("Key(%s %s %s)", func(tx store.Tx) string { return show(tx.Key(e, gid, sys)) }, e, gid, sys)
	case 2:
		return c("Links(%s %s)", func(tx store.Tx) string { return show(tx.Links(e, gid)) }, e, gid)
	case 3:
		return c("LinkedKeys(%s %s)", func(tx store.Tx) string {
			ks, err := tx.LinkedKeys(e, sys)
			slices.Sort(ks)
			return show(ks, err)
		}, e, sys)
	case 4:
		return c("LinkedAt(%s %s %s)", func(tx store.Tx) string { return show(tx.LinkedAt(e, sys, key)) }, e, sys, key)
	case 5, 6, 7:
		at := g.at()
		return c("PutLinkAt(%s %s %s → %s, %s)", func(tx store.Tx) string { return show(tx.PutLinkAt(e, sys, key, gid, at)) }, e, sys, key, gid, stamp(at))
	case 8:
		g.fresh++
		fresh := fmt.Sprintf("N%d", g.fresh)
		return c("NewLinkAt(%s %s %s → %s)", func(tx store.Tx) string { return show(tx.NewLinkAt(e, sys, key, fresh, t0)) }, e, sys, key, fresh)
	case 9:
		at := g.at()
		return c("Unlink(%s %s %s, %s)", func(tx store.Tx) string { return show(tx.Unlink(e, sys, key, at)) }, e, sys, key, stamp(at))
	case 10:
		return c("Bury(%s %s %s %s)", func(tx store.Tx) string { return show(tx.Bury(e, sys, key, gid, t0)) }, e, sys, key, gid)
	case 11:
		return c("Tombstone(%s %s %s)", func(tx store.Tx) string { return show(tx.Tombstone(e, sys, key)) }, e, sys, key)
	case 12:
		return c("Preload(%s %s %s)", func(tx store.Tx) string { return show(tx.Preload(e, sys, []string{key, "1"})) }, e, sys, key)
	case 13:
		return c("PreloadGIDs(%s %s)", func(tx store.Tx) string { return show(tx.PreloadGIDs(e, []string{gid, "G1"})) }, e, gid)
	case 14:
		other := g.key()
		return c("PutAlias/Alias(%s %s)", func(tx store.Tx) string {
			return show(tx.PutAlias(e, key, gid)) + " " + show(tx.Alias(e, other))
		}, e, key)
	case 15:
		return c("PutNatural/DeleteNatural/Natural(%s %s)", func(tx store.Tx) string {
			return show(tx.PutNatural(e, key, gid)) + " " + show(tx.DeleteNatural(e, "2")) + " " + show(tx.Natural(e, "1"))
		}, e, key)
	case 16, 17:
		gold := &store.Golden{Entity: e, GID: gid, Fields: g.fields(), Sources: map[string]string{"name": sys},
			Deleted: g.rng.IntN(5) == 0, Ver: g.n(9), Updated: g.at(), At: g.at(), Flips: int(g.n(3))}
		return c("PutGolden(%s)", func(tx store.Tx) string { return show(tx.PutGolden(gold)) }, showGolden(gold))
	case 18:
		return c("Golden(%s %s)", func(tx store.Tx) string {
			gold, err := tx.Golden(e, gid)
			return show(showGolden(gold), err)
		}, e, gid)
	case 19:
		return c("GoldenPage(%s after G1)", func(tx store.Tx) string {
			page, err := tx.GoldenPage(e, "G1", 2)
			var out []string
			for i := range page {
				out = append(out, showGolden(&page[i]))
			}
			return show(out, err)
		}, e)
	case 20, 21:
		ch := &store.Change{Change: record.Change{System: sys, Entity: e, Key: key, Op: record.Op(1 + g.n(2)), Fields: g.fields(),
			GID: gid, Version: g.n(100), At: g.at()}, State: store.State(g.n(4)), Note: g.pick("", "why"), Logged: g.at()}
		return c("Append(%s)", func(tx store.Tx) string {
			c := *ch
			err := tx.Append(&c)
			return show(c.Seq, err)
		}, showChange(*ch))
	case 22:
		seq, st := 1+g.n(10), store.State(g.n(4))
		return c("SetState(%d %s)", func(tx store.Tx) string { return show(tx.SetState(seq, st, "set")) }, seq, st)
	case 23:
		return c("HeldChanges/Holds/History(%s %s)", func(tx store.Tx) string {
			held, err := tx.HeldChanges(3)
			hs, err2 := tx.Holds()
			hist, err3 := tx.History(e, gid)
			return show(showChanges(held), err) + " " + show(hs, err2) + " " + show(showChanges(hist), err3)
		}, e, gid)
	case 24, 25, 26:
		ver, at := g.n(6), g.at()
		return c("Enqueue(%s %s %s v%d)", func(tx store.Tx) string { return show(tx.Enqueue(sys, e, gid, ver, at)) }, sys, e, gid, ver)
	case 27:
		ver := g.n(6)
		return c("Touch(%s %s %s v%d)", func(tx store.Tx) string { return show(tx.Touch(sys, e, gid, ver)) }, sys, e, gid, ver)
	case 28, 29:
		after := g.n(3)
		now := g.at()
		return c("Due(%s after %d, %s)", func(tx store.Tx) string {
			d, err := tx.Due(sys, now, after, 3)
			return show(showOutbound(d), err)
		}, sys, after, stamp(now))
	case 30:
		o := g.outbound()
		return c("Done(%+v)", func(tx store.Tx) string { return show(tx.Done(o)) }, o)
	case 31:
		o := g.outbound()
		return c("Defer(%+v)", func(tx store.Tx) string { return show(tx.Defer(o)) }, o)
	case 32:
		o, ver := g.outbound(), g.n(6)
		switch g.rng.IntN(3) {
		case 0:
			return c("Settle(%s %s %s v%d)", func(tx store.Tx) string { return show(tx.Settle(sys, e, gid, ver)) }, sys, e, gid, ver)
		case 1:
			return c("Unsettle()", func(tx store.Tx) string { return show(tx.Unsettle()) })
		}
		return c("Drop(seq %d)", func(tx store.Tx) string { return show(tx.Drop(o)) }, o.Seq)
	case 33:
		return c("Backlog/Waiting()", func(tx store.Tx) string {
			b, err := tx.Backlog()
			w, err2 := tx.Waiting(3)
			return show(b, err) + " " + show(showOutbound(w), err2)
		})
	case 34:
		f, at, stampv := g.fields(), g.at(), g.n(50)
		return c("MarkSent/MarkAnswered(%s %s %s)", func(tx store.Tx) string {
			r := show(tx.MarkSent(sys, e, gid, f, at))
			if stampv%2 == 0 {
				r += " " + show(tx.MarkAnswered(sys, e, gid, stampv))
			}
			return r
		}, sys, e, gid)
	case 35:
		clearToo := g.rng.IntN(3) == 0
		return c("Sent/ClearSent(%s %s %s)", func(tx store.Tx) string {
			sent, err := tx.Sent(sys, e, gid)
			r := show(showSent(sent), err)
			if clearToo {
				r += " " + show(tx.ClearSent(sys, e, gid))
			}
			return r
		}, sys, e, gid)
	case 36:
		d := &store.DeadLetter{Stage: store.Stage(g.pick(string(store.StageCapture), string(store.StageDeliver))), System: sys, Entity: e,
			Key: key, GID: gid, Op: record.Upsert, Fields: g.fields(), Field: "name", Error: "bad", Attempts: int(g.n(3)), At: g.at()}
		return c("AddDead(%s %s %s %s)", func(tx store.Tx) string {
			x := *d
			err := tx.AddDead(&x)
			return show(x.ID, x.State, err)
		}, d.Stage, sys, key, gid)
	case 37:
		id, st := 1+g.n(5), store.DeadState(g.pick("open", "retry", "retried", "discarded"))
		stage := store.Stage(g.pick(string(store.StageCapture), string(store.StageDeliver)))
		return c("SetDeadState(%d %s)/ResolveDead(%s)", func(tx store.Tx) string {
			which := key
			if stage == store.StageDeliver {
				which = gid
			}
			return show(tx.SetDeadState(id, st)) + " " + show(tx.ResolveDead(stage, sys, e, which))
		}, id, st, stage)
	case 38:
		id, st := 1+g.n(5), store.DeadState(g.pick("", "open", "resolved"))
		return c("DeadLetters(%s)/DeadLetter(%d)/HasOpenDead", func(tx store.Tx) string {
			ds, err := tx.DeadLetters(st, 3)
			d, err2 := tx.DeadLetter(id)
			o1, err3 := tx.HasOpenDead(store.StageCapture)
			o2, err4 := tx.HasOpenDead(store.StageDeliver)
			return show(showDead(ds), err) + " " + show(showDead(deref(d)), err2 != nil) + " " + show(o1, o2, err3, err4)
		}, st, id)
	default:
		v := strconv.Itoa(int(g.n(9)))
		cnt := store.Count{System: sys, Entity: e, Captured: g.n(3), Dropped: g.n(2), Delivered: g.n(3), Dead: g.n(2),
			LastCapture: g.at(), LastDelivery: g.at()}
		return c("PutCursor/AddCount(%s %s)", func(tx store.Tx) string {
			r := show(tx.PutCursor(sys, "c", v)) + " " + show(tx.AddCount(cnt))
			cur, ok, err := tx.Cursor(sys, "c")
			counts, err2 := tx.Counts()
			return r + " " + show(cur, ok, err) + " " + show(counts, err2)
		}, sys, v)
	}
}

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
	return fmt.Sprintf("%s/%s %s by %s deleted=%v v%d updated %s at %s flips %d", g.Entity, g.GID, showFields(g.Fields),
		showMap(g.Sources), g.Deleted, g.Ver, stamp(g.Updated), stamp(g.At), g.Flips)
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
		out = append(out, fmt.Sprintf("#%d %s/%s/%s v%d tries %d next %s wait %q error %q created %s tried %v", o.Seq, o.System, o.Entity,
			o.GID, o.Ver, o.Attempts, stamp(o.NextAt), o.Wait, o.Error, stamp(o.Created), o.Tried))
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

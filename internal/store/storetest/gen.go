package storetest

import (
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/tandemhub/tandem/internal/record"
	"github.com/tandemhub/tandem/internal/store"
)

func (g *gen) pick(xs ...string) string { return xs[g.rng.IntN(len(xs))] }

func (g *gen) entity() string { return g.pick("account", "contact") }

func (g *gen) system() string { return g.pick("crm", "erp", "shop") }

func (g *gen) key() string { return g.pick("1", "2", "3", "4") }

func (g *gen) gid() string { return g.pick("G1", "G2", "G3", "G4") }

func (g *gen) at() time.Time { return t0.Add(time.Duration(g.rng.IntN(1000)) * time.Millisecond) }

func (g *gen) n(hi int) int64 { return int64(g.rng.IntN(hi)) }

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

// read is the i-th delivery from the end that the current store's Due
// calls read, if there is one.
func (g *gen) read(i int) (store.Outbound, bool) {
	seen := *g.seen
	if i >= len(seen) {
		return store.Outbound{Seq: int64(i + 1)}, false
	}
	return seen[len(seen)-1-i], true
}

// call draws one call, reads and writes about evenly.
func (g *gen) call() call {
	n := g.rng.IntN(40)
	a := args{e: g.entity(), sys: g.system(), key: g.key(), gid: g.gid()}
	switch {
	case n < 16:
		return g.identityCall(n, a)
	case n < 24:
		return g.recordCall(n, a)
	case n < 36:
		return g.queueCall(n, a)
	}
	return g.dlqCall(n, a)
}

func named(format string, do func(store.Tx) string, as ...any) call {
	return call{name: fmt.Sprintf(format, as...), do: do}
}

// identityCall draws a call of the identity map, tombstones, aliases, natural keys or preloads (n < 16).
func (g *gen) identityCall(n int, a args) call {
	e, sys, key, gid := a.e, a.sys, a.key, a.gid
	c := named
	switch n {
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
	}
	panic("no call drawn")
}

// recordCall draws a call of golden records or the change log (16 ≤ n < 24).
func (g *gen) recordCall(n int, a args) call {
	e, sys, key, gid := a.e, a.sys, a.key, a.gid
	c := named
	switch n {
	case 16, 17:
		gold := &store.Golden{Entity: e, GID: gid, Fields: g.fields(), Sources: map[string]string{"name": sys},
			Deleted: g.rng.IntN(5) == 0, Ver: g.n(9), Updated: g.at(), At: g.at(), Flips: int(g.n(3)), FlipPeer: g.pick("", "a", "b")}
		return c("PutGolden(%s)", func(tx store.Tx) string { return show(tx.PutGolden(gold)) }, showGolden(gold))
	case 18:
		if g.rng.IntN(2) == 0 {
			return c("Heads(%s %s G1 G2)", func(tx store.Tx) string {
				heads, err := tx.Heads(e, []string{gid, "G1", "G2"})
				return show(fmt.Sprint(heads), err)
			}, e, gid)
		}
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
			hk, err4 := tx.HeldKeys(sys, e, []string{"1", "2", "3", "4", "1"})
			return show(showChanges(held), err) + " " + show(hs, err2) + " " + show(showChanges(hist), err3) + " " +
				show(showSet(hk), err4)
		}, e, gid)
	}
	panic("no call drawn")
}

// queueCall draws a call of the outbound queue, its backlog or its sent notes (24 ≤ n < 36).
func (g *gen) queueCall(n int, a args) call {
	e, sys, gid := a.e, a.sys, a.gid
	c := named
	switch n {
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
			*g.seen = append(*g.seen, d...)
			return show(showOutbound(d), err)
		}, sys, after, stamp(now))
	case 30:
		i := g.rng.IntN(8)
		return c("Done(read #%d)", func(tx store.Tx) string {
			o, ok := g.read(i)
			return show(ok, tx.Done(o))
		}, i)
	case 31:
		i, d := g.rng.IntN(8), g.outbound()
		return c("Defer(read #%d, %+v)", func(tx store.Tx) string {
			o, ok := g.read(i)
			o.Attempts, o.NextAt, o.Error, o.Tried, o.Wait = d.Attempts, d.NextAt, d.Error, d.Tried, d.Wait
			return show(ok, tx.Defer(o))
		}, i, d)
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
	}
	panic("no call drawn")
}

// dlqCall draws a call of dead letters, cursors or counters (36 ≤ n).
func (g *gen) dlqCall(n int, a args) call {
	e, sys, key, gid := a.e, a.sys, a.key, a.gid
	c := named
	switch n {
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
	default: // 39
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

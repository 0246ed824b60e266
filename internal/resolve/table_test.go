package resolve_test

import (
	"strings"
	"testing"
	"time"

	"github.com/tandemhub/tandem/internal/record"
	"github.com/tandemhub/tandem/internal/store"
)

// outcome is what resolving one change did, as a table case states it.
// Empty fields are not checked.
type outcome struct {
	state   string   // the change in the log: resolved, dropped, held or dead
	note    string   // part of its note (dropped), or of the dead letter's error
	field   string   // the dead letter's field
	name    string   // the record's golden name afterwards
	deleted bool     // the record is deleted afterwards
	queued  []string // the systems the record is queued for, in order a, b
	records int      // how many account records exist afterwards
	linked  string   // "system:key=gid-of-case" the key is linked to the case's record
}

// contact is a's or b's contact key with name, pointing at account key acc.
func contact(system, key string, at time.Time, name, acc string) record.Change {
	f := record.Fields{"name": name, "account_id": acc}
	if system == "b" {
		f = record.Fields{"Name": name, "AccountId": acc}
	}
	return record.Change{System: system, Entity: "contact", Key: key, Op: record.Upsert, Fields: f, At: at, Version: at.UnixNano()}
}

// with sets what a case's change says beyond its fields.
func with(c record.Change, fn func(*record.Change)) record.Change {
	fn(&c)
	return c
}

// caseT0 is the clock the case tables' changes are stamped from, a
// minute before the rig's.
var caseT0 = time.Date(2026, 3, 1, 11, 59, 0, 0, time.UTC)

// caseAt is s seconds after caseT0.
func caseAt(s float64) time.Time { return caseT0.Add(time.Duration(s * float64(time.Second))) }

// caseAcme is system's account key Acme, changed at caseAt(s).
func caseAcme(system, key string, s float64) record.Change {
	return account(system, key, caseAt(s), "Acme", "acme@example.com", "gold")
}

// linkedAcme makes account A1 in a, linked in b as B1 since caseT0,
// delivered to both, and returns its record.
func (g *rig) linkedAcme() string {
	g.resolve(caseAcme("a", "A1", 0))
	gid := g.gid("account", "a", "A1")
	g.update(func(tx store.Tx) error { return tx.PutLinkAt("account", "b", "B1", gid, caseT0) })
	g.delivered("a")
	g.delivered("b")
	return gid
}

// Resolving one change, case by case, from a state a case sets up: what
// the log says of the change, the golden record, the queue, the links and
// the dead letters after it. No case waits for anything: the resolver's
// clock is the rig's, and the store answers at once.
func TestResolveTable(t *testing.T) {
	at, acme, both := caseAt, caseAcme, (*rig).linkedAcme
	for _, tc := range []struct {
		name   string
		opts   string              // the account entity's options
		before func(g *rig) string // the state; returns the case's record, if any
		change func(g *rig, gid string) record.Change
		entity string // of the change; account when empty
		want   outcome
	}{
		// New records and no-ops.
		{name: "a new account goes to the other system",
			change: func(*rig, string) record.Change { return acme("a", "A1", 0) },
			want:   outcome{state: "resolved", name: "Acme", queued: []string{"b"}, records: 1}},
		{name: "the same content again is a no-op",
			before: both, change: func(*rig, string) record.Change { return acme("a", "A1", 1) },
			want: outcome{state: "dropped", note: "no change", name: "Acme", records: 1}},
		{name: "an update goes to the other system",
			before: both, change: func(*rig, string) record.Change {
				return account("a", "A1", at(1), "Acme Group", "acme@example.com", "gold")
			},
			want: outcome{state: "resolved", name: "Acme Group", queued: []string{"b"}}},
		{name: "an update of a field the other system maps goes there too",
			before: both, change: func(*rig, string) record.Change {
				return account("b", "B1", at(1), "Acme", "acme@example.com", "silver")
			},
			want: outcome{state: "resolved", queued: []string{"a"}}},

		// Which change wins.
		{name: "a change older than the record's last loses, and its system gets the record back",
			before: func(g *rig) string {
				gid := both(g)
				g.resolve(account("a", "A1", at(2), "Acme Group", "acme@example.com", "gold"))
				g.delivered("b")
				return gid
			},
			change: func(*rig, string) record.Change {
				return account("b", "B1", at(1), "Acme B", "acme@example.com", "gold")
			},
			want: outcome{state: "dropped", note: "older than", name: "Acme Group", queued: []string{"b"}}},
		{name: "a change of unknown time loses to one of known time",
			before: both,
			change: func(*rig, string) record.Change {
				return with(account("b", "B1", time.Time{}, "Acme B", "acme@example.com", "gold"), func(c *record.Change) { c.Version = 0 })
			},
			want: outcome{state: "dropped", note: "older than", name: "Acme", queued: []string{"b"}}},
		{name: "a newer change wins whole",
			before: both, change: func(*rig, string) record.Change {
				return account("b", "B1", at(5), "Acme B", "acme@example.com", "silver")
			},
			want: outcome{state: "resolved", name: "Acme B", queued: []string{"a"}}},
		{name: "a read of tandem's own overwrite at the record's very time loses",
			before: func(g *rig) string {
				gid := both(g)
				g.resolve(account("b", "B1", at(3), "Acme B", "acme@example.com", "gold"))
				g.delivered("a")
				return gid
			},
			change: func(*rig, string) record.Change {
				return account("b", "B1", at(3), "Acme B2", "acme@example.com", "gold")
			},
			want: outcome{state: "dropped", note: "older than", name: "Acme B"}},
		{name: "merge: field takes only the columns a change names",
			opts: "merge: field", before: both,
			change: func(*rig, string) record.Change {
				return with(account("b", "B1", at(1), "Stale Name", "acme@example.com", "silver"), func(c *record.Change) { c.Changed = []string{"Tier"} })
			},
			want: outcome{state: "resolved", name: "Acme", queued: []string{"a", "b"}}},
		{name: "merge: field with no mapped column changed sends nothing",
			opts: "merge: field", before: both,
			change: func(*rig, string) record.Change {
				return with(acme("b", "B1", 1), func(c *record.Change) { c.Changed = []string{} })
			},
			want: outcome{state: "dropped", note: "no change", name: "Acme"}},

		// Echoes.
		{name: "tandem's own write come back is dropped",
			before: both, change: func(*rig, string) record.Change {
				return with(account("b", "B1", at(2), "Acme", "acme@example.com", "gold"), func(c *record.Change) { c.Echo = true })
			},
			want: outcome{state: "dropped", note: "tandem's own write", name: "Acme"}},
		{name: "an echo of an older version sends the record again",
			before: func(g *rig) string {
				gid := both(g)
				g.resolve(account("a", "A1", at(2), "Acme Group", "acme@example.com", "gold"))
				return gid
			},
			change: func(g *rig, gid string) record.Change {
				return with(acme("b", "B1", 3), func(c *record.Change) { c.Echo, c.Base = true, 1 })
			},
			want: outcome{state: "dropped", note: "come back after version", name: "Acme Group", queued: []string{"b"}}},
		{name: "an echo of a create not yet linked changes nothing",
			before: func(g *rig) string { g.resolve(acme("a", "A1", 0)); return g.gid("account", "a", "A1") },
			change: func(*rig, string) record.Change {
				return with(acme("b", "B7", 1), func(c *record.Change) { c.Echo = true })
			},
			want: outcome{state: "dropped", note: "tandem's own write", records: 1}},

		// Deletes.
		{name: "a delete goes to the other system",
			before: both, change: func(*rig, string) record.Change { return deleted("a", "account", "A1", at(1)) },
			want: outcome{state: "resolved", deleted: true, queued: []string{"b"}}},
		{name: "a change of a record deleted elsewhere: the delete wins",
			before: func(g *rig) string {
				gid := both(g)
				g.resolve(deleted("a", "account", "A1", at(2)))
				g.delivered("b")
				return gid
			},
			change: func(*rig, string) record.Change {
				return account("b", "B1", at(3), "Acme B", "acme@example.com", "gold")
			},
			want: outcome{state: "dropped", note: "delete wins", deleted: true, queued: []string{"b"}}},
		{name: "a read from before a delete, resolved after it, is dropped",
			before: func(g *rig) string {
				gid := both(g)
				g.resolve(deleted("b", "account", "B1", at(2)))
				return gid
			},
			change: func(*rig, string) record.Change { return acme("b", "B1", 1) },
			want:   outcome{state: "dropped", note: "read before the record went", deleted: true, records: 1}},
		{name: "a delete of a key never linked deletes nothing",
			before: both, change: func(*rig, string) record.Change { return deleted("b", "account", "B9", at(1)) },
			want: outcome{deleted: false, name: "Acme", records: 1}},
		{name: "a delete carrying another record's id deletes that one",
			before: func(g *rig) string {
				old := both(g)
				g.resolve(account("a", "A2", at(1), "Globex", "globex@example.com", "silver"))
				fresh := g.gid("account", "a", "A2")
				g.update(func(tx store.Tx) error { return tx.PutLinkAt("account", "b", "B1", fresh, time.Now()) })
				g.delivered("a")
				g.delivered("b")
				return old
			},
			change: func(_ *rig, old string) record.Change {
				return with(deleted("b", "account", "B1", at(2)), func(c *record.Change) { c.GID = old })
			},
			want: outcome{state: "resolved", deleted: true, queued: []string{"a"}, records: 2}},

		// Identity.
		{name: "an unknown key with a known natural key is that record",
			before: func(g *rig) string { g.resolve(acme("a", "A1", 0)); return g.gid("account", "a", "A1") },
			change: func(*rig, string) record.Change { return acme("b", "B5", 1) },
			want:   outcome{name: "Acme", records: 1, linked: "b:B5"}},
		{name: "a natural key already linked in the system under another key is a new record",
			before: both, change: func(*rig, string) record.Change { return acme("b", "B5", 1) },
			want: outcome{state: "resolved", records: 2}},
		{name: "a row carrying a known record's id is that record",
			before: func(g *rig) string { g.resolve(acme("a", "A1", 0)); return g.gid("account", "a", "A1") },
			change: func(_ *rig, gid string) record.Change {
				return with(account("b", "B6", at(1), "Acme Inc", "acme@example.com", "gold"), func(c *record.Change) { c.GID = gid })
			},
			want: outcome{name: "Acme Inc", records: 1, linked: "b:B6"}},
		{name: "a row carrying a known record's id under another natural key is another record",
			before: func(g *rig) string { g.resolve(acme("a", "A1", 0)); return g.gid("account", "a", "A1") },
			change: func(_ *rig, gid string) record.Change {
				return with(account("b", "B6", at(1), "Acme", "other@example.com", "gold"), func(c *record.Change) { c.GID = gid })
			},
			want: outcome{name: "Acme", records: 2}},
		{name: "a row carrying an id tandem does not know keeps it",
			change: func(*rig, string) record.Change {
				return with(acme("b", "B6", 1), func(c *record.Change) { c.GID = "01EARLIERSTORE0000000000000" })
			},
			want: outcome{state: "resolved", records: 1}},
		{name: "a row its users inserted under a linked key is a new record; the old one is gone",
			before: both, change: func(*rig, string) record.Change {
				return with(account("b", "B1", at(2), "Initech", "initech@example.com", "silver"), func(c *record.Change) { c.Inserted = true })
			},
			want: outcome{deleted: true, queued: []string{"a"}, records: 2}},
		{name: "another natural key under a linked key of an API is a new record",
			before: both, change: func(*rig, string) record.Change {
				return account("b", "B1", at(2), "Initech", "initech@example.com", "silver")
			},
			want: outcome{deleted: true, queued: []string{"a"}, records: 2}},
		{name: "a read from before the key was linked, of another record under it, is no news of either",
			before: both, change: func(*rig, string) record.Change {
				// An earlier record of b's users had the key; they deleted
				// it, and b gave the key to the record tandem made there.
				return account("b", "B1", at(-1), "Initech", "initech@example.com", "silver")
			},
			want: outcome{state: "dropped", note: "before tandem's record got the key", name: "Acme", records: 1}},
		{name: "a read from before the key was linked, carrying another record's id, is no news of either",
			before: func(g *rig) string {
				gid := both(g)
				g.resolve(account("a", "A2", at(0.5), "Globex", "globex@example.com", "silver"))
				return gid
			},
			change: func(g *rig, _ string) record.Change {
				other := g.gid("account", "a", "A2")
				return with(account("b", "B1", at(-1), "Globex", "globex@example.com", "silver"), func(c *record.Change) { c.GID = other })
			},
			want: outcome{state: "dropped", note: "before tandem's record got the key", name: "Acme", records: 2}},

		// References.
		{name: "a contact whose account tandem does not know yet is held",
			entity: "contact", change: func(*rig, string) record.Change { return contact("a", "K1", at(1), "Kid", "A9") },
			want: outcome{state: "held"}},
		{name: "a later change of a held contact waits behind it",
			entity: "contact",
			before: func(g *rig) string { g.resolve(contact("a", "K1", at(1), "Kid", "A9")); return "" },
			change: func(*rig, string) record.Change { return contact("a", "K1", at(2), "Kid 2", "A9") },
			want:   outcome{state: "held", note: "waiting behind"}},
		{name: "a contact of a known account goes through with the account's id",
			entity: "contact", before: func(g *rig) string { both(g); return "" },
			change: func(*rig, string) record.Change { return contact("a", "K1", at(1), "Kid", "A1") },
			want:   outcome{state: "resolved", queued: []string{"b"}}},
		{name: "a contact of a deleted account goes through without it, and its system gets it back",
			entity: "contact",
			before: func(g *rig) string {
				both(g)
				g.resolve(deleted("a", "account", "A1", at(1)))
				return ""
			},
			change: func(*rig, string) record.Change { return contact("a", "K1", at(2), "Kid", "A1") },
			want:   outcome{state: "resolved", queued: []string{"a", "b"}}},

		// Bad input.
		{name: "a value the schema refuses is a dead letter naming the field",
			before: both, change: func(*rig, string) record.Change {
				return account("a", "A1", at(1), "Acme", "acme@example.com", "platinum")
			},
			want: outcome{state: "dead", field: "tier", name: "Acme"}},
		{name: "a value of the wrong type is a dead letter naming the field",
			change: func(*rig, string) record.Change {
				return record.Change{System: "a", Entity: "account", Key: "A3", Op: record.Upsert, At: at(1),
					Fields: record.Fields{"name": int64(7), "email": "x@example.com", "tier": "gold"}}
			},
			want: outcome{state: "dead", field: "name"}},
		{name: "a later good change resolves the record's dead letter",
			before: func(g *rig) string {
				gid := both(g)
				g.resolve(account("a", "A1", at(1), "Acme", "acme@example.com", "platinum"))
				return gid
			},
			change: func(*rig, string) record.Change {
				return account("a", "A1", at(2), "Acme Fixed", "acme@example.com", "silver")
			},
			want: outcome{state: "resolved", name: "Acme Fixed", queued: []string{"b"}}},

		// Reading back what tandem sent.
		{name: "a system that reads tandem's writes back: a read of a write sent before a restart is an echo",
			before: func(g *rig) string {
				g.r.ReadsBack = map[string]bool{"b": true}
				gid := both(g)
				g.sent(gid, at(2), "Acme Group", "silver")
				g.r.Started = time.Now().Add(time.Minute)
				return gid
			},
			change: func(*rig, string) record.Change {
				return account("b", "B1", at(2), "Acme Group", "acme@example.com", "silver")
			},
			want: outcome{state: "dropped", note: "tandem's own write", name: "Acme Group"}},
		{name: "the same system's users saving other content is a change",
			before: func(g *rig) string {
				g.r.ReadsBack = map[string]bool{"b": true}
				gid := both(g)
				g.sent(gid, at(2), "Acme Group", "silver")
				g.r.Started = time.Now().Add(time.Minute)
				return gid
			},
			change: func(*rig, string) record.Change {
				return account("b", "B1", at(3), "Acme Users", "acme@example.com", "silver")
			},
			want: outcome{state: "resolved", name: "Acme Users"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := newRig(t, tc.opts)
			var gid string
			if tc.before != nil {
				gid = tc.before(g)
			}
			c := tc.change(g, gid)
			g.resolve(c)
			entity := tc.entity
			if entity == "" {
				entity = "account"
			}
			if gid == "" {
				gid = g.gid(entity, c.System, c.Key)
			}
			g.check(t, entity, gid, c, tc.want)
		})
	}
}

// check holds what resolving c did against want.
func (g *rig) check(t *testing.T, entity, gid string, c record.Change, want outcome) {
	t.Helper()
	var dead []store.DeadLetter
	var held []store.Change
	var hist []store.Change
	g.view(func(tx store.Tx) error {
		var err error
		if dead, err = tx.DeadLetters(store.DeadOpen, 10); err != nil {
			return err
		}
		if held, err = tx.HeldChanges(10); err != nil {
			return err
		}
		if gid != "" {
			hist, err = tx.History(entity, gid)
		}
		return err
	})
	switch want.state {
	case "dead":
		if len(dead) != 1 {
			t.Fatalf("%d open dead letters, want 1: %+v", len(dead), dead)
		}
		if want.field != "" && dead[0].Field != want.field {
			t.Errorf("the dead letter names field %q, want %q (%s)", dead[0].Field, want.field, dead[0].Error)
		}
		for _, s := range []string{c.System, c.Entity, c.Key} {
			if !strings.Contains(dead[0].Error, s) {
				t.Errorf("the dead letter %q does not name %s", dead[0].Error, s)
			}
		}
	case "held":
		if len(held) == 0 || held[len(held)-1].Key != c.Key {
			t.Fatalf("the change is not held: held %+v", held)
		}
		if !strings.Contains(held[len(held)-1].Note, want.note) {
			t.Errorf("held with note %q, want it to say %q", held[len(held)-1].Note, want.note)
		}
	case "":
	default:
		if len(dead) > 0 {
			t.Errorf("dead letters: %+v", dead)
		}
		if len(hist) == 0 {
			t.Fatalf("no change of %s %s in the log", entity, gid)
		}
		last := hist[len(hist)-1]
		if last.State.String() != want.state || !strings.Contains(last.Note, want.note) {
			t.Errorf("the change is %s (%q), want %s (%q)", last.State, last.Note, want.state, want.note)
		}
	}
	if gid != "" && (want.name != "" || want.deleted) {
		gold := g.golden(entity, gid)
		if want.name != "" && gold.Fields["name"] != want.name {
			t.Errorf("golden name %v, want %q", gold.Fields["name"], want.name)
		}
		if gold.Deleted != want.deleted {
			t.Errorf("golden deleted = %v, want %v", gold.Deleted, want.deleted)
		}
	}
	if want.queued != nil {
		var got []string
		for _, sys := range []string{"a", "b"} {
			if _, ok := g.due(sys)[gid]; ok {
				got = append(got, sys)
			}
		}
		if strings.Join(got, ",") != strings.Join(want.queued, ",") {
			t.Errorf("the record is queued for %v, want %v", got, want.queued)
		}
	}
	if want.records > 0 {
		if n := len(g.goldens("account")); n != want.records {
			t.Errorf("%d account records, want %d", n, want.records)
		}
	}
	if want.linked != "" {
		sys, key, _ := strings.Cut(want.linked, ":")
		if got := g.gid(entity, sys, key); got != gid {
			t.Errorf("%s's key %s is linked to %q, want the case's record %s", sys, key, got, gid)
		}
	}
}

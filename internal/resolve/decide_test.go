package resolve_test

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/tandemhub/tandem/internal/record"
	"github.com/tandemhub/tandem/internal/resolve"
	"github.com/tandemhub/tandem/internal/store"
)

// decide decides c against the rig's store as it stands, in a read-only
// transaction: what resolving c would do, with nothing done.
func (g *rig) decide(c record.Change, held bool) resolve.Outcome {
	g.t.Helper()
	var o resolve.Outcome
	g.view(func(tx store.Tx) error {
		var err error
		o, err = g.r.Decide(tx, &store.Change{Change: c}, held, false)
		return err
	})
	return o
}

// state is what the rig's store holds of records and deliveries.
func (g *rig) state() string {
	g.t.Helper()
	var out []any
	g.view(func(tx store.Tx) error {
		page, err := tx.GoldenPage("account", "", 1000)
		if err != nil {
			return err
		}
		backlog, err := tx.Backlog()
		out = append(out, page, backlog)
		return err
	})
	return fmt.Sprintf("%+v", out)
}

// Deciding a change reads the store and writes nothing: the outcome
// says, plainly, the log entry and every write resolving would make.
func TestDecideOutcomes(t *testing.T) {
	at, acme, both := caseAt, caseAcme, (*rig).linkedAcme
	for _, tc := range []struct {
		name   string
		before func(g *rig) string
		change func(gid string) record.Change
		held   bool
		check  func(t *testing.T, o resolve.Outcome, gid string)
	}{
		{name: "a new record: a new key, a new version, sent to the other system",
			change: func(string) record.Change { return acme("a", "A1", 0) },
			check: func(t *testing.T, o resolve.Outcome, _ string) {
				want(t, o.State == store.Resolved && o.Link.Kind == resolve.NewLink && o.NewVersion, "resolved, newly linked, a new version: %+v", o)
				want(t, o.Golden != nil && o.Golden.Fields["name"] == "Acme", "the golden record holds the name: %+v", o.Golden)
				want(t, reflect.DeepEqual(o.Send, []string{"b"}) && o.Touch, "sent to b, in-flight writes to a touched: %+v", o)
				want(t, o.PutNatural == "acme@example.com" && o.DropNatural == "", "indexed by e-mail: %+v", o)
				want(t, o.Unblocked, "accounts are referred to: a new one unblocks held contacts")
			}},
		{name: "the same content is a no-op: the source holds the record",
			before: both, change: func(string) record.Change { return acme("a", "A1", 1) },
			check: func(t *testing.T, o resolve.Outcome, gid string) {
				want(t, o.State == store.Dropped && o.Settle && len(o.Send) == 0 && !o.NewVersion, "dropped and settled: %+v", o)
				want(t, o.GID == gid && o.Ver > 0, "of the record, at its version: %+v", o)
			}},
		{name: "an update makes a new version sent to the other system only",
			before: both, change: func(string) record.Change {
				return account("a", "A1", at(1), "Acme Group", "acme@example.com", "gold")
			},
			check: func(t *testing.T, o resolve.Outcome, gid string) {
				want(t, o.State == store.Resolved && o.NewVersion && o.Link.Kind == resolve.NoLink, "a new version of a linked key: %+v", o)
				want(t, reflect.DeepEqual(o.Send, []string{"b"}), "sent to b: %v", o.Send)
				want(t, o.Golden.Sources["name"] == "a", "a set the name: %v", o.Golden.Sources)
			}},
		{name: "tandem's own write come back is dropped, sending nothing",
			before: both, change: func(string) record.Change {
				return with(acme("b", "B1", 2), func(c *record.Change) { c.Echo = true })
			},
			check: func(t *testing.T, o resolve.Outcome, _ string) {
				want(t, o.State == store.Dropped && strings.Contains(o.Note, "own write") && len(o.Send) == 0 && o.Golden == nil, "an echo: %+v", o)
			}},
		{name: "an echo of an older version than the record's sends the record again",
			before: func(g *rig) string {
				gid := both(g)
				g.resolve(account("a", "A1", at(2), "Acme Group", "acme@example.com", "gold"))
				return gid
			},
			change: func(string) record.Change {
				return with(acme("b", "B1", 3), func(c *record.Change) { c.Echo, c.Base = true, 1 })
			},
			check: func(t *testing.T, o resolve.Outcome, _ string) {
				want(t, o.State == store.Dropped && reflect.DeepEqual(o.Send, []string{"b"}) && o.Ver > 1, "sent again at the newer version: %+v", o)
			}},
		{name: "a delete unlinks the key, deletes the record and sends the delete",
			before: both, change: func(string) record.Change { return deleted("a", "account", "A1", at(1)) },
			check: func(t *testing.T, o resolve.Outcome, gid string) {
				want(t, o.State == store.Resolved && o.Unlink && o.GID == gid, "the key stops naming the record: %+v", o)
				want(t, o.Golden != nil && o.Golden.Deleted && o.NewVersion, "a deleted version: %+v", o.Golden)
				want(t, reflect.DeepEqual(o.Send, []string{"b"}) && o.DropNatural == "acme@example.com", "sent to b, dropped from the index: %+v", o)
			}},
		{name: "a delete of a key tandem never knew leaves a tombstone",
			change: func(string) record.Change { return deleted("a", "account", "A9", at(1)) },
			check: func(t *testing.T, o resolve.Outcome, _ string) {
				want(t, o.State == store.Dropped && o.Bury != nil && o.Bury.At.Equal(at(1)) && len(o.Send) == 0, "buried: %+v", o)
			}},
		{name: "an update of a record deleted elsewhere: the delete wins, the source gets it",
			before: func(g *rig) string {
				gid := both(g)
				g.resolve(deleted("b", "account", "B1", at(1)))
				return gid
			},
			change: func(string) record.Change {
				return account("a", "A1", at(2), "Acme Group", "acme@example.com", "gold")
			},
			check: func(t *testing.T, o resolve.Outcome, _ string) {
				want(t, o.State == store.Dropped && strings.Contains(o.Note, "delete wins") && reflect.DeepEqual(o.Send, []string{"a"}), "the delete wins: %+v", o)
			}},
		{name: "a change older than the record's last loses, and its source gets the record",
			before: func(g *rig) string {
				gid := both(g)
				g.resolve(account("b", "B1", at(5), "Acme Group", "acme@example.com", "gold"))
				return gid
			},
			change: func(string) record.Change {
				return account("a", "A1", at(3), "Acme Old", "acme@example.com", "gold")
			},
			check: func(t *testing.T, o resolve.Outcome, _ string) {
				want(t, o.State == store.Dropped && strings.Contains(o.Note, "older") && reflect.DeepEqual(o.Send, []string{"a"}) && o.Golden == nil, "lost: %+v", o)
			}},
		{name: "an unlinked key matching a record by natural key is linked to it",
			before: func(g *rig) string {
				g.resolve(acme("a", "A1", 0))
				return g.gid("account", "a", "A1")
			},
			change: func(string) record.Change { return acme("b", "B7", 1) },
			check: func(t *testing.T, o resolve.Outcome, gid string) {
				want(t, o.Link.Kind == resolve.PutLink && o.GID == gid, "linked to the matched record, not a new one: %+v", o)
			}},
		{name: "a row its users inserted under a linked key: the key's record vanishes first",
			before: both, change: func(string) record.Change {
				return with(account("a", "A1", at(2), "Other", "other@example.com", "silver"), func(c *record.Change) { c.Inserted = true })
			},
			check: func(t *testing.T, o resolve.Outcome, gid string) {
				want(t, o.Vanish != nil, "a vanish first: %+v", o)
				v := o.Vanish.Outcome
				want(t, v.State == store.Resolved && v.Unlink && v.GID == gid && v.Golden.Deleted, "the old record is deleted and its key unlinked: %+v", v)
				want(t, o.Vanish.Change.Op == record.Delete && o.Vanish.Change.Key == "A1", "logged as a delete of the key: %+v", o.Vanish.Change)
			}},
		{name: "a change of a record with held changes waits behind them",
			before: both, held: true, change: func(string) record.Change { return acme("a", "A1", 1) },
			check: func(t *testing.T, o resolve.Outcome, _ string) {
				want(t, o.State == store.Held && o.Golden == nil && len(o.Send) == 0, "held: %+v", o)
			}},
		{name: "a contact of an account tandem does not know yet is held",
			change: func(string) record.Change { return contact("a", "C1", at(1), "Ann", "A404") },
			check: func(t *testing.T, o resolve.Outcome, _ string) {
				want(t, o.State == store.Held && strings.Contains(o.Note, "waiting for account A404"), "held for its account: %+v", o)
				want(t, o.Link.Kind == resolve.NoLink && o.Golden == nil, "nothing written: %+v", o)
			}},
		{name: "a value the schema refuses is a dead letter naming the field",
			change: func(string) record.Change {
				return account("a", "A1", at(1), "Acme", "acme@example.com", "platinum")
			},
			check: func(t *testing.T, o resolve.Outcome, _ string) {
				want(t, o.State == store.Dead && o.DeadField == "tier" && strings.HasPrefix(o.Note, "a account A1: "), "dead on tier: %+v", o)
				want(t, o.Golden == nil && len(o.Send) == 0 && o.Link.Kind == resolve.NoLink, "nothing written: %+v", o)
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := newRig(t, "")
			gid := ""
			if tc.before != nil {
				gid = tc.before(g)
			}
			before := g.state()
			c := tc.change(gid)
			o := g.decide(c, tc.held)
			tc.check(t, o, gid)
			if after := g.state(); after != before {
				t.Fatalf("deciding wrote to the store:\n%s\nbefore:\n%s", after, before)
			}
			// Deciding again, on the same state, decides the same (a new
			// record's id aside).
			again := g.decide(c, tc.held)
			if again.GID != o.GID && gid == "" {
				again.GID = o.GID
				if again.Golden != nil {
					again.Golden.GID = o.Golden.GID
				}
			}
			if !reflect.DeepEqual(o, again) {
				t.Fatalf("deciding twice differs:\n%+v\n%+v", o, again)
			}
		})
	}
}

func want(t *testing.T, ok bool, format string, args ...any) {
	t.Helper()
	if !ok {
		t.Fatalf(format, args...)
	}
}

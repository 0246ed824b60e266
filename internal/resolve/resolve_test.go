package resolve_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tandemhub/tandem/internal/config"
	"github.com/tandemhub/tandem/internal/hub"
	"github.com/tandemhub/tandem/internal/record"
	"github.com/tandemhub/tandem/internal/resolve"
	"github.com/tandemhub/tandem/internal/store"
)

// resolveYAML is two systems exchanging accounts and their contacts.
// ENTITY_OPTIONS is replaced by extra keys of the account entity.
const resolveYAML = `version: 1
store: {dir: unused}
systems:
  a: {type: sqlite, dsn: unused}
  b: {type: sqlite, dsn: unused}
entities:
  account:
    match: [email]
    ENTITY_OPTIONS
    schema:
      type: object
      properties:
        name: {type: string}
        email: {type: string}
        tier: {enum: [gold, silver]}
  contact:
    refs: {account: account}
    schema:
      type: object
      properties:
        name: {type: string}
        account: {type: [string, "null"]}
mappings:
  a:
    account: {table: accounts, fields: {name: name, email: email, tier: tier}}
    contact: {table: contacts, fields: {name: name, account: account_id}}
  b:
    account: {table: Account, fields: {name: Name, email: Mail, tier: Tier}}
    contact: {table: Contact, fields: {name: Name, account: AccountId}}
routes:
  - {entity: account, between: [a, b]}
  - {entity: contact, between: [a, b]}
`

// rig is a resolver on a real store in a temporary directory, with a
// clock the test sets.
type rig struct {
	t   *testing.T
	st  *store.SQLite
	r   *resolve.Resolver
	now time.Time
}

func newRig(t *testing.T, entityOptions string) *rig {
	t.Helper()
	return newRigOf(t, strings.Replace(resolveYAML, "ENTITY_OPTIONS", entityOptions, 1))
}

// newRigOf is a rig of the configuration y.
func newRigOf(t *testing.T, y string) *rig {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "tandem.yaml")
	if err := os.WriteFile(path, []byte(y), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	model, err := hub.Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.OpenSQLite(context.Background(), filepath.Join(dir, "store"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	g := &rig{t: t, st: st, now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	g.r = resolve.New(cfg, model.Maps, model.Schemas, slog.New(slog.NewTextHandler(io.Discard, nil)))
	g.r.Now = func() time.Time { return g.now }
	return g
}

// resolve resolves changes in one transaction, as capture does.
func (g *rig) resolve(changes ...record.Change) {
	g.t.Helper()
	err := g.st.Update(context.Background(), func(tx store.Tx) error {
		_, err := g.r.Resolve(tx, changes)
		return err
	})
	if err != nil {
		g.t.Fatal(err)
	}
}

func (g *rig) update(fn func(tx store.Tx) error) {
	g.t.Helper()
	if err := g.st.Update(context.Background(), fn); err != nil {
		g.t.Fatal(err)
	}
}

func (g *rig) view(fn func(tx store.Tx) error) {
	g.t.Helper()
	if err := g.st.View(context.Background(), fn); err != nil {
		g.t.Fatal(err)
	}
}

// gid is the record system's key of entity is linked to, or "".
func (g *rig) gid(entity, system, key string) string {
	g.t.Helper()
	var gid string
	g.view(func(tx store.Tx) error {
		var err error
		gid, _, err = tx.GID(entity, system, key)
		return err
	})
	return gid
}

func (g *rig) golden(entity, gid string) *store.Golden {
	g.t.Helper()
	var out *store.Golden
	g.view(func(tx store.Tx) error {
		var err error
		out, err = tx.Golden(entity, gid)
		return err
	})
	if out == nil {
		g.t.Fatalf("no golden record of %s %s", entity, gid)
	}
	return out
}

// goldens lists every golden record of entity.
func (g *rig) goldens(entity string) []store.Golden {
	g.t.Helper()
	var out []store.Golden
	g.view(func(tx store.Tx) error {
		var err error
		out, err = tx.GoldenPage(entity, "", 1000)
		return err
	})
	return out
}

// due lists the deliveries queued for system, by global id.
func (g *rig) due(system string) map[string]store.Outbound {
	g.t.Helper()
	out := map[string]store.Outbound{}
	g.view(func(tx store.Tx) error {
		queued, err := tx.Due(system, g.now.Add(time.Hour), 0, 1000)
		for _, o := range queued {
			out[o.GID] = o
		}
		return err
	})
	return out
}

// delivered marks every queued delivery to system done, as if made.
func (g *rig) delivered(system string) {
	g.t.Helper()
	for _, o := range g.due(system) {
		g.update(func(tx store.Tx) error { return tx.Done(o) })
	}
}

func account(system, key string, at time.Time, name, email, tier string) record.Change {
	f := record.Fields{"name": name, "email": email, "tier": tier}
	if system == "b" {
		f = record.Fields{"Name": name, "Mail": email, "Tier": tier}
	}
	return record.Change{System: system, Entity: "account", Key: key, Op: record.Upsert, Fields: f, At: at, Version: at.UnixNano()}
}

func deleted(system, entity, key string, at time.Time) record.Change {
	return record.Change{System: system, Entity: entity, Key: key, Op: record.Delete, At: at, Version: at.UnixNano()}
}

// linkedInBoth makes an account that a created and that reached b
// under B1, both systems holding it as it is, and returns its global id.
func (g *rig) linkedInBoth(at time.Time) string {
	g.t.Helper()
	g.resolve(account("a", "A1", at, "Acme", "acme@example.com", "gold"))
	gid := g.gid("account", "a", "A1")
	if gid == "" {
		g.t.Fatal("a's account A1 is not linked")
	}
	g.update(func(tx store.Tx) error { return tx.PutLinkAt("account", "b", "B1", gid, time.Now()) })
	g.delivered("a")
	g.delivered("b")
	return gid
}

// readsBack is a rig whose system b reads tandem's writes back (an
// API), with an account a made at t0 that reached b as B1; it returns
// the account's global id and t0.
func readsBack(t *testing.T) (*rig, string, time.Time) {
	g := newRig(t, "")
	g.r.ReadsBack = map[string]bool{"b": true}
	t0 := g.now.Add(-time.Minute)
	return g, g.linkedInBoth(t0), t0
}

// sent has a's users change the account to name and tier at at, and
// delivery note, as it would before sending, that it sends b that state.
func (g *rig) sent(gid string, at time.Time, name, tier string) {
	g.t.Helper()
	g.resolve(account("a", "A1", at, name, "acme@example.com", tier))
	g.update(func(tx store.Tx) error {
		return tx.MarkSent("b", "account", gid, record.Fields{"Name": name, "Mail": "acme@example.com", "Tier": tier}, at)
	})
}

func fieldsOf(f record.Fields, names ...string) string {
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = fmt.Sprintf("%s=%v", n, f[n])
	}
	return strings.Join(parts, " ")
}

// A change older than the record's last change loses whole, however
// late it arrives: the golden record keeps the newer change, and the
// loser's system is sent the golden record back.
func TestOlderChangeLosesToNewer(t *testing.T) {
	g := newRig(t, "")
	t0 := g.now.Add(-time.Minute)
	gid := g.linkedInBoth(t0)
	// a's user renames the account at t0+2s; b's user had changed its
	// tier at t0+1s, and that change arrives last.
	g.resolve(account("a", "A1", t0.Add(2*time.Second), "Acme Group", "acme@example.com", "gold"))
	g.delivered("b")
	g.resolve(account("b", "B1", t0.Add(time.Second), "Acme", "acme@example.com", "silver"))

	gold := g.golden("account", gid)
	if got, want := fieldsOf(gold.Fields, "name", "tier"), "name=Acme Group tier=gold"; got != want {
		t.Errorf("golden record: %s, want the newer change whole: %s", got, want)
	}
	o, ok := g.due("b")[gid]
	if !ok {
		t.Fatalf("b, whose older change lost, is not sent the golden record back")
	}
	if o.Ver != gold.Ver {
		t.Errorf("b is sent version %d, the golden record is at %d", o.Ver, gold.Ver)
	}
	if _, ok := g.due("a")[gid]; ok {
		t.Errorf("a holds the golden record already but is queued a delivery")
	}
}

// Two systems edit different fields of one record a few milliseconds
// apart. By default the newer change wins whole, whichever arrives
// first: no system ends with the name of one and the tier of the other,
// a record no user wrote. With merge: field both edits stay.
func TestRecordLevelMergeByDefault(t *testing.T) {
	for _, tc := range []struct {
		name, options string
		bFirst        bool
		want          string
	}{
		{"default, older arrives first", "", false, "name=Acme tier=silver"},
		{"default, newer arrives first", "", true, "name=Acme tier=silver"},
		{"merge record", "merge: record", false, "name=Acme tier=silver"},
		{"merge field", "merge: field", false, "name=Acme Group tier=silver"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := newRig(t, tc.options)
			t0 := g.now.Add(-time.Minute)
			gid := g.linkedInBoth(t0)
			// Each system's capture knows which column its user changed
			// and reads the whole row.
			ca := account("a", "A1", t0.Add(10*time.Millisecond), "Acme Group", "acme@example.com", "gold")
			ca.Changed = []string{"name"}
			cb := account("b", "B1", t0.Add(13*time.Millisecond), "Acme", "acme@example.com", "silver")
			cb.Changed = []string{"Tier"}
			if tc.bFirst {
				g.resolve(cb)
				g.resolve(ca)
			} else {
				g.resolve(ca)
				g.resolve(cb)
			}
			gold := g.golden("account", gid)
			if got := fieldsOf(gold.Fields, "name", "tier"); got != tc.want {
				t.Errorf("golden record: %s, want %s", got, tc.want)
			}
		})
	}
}

// A reference to a record that was deleted is cleared, as ON DELETE SET
// NULL would: a change that still holds it goes through (it is not held
// forever for a parent that never comes), and its system gets the record
// back without the reference.
func TestReferenceToDeletedParentIsCleared(t *testing.T) {
	g := newRig(t, "")
	t0 := g.now.Add(-time.Minute)
	contact := func(key string, at time.Time, name, account string) record.Change {
		return record.Change{System: "a", Entity: "contact", Key: key, Op: record.Upsert, At: at, Version: at.UnixNano(),
			Fields: record.Fields{"name": name, "account_id": account}}
	}
	g.resolve(account("a", "A1", t0, "Acme", "acme@example.com", "gold"))
	g.resolve(contact("K1", t0, "Kid", "A1"))
	parent, kid := g.gid("account", "a", "A1"), g.gid("contact", "a", "K1")
	if parent == "" || kid == "" {
		t.Fatalf("account A1 (%q) or contact K1 (%q) is not linked", parent, kid)
	}
	if got := g.golden("contact", kid).Fields["account"]; got != parent {
		t.Fatalf("contact K1 points at %v, want its account %s", got, parent)
	}
	g.delivered("a")
	g.delivered("b")

	g.resolve(deleted("a", "account", "A1", t0.Add(time.Second)))
	if !g.golden("account", parent).Deleted {
		t.Fatal("account A1 is not deleted")
	}
	// a's application keeps the contact's reference (it has no foreign
	// key) and renames it; another contact is made pointing at A1 too.
	g.resolve(contact("K1", t0.Add(2*time.Second), "Kid Renamed", "A1"),
		contact("K2", t0.Add(2*time.Second), "Late Kid", "A1"))
	var held []store.Change
	g.view(func(tx store.Tx) error {
		var err error
		held, err = tx.HeldChanges(10)
		return err
	})
	if len(held) > 0 {
		t.Fatalf("changes held for a parent that was deleted: %v", held)
	}
	k := g.golden("contact", kid)
	if k.Fields["name"] != "Kid Renamed" || k.Fields["account"] != nil {
		t.Errorf("contact K1: %s, want the rename with no account", fieldsOf(k.Fields, "name", "account"))
	}
	if _, ok := g.due("a")[kid]; !ok {
		t.Errorf("a's contact K1 still points at the deleted account but is not sent the record back")
	}
	if _, ok := g.due("b")[kid]; !ok {
		t.Errorf("the rename of contact K1 is not sent to b")
	}
	k2 := g.gid("contact", "a", "K2")
	if k2 == "" {
		t.Fatal("the new contact K2 is not linked")
	}
	if f := g.golden("contact", k2).Fields; f["name"] != "Late Kid" || f["account"] != nil {
		t.Errorf("contact K2: %s, want it with no account", fieldsOf(f, "name", "account"))
	}
}

// A system's key whose record was deleted there keeps a tombstone. A
// read of the record from before the delete, resolved after it, is
// dropped (the delete wins) instead of bringing the record back as a new
// one; a row under the key from after the delete is a new record.
func TestStaleReadAfterDeleteIsDropped(t *testing.T) {
	g := newRig(t, "")
	t0 := g.now.Add(-time.Minute)
	gid := g.linkedInBoth(t0)
	g.now = t0.Add(10 * time.Second) // tandem learns of the delete
	g.resolve(deleted("a", "account", "A1", t0.Add(5*time.Second)))
	if !g.golden("account", gid).Deleted {
		t.Fatal("the account is not deleted")
	}
	if _, ok := g.due("b")[gid]; !ok {
		t.Fatal("the delete is not sent to b")
	}
	g.delivered("b")

	// A read of A1 from before it went (a page listed before the delete,
	// a feed that lags) arrives now.
	g.resolve(account("a", "A1", t0.Add(3*time.Second), "Acme (stale)", "acme@example.com", "gold"))
	if gs := g.goldens("account"); len(gs) != 1 || !gs[0].Deleted {
		t.Fatalf("a stale read of a deleted record made it live again: %+v", gs)
	}
	if got := g.gid("account", "a", "A1"); got != "" {
		t.Errorf("the stale read linked A1 to %s", got)
	}
	if d := g.due("b"); len(d) > 0 {
		t.Errorf("a stale read is sent to b: %+v", d)
	}

	// Later, a's users make a new account that gets the freed key.
	g.now = t0.Add(30 * time.Second)
	g.resolve(account("a", "A1", t0.Add(20*time.Second), "Initech", "info@initech.example", "silver"))
	fresh := g.gid("account", "a", "A1")
	if fresh == "" || fresh == gid {
		t.Fatalf("the new row under A1 is linked to %q, want a new record (the old one is %s)", fresh, gid)
	}
	if f := g.golden("account", fresh); f.Deleted || f.Fields["name"] != "Initech" {
		t.Errorf("the new record: deleted=%v %s", f.Deleted, fieldsOf(f.Fields, "name"))
	}
	if !g.golden("account", gid).Deleted {
		t.Error("the deleted record came back")
	}
	if _, ok := g.due("b")[fresh]; !ok {
		t.Error("the new record is not sent to b")
	}
}

// A system that reuses keys reports the delete of a record under a key
// tandem has since linked to a new record there. The delete names the
// record it was of (the id its row carried): that record is deleted,
// and the new record linked under the key is left as it is.
func TestDeleteOfAnEarlierRecordUnderAReusedKey(t *testing.T) {
	g := newRig(t, "")
	old := g.linkedInBoth(g.now.Add(-time.Hour))
	// b's users delete B1; before the delete is read, a's new account
	// reaches b and b gives it the freed key B1.
	g.resolve(account("a", "A2", g.now.Add(-time.Minute), "Globex", "globex@example.com", "silver"))
	fresh := g.gid("account", "a", "A2")
	g.update(func(tx store.Tx) error { return tx.PutLinkAt("account", "b", "B1", fresh, time.Now()) })
	g.delivered("a")
	g.delivered("b")

	d := deleted("b", "account", "B1", g.now.Add(-30*time.Second))
	d.GID = old
	g.resolve(d)
	if !g.golden("account", old).Deleted {
		t.Error("the record the delete was of is not deleted")
	}
	if g.golden("account", fresh).Deleted {
		t.Fatal("the delete of the earlier record under B1 deleted the new record linked under it since")
	}
	if k := g.gid("account", "b", "B1"); k != fresh {
		t.Errorf("b's B1 is linked to %q, want the new record %s", k, fresh)
	}
	if _, ok := g.due("a")[old]; !ok {
		t.Error("the delete of the earlier record is not sent to a")
	}
	if _, ok := g.due("a")[fresh]; ok {
		t.Error("the new record is sent to a again")
	}
}

// A delete tandem saw itself (an API asked for the record and answered
// 404) before it linked the key to the record the key names now is of
// the record the key named before: the record linked since stays. Seen
// after the link, it is that record's delete.
func TestDeleteSeenBeforeTheKeyWasLinkedKeepsTheRecord(t *testing.T) {
	g := newRig(t, "")
	seen := time.Now() // links are stamped with the store's clock
	gid := g.linkedInBoth(g.now.Add(-time.Hour))
	d := deleted("b", "account", "B1", seen)
	d.Observed = true
	g.resolve(d)
	if g.golden("account", gid).Deleted {
		t.Fatal("a delete seen before b's key B1 was linked deleted the record linked under it since")
	}
	if k := g.gid("account", "b", "B1"); k != gid {
		t.Errorf("b's B1 is linked to %q, want %s", k, gid)
	}
	if _, ok := g.due("a")[gid]; ok {
		t.Error("the record is sent to a again")
	}

	d = deleted("b", "account", "B1", time.Now().Add(time.Second))
	d.Observed = true
	g.resolve(d)
	if !g.golden("account", gid).Deleted {
		t.Fatal("a delete seen after the key was linked did not delete the record")
	}
}

// A source may remember the id a key held before its reuse (an API
// connector knows which record tandem made under a key). A delete that
// carries the id of a record already deleted is the delete of the
// record the key names now.
func TestDeleteCarryingAnEarlierDeletedRecordsIDDeletesTheLinkedOne(t *testing.T) {
	g := newRig(t, "")
	old := g.linkedInBoth(g.now.Add(-time.Hour))
	// b's key B1 went (the old record is deleted) and b gave it to a new
	// record its users made, linked since.
	g.resolve(deleted("b", "account", "B1", g.now.Add(-50*time.Minute)))
	if !g.golden("account", old).Deleted {
		t.Fatal("setup: the old record is not deleted")
	}
	g.resolve(account("b", "B1", g.now.Add(-40*time.Minute), "Globex", "globex@example.com", "silver"))
	fresh := g.gid("account", "b", "B1")
	if fresh == "" || fresh == old {
		t.Fatalf("setup: b's B1 is linked to %q", fresh)
	}
	g.delivered("a")
	d := deleted("b", "account", "B1", g.now.Add(-30*time.Minute))
	d.GID = old
	g.resolve(d)
	if !g.golden("account", fresh).Deleted {
		t.Fatal("the delete of the record b's B1 names now was taken for the earlier record's and dropped")
	}
}

// A record an API's users made and deleted at once: capture reads the
// create late, in the same batch as the delete tandem saw by asking. The
// key holds from the time the record showed, not from when tandem got to
// resolving it, so the delete seen after that is its delete.
func TestDeleteSeenAfterTheRecordShowedButBeforeItWasResolved(t *testing.T) {
	g := newRig(t, "")
	made := g.now.Add(-10 * time.Second)
	d := deleted("b", "account", "B9", made.Add(2*time.Second))
	d.Observed = true
	g.resolve(account("b", "B9", made, "Tyrell", "tyrell@example.com", "silver"), d)
	gs := g.goldens("account")
	if len(gs) != 1 || !gs[0].Deleted {
		t.Fatalf("golden records %+v; want the one record, deleted", gs)
	}
}

// A queue application's user renames an account while tandem's write of
// an older state is on its way there; the application then applies that
// write over the rename, and its echo says which version it carried. The
// rename wins (it is the newer change) and the application, which now
// holds the older state, is sent the record again. An echo of the
// current version, or of an unknown one, needs nothing.
func TestEchoOfAnOlderVersionSendsTheRecordAgain(t *testing.T) {
	g := newRig(t, "")
	t0 := g.now.Add(-time.Minute)
	gid := g.linkedInBoth(t0)
	sent := g.golden("account", gid).Ver // the version tandem wrote to b
	rename := account("b", "B1", t0.Add(2*time.Second), "Acme Group", "acme@example.com", "gold")
	g.resolve(rename)
	g.delivered("a")
	gold := g.golden("account", gid)
	if gold.Fields["name"] != "Acme Group" {
		t.Fatalf("golden record after b's rename: %v", gold.Fields)
	}
	if _, ok := g.due("b")[gid]; ok {
		t.Fatal("b, the rename's source, is queued a delivery before any echo")
	}
	echo := account("b", "B1", t0.Add(3*time.Second), "Acme", "acme@example.com", "gold")
	echo.Echo, echo.Base = true, sent
	g.resolve(echo)
	if got := g.golden("account", gid).Fields["name"]; got != "Acme Group" {
		t.Errorf("an echo changed the golden record's name to %v", got)
	}
	o, ok := g.due("b")[gid]
	if !ok {
		t.Fatal("b echoed an older version than the golden record's, and is not sent the record again")
	}
	if o.Ver != gold.Ver {
		t.Errorf("b is sent version %d, the golden record is at %d", o.Ver, gold.Ver)
	}
	g.delivered("b")
	for _, base := range []int64{gold.Ver, 0} {
		e := account("b", "B1", t0.Add(4*time.Second), "Acme Group", "acme@example.com", "gold")
		e.Echo, e.Base = true, base
		g.resolve(e)
		if _, ok := g.due("b")[gid]; ok {
			t.Errorf("an echo of version %d (the golden record is at %d) sent b the record again", base, gold.Ver)
		}
	}
}

// Tandem creates a record in b; b's capture reads it back (an echo,
// carrying the record's global id) before delivery has linked the key,
// and after a newer change was made in a. The echo, though its time is
// later, changes nothing: it is tandem's own older write.
func TestEchoOfACreateNotYetLinkedChangesNothing(t *testing.T) {
	g := newRig(t, "")
	t0 := g.now.Add(-time.Minute)
	g.resolve(account("a", "A1", t0, "Acme", "acme@example.com", "gold"))
	gid := g.gid("account", "a", "A1")
	g.resolve(account("a", "A1", t0.Add(time.Second), "Acme Group", "acme@example.com", "gold"))
	echo := account("b", "B9", t0.Add(2*time.Second), "Acme", "acme@example.com", "gold")
	echo.Echo, echo.GID = true, gid
	g.resolve(echo)
	if got := g.golden("account", gid).Fields["name"]; got != "Acme Group" {
		t.Errorf("the echo of tandem's create made the golden record's name %v; want Acme Group", got)
	}
	if n := len(g.goldens("account")); n != 1 {
		t.Errorf("%d golden records; want 1", n)
	}
}

// The hub is killed while its write of an account to b (an API) is on
// the way. Meanwhile a user renamed the account in a. The next hub reads
// b's record back with b's stamp, later than the rename, and holding the
// older state tandem sent: it is tandem's own write, noted before it was
// sent, not b's users' change, and must not undo the rename.
func TestReadOfAWriteSentBeforeARestartIsAnEcho(t *testing.T) {
	g, gid, t0 := readsBack(t)
	g.sent(gid, t0.Add(time.Second), "Acme Two", "gold")
	g.r.Started = t0.Add(90 * time.Second) // the next hub
	g.resolve(account("a", "A1", t0.Add(2*time.Second), "Acme Three", "acme@example.com", "gold"))
	g.resolve(account("b", "B1", t0.Add(3*time.Second), "Acme Two", "acme@example.com", "gold"))
	if got := g.golden("account", gid).Fields["name"]; got != "Acme Three" {
		t.Errorf("b's read of tandem's write made the name %v; want Acme Three", got)
	}
	if _, ok := g.due("b")[gid]; !ok {
		t.Error("b holds an older state than the golden record and is not to be sent it")
	}
	// A change of b's users is news as ever.
	g.resolve(account("b", "B1", t0.Add(4*time.Second), "Acme Four", "acme@example.com", "gold"))
	if got := g.golden("account", gid).Fields["name"]; got != "Acme Four" {
		t.Errorf("b's users' rename made the name %v; want Acme Four", got)
	}
}

// A SQL system's insert and a later update of the row are read again
// together (the acknowledgement of the first read failed, say during an
// outage): the change is marked Inserted, but its insert is the one
// tandem linked, so it is the same record, updated. Taken for a new
// row under a reused key, the record was deleted everywhere and made
// again under a new id, while a delete from another system on its way
// lost its record.
func TestInsertReadAgainWithALaterUpdateIsTheSameRecord(t *testing.T) {
	g := newRig(t, "")
	t0 := g.now.Add(-time.Minute)
	g.resolve(account("a", "A1", t0, "Acme", "acme@example.com", "gold"))
	gid := g.gid("account", "a", "A1")
	again := account("a", "A1", t0.Add(time.Second), "Acme Two", "acme@example.com", "gold")
	again.Inserted, again.InsertedAt = true, t0
	g.resolve(again)
	if got := g.gid("account", "a", "A1"); got != gid {
		t.Fatalf("a's key A1 names %s after its insert was read again, want %s", got, gid)
	}
	gold := g.golden("account", gid)
	if gold.Deleted || gold.Fields["name"] != "Acme Two" {
		t.Errorf("golden record %+v; want Acme Two, not deleted", gold)
	}
	if n := len(g.goldens("account")); n != 1 {
		t.Errorf("%d golden records, want 1", n)
	}
}

// What this hub noted it sent is no evidence of an echo by content: a
// user of b who sets a record back to a value tandem sent a moment ago
// made a change, which the connector tells from tandem's echo.
func TestUserWriteOfWhatThisHubSentIsAChange(t *testing.T) {
	g, gid, t0 := readsBack(t)
	g.r.Started = g.now.Add(-time.Hour)
	g.sent(gid, t0.Add(time.Second), "Acme Two", "silver")
	g.resolve(account("a", "A1", t0.Add(2*time.Second), "Acme Two", "acme@example.com", "gold"))
	// b's user sets the tier back to silver.
	g.resolve(account("b", "B1", t0.Add(3*time.Second), "Acme Two", "acme@example.com", "silver"))
	if got := g.golden("account", gid).Fields["tier"]; got != "silver" {
		t.Errorf("b's user's change of the tier back to silver left it %v", got)
	}
}

// An earlier hub sent b a state of an account and was killed before the
// answer; the write never landed. Well after this hub started, a user of
// b saves that same state again. b stamped the save long after the
// earlier hub's write could still land: it is the user's change, not
// tandem's echo (the torture run of seed 1203 lost such a save: the
// store's note of the dead hub's write matched it by content).
func TestUserSavingWhatADeadHubSentIsAChange(t *testing.T) {
	g, gid, t0 := readsBack(t)
	g.sent(gid, t0.Add(time.Second), "Acme Two", "gold")
	g.r.Started = t0.Add(5 * time.Second) // the next hub
	g.resolve(account("a", "A1", t0.Add(10*time.Second), "Acme Three", "acme@example.com", "gold"))
	// b's user sets the name back, 25 s after this hub started.
	g.resolve(account("b", "B1", t0.Add(30*time.Second), "Acme Two", "acme@example.com", "gold"))
	if got := g.golden("account", gid).Fields["name"]; got != "Acme Two" {
		t.Errorf("b's user's save of Acme Two left the name %v: taken for the dead hub's write", got)
	}
	// A read tandem stamped itself (a system without time stamps) says
	// nothing of when the write landed: it may still be the echo.
	g.sent(gid, t0.Add(40*time.Second), "Acme Four", "gold")
	g.r.Started = t0.Add(45 * time.Second)
	g.resolve(account("a", "A1", t0.Add(50*time.Second), "Acme Five", "acme@example.com", "gold"))
	read := account("b", "B1", t0.Add(70*time.Second), "Acme Four", "acme@example.com", "gold")
	read.Observed = true
	g.resolve(read)
	if got := g.golden("account", gid).Fields["name"]; got != "Acme Five" {
		t.Errorf("b's read of the dead hub's write, at a time tandem stamped, made the name %v; want Acme Five", got)
	}
}

// A system that never stamps tandem's writes (its users' application
// sets the updated-at) says so on every change it reads: a user's save
// of the state a dead hub sent is then the user's change, however soon
// after the hub started it was stamped (torture seed 1201: saves made
// while the hub was down were dropped as its echo).
func TestSaveInASystemThatStampsOnlyUsersWritesIsNeverAnEcho(t *testing.T) {
	g, gid, t0 := readsBack(t)
	g.sent(gid, t0.Add(time.Second), "Acme Two", "gold")
	g.resolve(account("a", "A1", t0.Add(2*time.Second), "Acme Three", "acme@example.com", "gold"))
	g.r.Started = t0.Add(5 * time.Second)
	save := account("b", "B1", t0.Add(4*time.Second), "Acme Two", "acme@example.com", "gold")
	save.UsersStamp = true
	g.resolve(save)
	if got := g.golden("account", gid).Fields["name"]; got != "Acme Two" {
		t.Errorf("b's user's save of Acme Two left the name %v: taken for the dead hub's write", got)
	}
}

// A hub sent b an account, b answered the write with its version 700,
// and the hub was killed before its round ended. A user of b then saves
// the record back to what tandem wrote: b gives that save version 705.
// The next hub takes the read at 700 for tandem's write and the read at
// 705 for the user's change (torture seed 65: such a save was dropped).
func TestWriteAnsweredWithAVersionIsKnownByIt(t *testing.T) {
	g, gid, t0 := readsBack(t)
	g.sent(gid, t0.Add(time.Second), "Acme Two", "gold")
	g.update(func(tx store.Tx) error { return tx.MarkAnswered("b", "account", gid, 700) })
	g.resolve(account("a", "A1", t0.Add(2*time.Second), "Acme Three", "acme@example.com", "gold"))
	g.r.Started = t0.Add(3 * time.Second)
	echo := account("b", "B1", t0.Add(3*time.Second), "Acme Two", "acme@example.com", "gold")
	echo.Version = 700
	g.resolve(echo)
	if got := g.golden("account", gid).Fields["name"]; got != "Acme Three" {
		t.Fatalf("b's read of tandem's write, at the version b gave it, made the name %v; want Acme Three", got)
	}
	save := account("b", "B1", t0.Add(4*time.Second), "Acme Two", "acme@example.com", "gold")
	save.Version = 705
	g.resolve(save)
	if got := g.golden("account", gid).Fields["name"]; got != "Acme Two" {
		t.Errorf("b's user's save at version 705 left the name %v: taken for tandem's write", got)
	}
}

package connectortest

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tandemhub/tandem/internal/connector"
	"github.com/tandemhub/tandem/internal/record"
)

// Ledgers is a table with an integer key that its applications choose,
// mapped with a field on the key column, so that the key travels with
// the record; BareLedgers is the same table without that field.
var (
	Ledgers     = connector.Table{Entity: "ledger", Name: "ledgers", Key: "id", Columns: []string{"id", "name"}}
	BareLedgers = connector.Table{Entity: "bare", Name: "bare_ledgers", Key: "id", Columns: []string{"name"}}
)

// ledgers opens a connector on the ledger tables, created in a portable
// dialect of SQL.
func (e *env) ledgers(t *testing.T) *env {
	t.Helper()
	for _, name := range []string{"ledgers", "bare_ledgers"} {
		e.exec(t, "CREATE TABLE "+name+" (id BIGINT PRIMARY KEY, name VARCHAR(200) NOT NULL)")
	}
	sys, err := e.Open(e.ctx, []connector.Table{Ledgers, BareLedgers})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { _ = sys.Close(context.Background()) })
	if err := sys.Setup(e.ctx); err != nil {
		t.Fatalf("Setup: %v", err)
	}
	return &env{Database: e.Database, sys: sys, ctx: e.ctx}
}

type keyed struct {
	Key     string
	Op      record.Op
	Fields  record.Fields
	Changed []string
}

func keyeds(cs []record.Change) []keyed {
	out := make([]keyed, len(cs))
	for i, c := range cs {
		out[i] = keyed{Key: c.Key, Op: c.Op, Fields: c.Fields, Changed: c.Changed}
	}
	return out
}

// A field mapped to the key column is captured with the row, in the
// key's own type, by snapshots, changes and fetches alike.
func testKeyFieldCaptured(t *testing.T, e *env) {
	e = e.ledgers(t)
	e.exec(t, "INSERT INTO ledgers (id, name) VALUES (?, ?), (?, ?)", 41, "forty-one", 7, "seven")
	snap, _, err := e.sys.Snapshot(e.ctx, "ledger", "", 10)
	if err != nil {
		t.Fatalf("Snapshot: %v", err)
	}
	want := []keyed{
		{Key: "7", Op: record.Upsert, Fields: record.Fields{"id": int64(7), "name": "seven"}},
		{Key: "41", Op: record.Upsert, Fields: record.Fields{"id": int64(41), "name": "forty-one"}},
	}
	if diff := cmp.Diff(want, keyeds(snap)); diff != "" {
		t.Errorf("snapshot (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]keyed{want[1], want[0]}, keyeds(e.drain(t))); diff != "" {
		t.Errorf("changes of the inserts (-want +got):\n%s", diff)
	}
	e.exec(t, "UPDATE ledgers SET name = ? WHERE id = ?", "renamed", 41)
	want = []keyed{{Key: "41", Op: record.Upsert, Fields: record.Fields{"id": int64(41), "name": "renamed"}, Changed: []string{"name"}}}
	if diff := cmp.Diff(want, keyeds(e.drain(t))); diff != "" {
		t.Errorf("change of an update (-want +got):\n%s", diff)
	}
	if got := e.fetch(t, "ledger", "41").Fields; !cmp.Equal(got, want[0].Fields) {
		t.Errorf("fetch: %v, want %v", got, want[0].Fields)
	}
}

// A create whose fields give the key column a value keeps that key, so
// a copy of a table keeps its ids; updates and deletes of it follow.
func testCreateCarriesKey(t *testing.T, e *env) {
	e = e.ledgers(t)
	create := func(gid string, f record.Fields) record.Write {
		return record.Write{Op: record.Upsert, GID: gid, Fields: f}
	}
	res := e.apply(t, "ledger", create("0190-gid-a", record.Fields{"id": int64(1001), "name": "made"}),
		create("0190-gid-b", record.Fields{"id": "1002", "name": "made too"}))
	if diff := cmp.Diff([]string{"1001", "1002"}, resultKeys(res)); diff != "" {
		t.Fatalf("keys of creates naming their keys (-want +got):\n%s", diff)
	}
	// Retried after a lost answer: the same rows, not new ones.
	res = e.apply(t, "ledger", create("0190-gid-a", record.Fields{"id": int64(1001), "name": "made"}))
	if res[0].Key != "1001" || e.count(t, "SELECT COUNT(*) FROM ledgers") != 2 {
		t.Fatalf("a retried create got key %q, and ledgers has %d rows", res[0].Key, e.count(t, "SELECT COUNT(*) FROM ledgers"))
	}
	if c := e.fetch(t, "ledger", "1001"); c.GID != "0190-gid-a" || c.Fields["name"] != "made" {
		t.Errorf("the created row: %+v", c)
	}
	e.apply(t, "ledger", upsert("1001", record.Fields{"id": int64(1001), "name": "changed"}), del("1002"))
	if got := e.fetch(t, "ledger", "1001").Fields; !cmp.Equal(got, record.Fields{"id": int64(1001), "name": "changed"}) {
		t.Errorf("after an update: %v", got)
	}
	if c := e.fetch(t, "ledger", "1002"); c.Op != record.Delete {
		t.Errorf("after a delete: %+v", c)
	}
	if got := e.drain(t); len(got) != 0 {
		t.Errorf("tandem's own writes came back as %d changes", len(got))
	}
}

// A create that cannot have the global id as its integer key fails for
// good, saying how the mapping can give it one.
func testCreateWithoutKey(t *testing.T, e *env) {
	e = e.ledgers(t)
	for _, tc := range []struct {
		entity string
		want   []string
	}{
		{"ledger", []string{`no value for the key column "id"`, "key_generated: true"}},
		{"bare", []string{"map a field to the key column", "key_generated: true"}},
	} {
		_, err := e.sys.Apply(e.ctx, tc.entity, []record.Write{{Op: record.Upsert, GID: "0190-no-key", Fields: record.Fields{"name": "n"}}})
		permanent(t, err, "id")
		for _, w := range tc.want {
			if err != nil && !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not say %q", tc.entity, err, w)
			}
		}
	}
}

// Its users delete a row and, between capture's read of the batch's rows
// and its read of the id table, tandem makes a new row under the freed
// key. The delete is of the row its users deleted: it must not carry the
// global id of tandem's new row (which would then be deleted everywhere).
func testKeyGivenAgainBetweenReads(t *testing.T, e *env) {
	e = e.ledgers(t)
	h, ok := e.sys.(interface{ HookCaptureReads(func()) })
	if !ok {
		t.Fatal("the connector has no HookCaptureReads, which this test needs")
	}
	e.exec(t, "INSERT INTO ledgers (id, name) VALUES (?, ?)", 5, "theirs")
	e.drain(t)
	e.exec(t, "DELETE FROM ledgers WHERE id = ?", 5)
	made := false
	h.HookCaptureReads(func() {
		if made {
			return
		}
		made = true
		e.apply(t, "ledger", record.Write{Op: record.Upsert, GID: "0190-gid-new", Fields: record.Fields{"id": int64(5), "name": "tandem's"}})
	})
	defer h.HookCaptureReads(nil)
	got := e.drain(t)
	if !made {
		t.Fatal("capture never read the id table")
	}
	if len(got) != 1 || got[0].Op != record.Delete || got[0].Key != "5" {
		t.Fatalf("changes: %+v, want the delete of key 5", got)
	}
	if got[0].GID == "0190-gid-new" {
		t.Errorf("the delete of the users' row 5 carries the id of the row tandem made under the key since: %+v", got[0])
	}
}

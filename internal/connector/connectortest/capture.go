package connectortest

import (
	"fmt"
	"slices"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tandemhub/tandem/internal/connector"
	"github.com/tandemhub/tandem/internal/record"
)

func keys(cs []record.Change) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.Key
	}
	return out
}

func testSnapshot(t *testing.T, e *env) {
	var want []string
	for i := 1; i <= 25; i++ {
		want = append(want, e.insertItem(t, fmt.Sprintf("item %02d", i), int64(i)))
	}
	slices.SortFunc(want, func(a, b string) int {
		x, _ := strconv.Atoi(a)
		y, _ := strconv.Atoi(b)
		return x - y
	})
	page1, cur1, err := e.sys.Snapshot(e.ctx, "item", "", 10)
	if err != nil {
		t.Fatalf("Snapshot: %v", err)
	}
	if cur1 == "" {
		t.Fatal("Snapshot returned rows and an empty cursor")
	}
	for _, c := range page1 {
		if c.Op != record.Upsert || c.Entity != "item" || c.Fields["name"] == nil || c.GID != "" {
			t.Fatalf("snapshot row %+v: want an upsert of an item with fields and no GID", c)
		}
	}
	// A restarted hub resumes from the cursor it stored.
	other := e.reopen(t)
	var got []string
	got = append(got, keys(page1)...)
	cur := cur1
	for pages := 1; ; pages++ {
		rows, next, err := other.Snapshot(e.ctx, "item", cur, 10)
		if err != nil {
			t.Fatalf("Snapshot after %q: %v", cur, err)
		}
		if len(rows) == 0 {
			if pages != 3 {
				t.Errorf("25 rows in pages of 10 took %d pages, want 3", pages)
			}
			break
		}
		got = append(got, keys(rows)...)
		cur = next
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("snapshot keys, in numeric key order (-want +got):\n%s", diff)
	}
	again, _, err := e.sys.Snapshot(e.ctx, "item", cur1, 10)
	if err != nil {
		t.Fatalf("Snapshot: %v", err)
	}
	if diff := cmp.Diff(want[10:20], keys(again)); diff != "" {
		t.Errorf("reading the same cursor again (-want +got):\n%s", diff)
	}
}

func testSnapshotText(t *testing.T, e *env) {
	for _, k := range []string{"b", "c", "a", "ab"} {
		e.exec(t, "INSERT INTO tags (code, label) VALUES (?, ?)", k, "label "+k)
	}
	var got []string
	cur := ""
	for {
		rows, next, err := e.sys.Snapshot(e.ctx, "tag", cur, 3)
		if err != nil {
			t.Fatalf("Snapshot: %v", err)
		}
		if len(rows) == 0 {
			break
		}
		got = append(got, keys(rows)...)
		if rows[0].Fields["label"] != "label "+rows[0].Key {
			t.Errorf("row %+v: label does not match", rows[0])
		}
		cur = next
	}
	if diff := cmp.Diff([]string{"a", "ab", "b", "c"}, got); diff != "" {
		t.Errorf("snapshot keys (-want +got):\n%s", diff)
	}
}

// brief is what the suite compares of a change.
type brief struct {
	Entity, Key string
	Op          record.Op
	Name        any
}

func briefs(cs []record.Change) []brief {
	out := make([]brief, len(cs))
	for i, c := range cs {
		out[i] = brief{Entity: c.Entity, Key: c.Key, Op: c.Op}
		if c.Op == record.Upsert {
			out[i].Name = c.Fields["name"]
			if c.Entity == "tag" {
				out[i].Name = c.Fields["label"]
			}
		}
	}
	return out
}

func increasing(t *testing.T, cs []record.Change) {
	t.Helper()
	for i := 1; i < len(cs); i++ {
		if cs[i].Version <= cs[i-1].Version {
			t.Errorf("change %d has Version %d after %d: versions must increase", i, cs[i].Version, cs[i-1].Version)
		}
	}
}

func testChangesInOrder(t *testing.T, e *env) {
	a := e.insertItem(t, "a", 1)
	e.exec(t, "INSERT INTO tags (code, label) VALUES (?, ?)", "x", "ex")
	b := e.insertItem(t, "b", 2)
	got := e.drain(t)
	want := []brief{{"item", a, record.Upsert, "a"}, {"tag", "x", record.Upsert, "ex"}, {"item", b, record.Upsert, "b"}}
	if diff := cmp.Diff(want, briefs(got)); diff != "" {
		t.Fatalf("inserts (-want +got):\n%s", diff)
	}
	increasing(t, got)
	last := got[len(got)-1].Version

	e.exec(t, "UPDATE items SET name = ? WHERE id = ?", "b2", b)
	e.exec(t, "DELETE FROM items WHERE id = ?", a)
	e.exec(t, "UPDATE tags SET label = ? WHERE code = ?", "ex2", "x")
	got = e.drain(t)
	want = []brief{{"item", b, record.Upsert, "b2"}, {"item", a, record.Delete, nil}, {"tag", "x", record.Upsert, "ex2"}}
	if diff := cmp.Diff(want, briefs(got)); diff != "" {
		t.Fatalf("update, delete, update (-want +got):\n%s", diff)
	}
	increasing(t, got)
	if got[0].Version <= last {
		t.Errorf("Version %d of a later change is not above %d", got[0].Version, last)
	}
	if got[1].Fields != nil {
		t.Errorf("delete has fields %v", got[1].Fields)
	}
	if got[0].At.IsZero() {
		t.Errorf("change has no At time")
	}
}

func testChangesCoalesce(t *testing.T, e *env) {
	a := e.insertItem(t, "a", 1)
	b := e.insertItem(t, "b", 1)
	e.exec(t, "UPDATE items SET qty = ? WHERE id = ?", 5, a)
	e.exec(t, "DELETE FROM items WHERE id = ?", b)
	got := e.drain(t)
	want := []brief{{"item", a, record.Upsert, "a"}, {"item", b, record.Delete, nil}}
	if diff := cmp.Diff(want, briefs(got)); diff != "" {
		t.Fatalf("insert a, insert b, update a, delete b (-want +got):\n%s", diff)
	}
	if q := got[0].Fields["qty"]; q != int64(5) {
		t.Errorf("qty of a = %#v, want its latest value 5", q)
	}
	// a's insert is read with its update: the change says so, and when
	// the insert was, which is no later than the change itself.
	if c := got[0]; !c.Inserted || c.InsertedAt.IsZero() || c.InsertedAt.After(c.At) {
		t.Errorf("a's change: Inserted %v at %v, change at %v; want inserted, no later than the change", c.Inserted, c.InsertedAt, c.At)
	}
	increasing(t, got)
}

// testReusedKeyNamesBothRecords: tandem makes a row; before tandem links
// its key, the application deletes it and inserts a row the database
// gives the same key. The two reach tandem in one read: the delete of
// tandem's record (by the id tandem gave it, since the key is not linked
// yet) and then the new row, which is not tandem's.
func testReusedKeyNamesBothRecords(t *testing.T, e *env) {
	k := e.apply(t, "item", create("g1", record.Fields{"name": "tandem's"}))[0].Key
	e.exec(t, "DELETE FROM items WHERE id = ?", k)
	e.exec(t, "INSERT INTO items (id, name, qty) VALUES (?, ?, ?)", k, "theirs", 1)
	got := e.drain(t)
	want := []brief{{"item", k, record.Delete, nil}, {"item", k, record.Upsert, "theirs"}}
	if diff := cmp.Diff(want, briefs(got)); diff != "" {
		t.Fatalf("tandem's create, the application's delete and insert under its key (-want +got):\n%s", diff)
	}
	if got[0].GID != "g1" {
		t.Errorf("the delete names global id %q, want g1: tandem's record under the key is gone", got[0].GID)
	}
	if c := got[1]; !c.Inserted || c.GID != "" {
		t.Errorf("the new row: Inserted %v, global id %q; want inserted, of no global id", c.Inserted, c.GID)
	}
	increasing(t, got)
}

func testChangesStay(t *testing.T, e *env) {
	e.insertItem(t, "a", 1)
	e.insertItem(t, "b", 2)
	first := e.changes(t, 100)
	if len(first.Changes) != 2 {
		t.Fatalf("got %d changes, want 2", len(first.Changes))
	}
	// A hub that crashed before storing the batch reads it again.
	again := e.reopen(t)
	second, err := again.Changes(e.ctx, 100)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(first.Changes, second.Changes); diff != "" {
		t.Fatalf("unacked changes read again differ (-first +second):\n%s", diff)
	}
	e.ack(t, first)
	if b := e.changes(t, 100); len(b.Changes) != 0 {
		t.Fatalf("after Ack, %d changes remain: %+v", len(b.Changes), b.Changes)
	}
	// A page smaller than the backlog.
	for i := range 5 {
		e.insertItem(t, fmt.Sprintf("p%d", i), 1)
	}
	var n int
	for {
		b := e.changes(t, 2)
		if len(b.Changes) == 0 {
			break
		}
		if len(b.Changes) > 2 {
			t.Fatalf("Changes(2) returned %d", len(b.Changes))
		}
		n += len(b.Changes)
		e.ack(t, b)
	}
	if n != 5 {
		t.Errorf("read %d changes in pages of 2, want 5", n)
	}
}

func testAckExact(t *testing.T, e *env) {
	a := e.insertItem(t, "a", 1)
	b := e.changes(t, 100)
	c := e.insertItem(t, "c", 1)
	e.ack(t, b)
	got := e.drain(t)
	want := []brief{{"item", c, record.Upsert, "c"}}
	if diff := cmp.Diff(want, briefs(got)); diff != "" {
		t.Errorf("a change made after the batch was read (a=%s) must survive its Ack (-want +got):\n%s", a, diff)
	}
}

func testUnmapped(t *testing.T, e *env) {
	// The items mapping was removed from the configuration; its triggers remain.
	tagsOnly, err := e.Open(e.ctx, []connector.Table{Tags})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tagsOnly.Close(e.ctx) })
	for i := range 3 {
		e.insertItem(t, fmt.Sprint("unmapped ", i), 1)
	}
	e.exec(t, "INSERT INTO tags (code, label) VALUES (?, ?)", "t", "mapped")
	b, err := tagsOnly.Changes(e.ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	want := []brief{{"tag", "t", record.Upsert, "mapped"}}
	if diff := cmp.Diff(want, briefs(b.Changes)); diff != "" {
		t.Fatalf("changes behind a page of an unmapped table's rows (-want +got):\n%s", diff)
	}
	if err := tagsOnly.Ack(e.ctx, b); err != nil {
		t.Fatal(err)
	}
	if got := e.drain(t); len(got) != 0 {
		t.Errorf("%d changes left after the unmapped table's rows were dropped: %+v", len(got), briefs(got))
	}
}

func testChangedColumns(t *testing.T, e *env) {
	e.insertItem(t, "one", 1)
	got := e.drain(t)
	if len(got) != 1 || got[0].Changed != nil {
		t.Fatalf("an insert should count as a change of every column: %+v", got)
	}
	k := got[0].Key
	e.exec(t, "UPDATE items SET qty = 2 WHERE id = ?", k)
	e.exec(t, "UPDATE items SET note = 'n' WHERE id = ?", k)
	got = e.drain(t)
	if len(got) != 1 {
		t.Fatalf("two updates of one row gave %d changes", len(got))
	}
	if diff := cmp.Diff([]string{"note", "qty"}, got[0].Changed); diff != "" {
		t.Errorf("changed columns (-want +got):\n%s", diff)
	}
	if got[0].Fields["name"] != "one" || got[0].Fields["qty"] != int64(2) {
		t.Errorf("a change still carries the whole row: %v", got[0].Fields)
	}
	e.exec(t, "UPDATE items SET qty = 2 WHERE id = ?", k) // no real change
	got = e.drain(t)
	if len(got) != 1 || got[0].Changed == nil || len(got[0].Changed) != 0 {
		t.Errorf("an update that changes nothing should name no columns: %+v", got)
	}
	// A fix of letter case is a change, whatever the column's collation
	// says of the two values (MySQL's default compares them equal).
	e.exec(t, "UPDATE items SET name = 'ONE' WHERE id = ?", k)
	got = e.drain(t)
	if len(got) != 1 || !slices.Equal(got[0].Changed, []string{"name"}) || got[0].Fields["name"] != "ONE" {
		t.Errorf("an update of a name's letter case should name the column: %+v", got)
	}
}

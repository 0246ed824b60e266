package connectortest

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tandemhub/tandem/internal/connector"
	"github.com/tandemhub/tandem/internal/record"
)

func upsert(key string, f record.Fields) record.Write {
	return record.Write{Op: record.Upsert, Key: key, Fields: f}
}

func create(gid string, f record.Fields) record.Write {
	return record.Write{Op: record.Upsert, GID: gid, Fields: f}
}

func del(key string) record.Write { return record.Write{Op: record.Delete, Key: key} }

func resultKeys(rs []record.Result) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.Key
	}
	return out
}

func testEcho(t *testing.T, e *env) {
	res := e.apply(t, "item", create("g1", record.Fields{"name": "made by tandem"}), create("g2", record.Fields{"name": "two"}))
	e.exec(t, "INSERT INTO tags (code, label) VALUES (?, ?)", "t1", "made by the app")
	e.drain(t)
	e.apply(t, "item", upsert(res[0].Key, record.Fields{"qty": int64(3)}), del(res[1].Key))
	e.apply(t, "tag", upsert("t1", record.Fields{"label": "x"}), create("g3", record.Fields{"label": "y"}))
	if got := e.drain(t); len(got) != 0 {
		t.Fatalf("tandem's own writes came back as %d changes: %+v", len(got), briefs(got))
	}
	e.exec(t, "UPDATE items SET name = ? WHERE id = ?", "edited by the app", res[0].Key)
	got := e.drain(t)
	want := []brief{{"item", res[0].Key, record.Upsert, "edited by the app"}}
	if diff := cmp.Diff(want, briefs(got)); diff != "" {
		t.Fatalf("the application's edit after tandem's writes (-want +got):\n%s", diff)
	}
	// A failed Apply leaves no echo marker behind on a pooled connection.
	_, err := e.sys.Apply(e.ctx, "item", []record.Write{create("g4", record.Fields{"name": nil})})
	if err == nil {
		t.Fatal("Apply of a NULL name succeeded")
	}
	for range 3 {
		e.insertItem(t, "after failure", 1)
	}
	if got := e.drain(t); len(got) != 3 {
		t.Fatalf("after a failed Apply, 3 application inserts gave %d changes", len(got))
	}
}

func testApplyIdempotent(t *testing.T, e *env) {
	// Updates name rows that exist: tandem writes by key only to rows it
	// has seen, and a row gone from the system stays gone.
	for _, k := range []string{"a", "b", "c"} {
		e.exec(t, "INSERT INTO tags (code, label) VALUES (?, ?)", k, "before")
	}
	e.drain(t)
	ws := []record.Write{
		upsert("a", record.Fields{"label": "one"}),
		upsert("b", record.Fields{"label": "two"}),
		upsert("a", record.Fields{"label": "one again"}),
		del("b"),
		del("never"),
		upsert("c", record.Fields{"label": nil}),
	}
	first := e.apply(t, "tag", ws...)
	for i, r := range first {
		if r.Err != nil {
			t.Fatalf("first Apply: write %d: %v", i, r.Err)
		}
	}
	rows := func() []record.Change {
		cs, err := e.sys.Fetch(e.ctx, "tag", []string{"a", "b", "c"})
		if err != nil {
			t.Fatal(err)
		}
		return cs
	}
	before := rows()
	// Applied again, the update of b finds it gone, and says so.
	second := e.applyEach(t, "tag", ws...)
	for i, r := range second {
		if r.Err != nil && !(i == 1 && connector.IsGone(r.Err)) {
			t.Errorf("second Apply: write %d: %v", i, r.Err)
		}
	}
	if !connector.IsGone(second[1].Err) {
		t.Errorf("second Apply of the update of b, which the first deleted: %v; want it gone", second[1].Err)
	}
	if diff := cmp.Diff(resultKeys(first), resultKeys(second)); diff != "" {
		t.Errorf("results of the same writes differ (-first +second):\n%s", diff)
	}
	if diff := cmp.Diff(before, rows()); diff != "" {
		t.Errorf("rows after applying the same writes twice differ (-once +twice):\n%s", diff)
	}
	want := []brief{{"tag", "a", record.Upsert, "one again"}, {"tag", "b", record.Delete, nil}, {"tag", "c", record.Upsert, nil}}
	if diff := cmp.Diff(want, briefs(before)); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
	if n := e.count(t, "SELECT COUNT(*) FROM tags"); n != 2 {
		t.Errorf("tags has %d rows, want 2", n)
	}
}

func testPartialFields(t *testing.T, e *env) {
	k := e.apply(t, "item", create("g1", record.Fields{"name": "n", "qty": int64(1), "note": "keep me"}))[0].Key
	e.apply(t, "item", upsert(k, record.Fields{"qty": int64(2)}))
	got := e.fetch(t, "item", k)
	if got.Fields["name"] != "n" || got.Fields["note"] != "keep me" || got.Fields["qty"] != int64(2) {
		t.Errorf("after writing only qty, fields are %v; want name and note kept, qty 2", got.Fields)
	}
}

func testCreateGenerated(t *testing.T, e *env) {
	e.insertItem(t, "existing", 1)
	res := e.apply(t, "item",
		create("g1", record.Fields{"name": "one"}),
		create("g2", record.Fields{"name": "two"}),
		create("g3", record.Fields{"name": "three"}))
	seen := map[string]bool{}
	for i, r := range res {
		if r.Key == "" || seen[r.Key] {
			t.Fatalf("result %d key %q: want a new, distinct key", i, r.Key)
		}
		seen[r.Key] = true
		c := e.fetch(t, "item", r.Key)
		if want := []string{"one", "two", "three"}[i]; c.Fields["name"] != want {
			t.Errorf("row %s has name %v, want %q: keys are not aligned with the writes", r.Key, c.Fields["name"], want)
		}
	}
	if n := e.count(t, "SELECT COUNT(*) FROM items"); n != 4 {
		t.Errorf("items has %d rows, want 4", n)
	}
}

func testCreateRetried(t *testing.T, e *env) {
	first := e.apply(t, "item", create("g1", record.Fields{"name": "one"}), create("g2", record.Fields{"name": "two"}))
	// The answer was lost; the hub sends the same creates again, one of them changed.
	again := e.reopen(t)
	second, err := again.Apply(e.ctx, "item", []record.Write{
		create("g2", record.Fields{"name": "two, retried"}), create("g1", record.Fields{"name": "one"})})
	if err != nil {
		t.Fatal(err)
	}
	if first[0].Key != second[1].Key || first[1].Key != second[0].Key {
		t.Errorf("retried creates got keys %v, first time %v", resultKeys(second), resultKeys(first))
	}
	if n := e.count(t, "SELECT COUNT(*) FROM items"); n != 2 {
		t.Errorf("items has %d rows after a retried create, want 2", n)
	}
	if got := e.fetch(t, "item", first[1].Key).Fields["name"]; got != "two, retried" {
		t.Errorf("retried create did not update its row: name %v", got)
	}
	// Create and update of one new record in one call.
	res := e.apply(t, "item", create("g3", record.Fields{"name": "v1"}), create("g3", record.Fields{"name": "v2", "qty": int64(7)}))
	if res[0].Key == "" || res[0].Key != res[1].Key {
		t.Errorf("two writes of one new record got keys %v", resultKeys(res))
	}
	if got := e.fetch(t, "item", res[0].Key).Fields; got["name"] != "v2" || got["qty"] != int64(7) {
		t.Errorf("fields %v, want the second write's", got)
	}
	if n := e.count(t, "SELECT COUNT(*) FROM items"); n != 3 {
		t.Errorf("items has %d rows, want 3", n)
	}
	// A delete by global id finds the row; one never made is nothing to do.
	e.apply(t, "item", record.Write{Op: record.Delete, GID: "g3"}, record.Write{Op: record.Delete, GID: "never"})
	if n := e.count(t, "SELECT COUNT(*) FROM items"); n != 2 {
		t.Errorf("items has %d rows after a delete by global id, want 2", n)
	}
}

func testCreateGID(t *testing.T, e *env) {
	res := e.apply(t, "tag", create("0190a1b2-gid", record.Fields{"label": "l"}))
	if res[0].Key != "0190a1b2-gid" {
		t.Errorf("create in a table without generated keys got key %q, want the global id", res[0].Key)
	}
	e.apply(t, "tag", create("0190a1b2-gid", record.Fields{"label": "l2"}))
	if n := e.count(t, "SELECT COUNT(*) FROM tags"); n != 1 {
		t.Errorf("tags has %d rows after a retried create, want 1", n)
	}
	if got := e.fetch(t, "tag", "0190a1b2-gid").Fields["label"]; got != "l2" {
		t.Errorf("label %v, want l2", got)
	}
}

func testAligned(t *testing.T, e *env) {
	for _, k := range []string{"k1", "k3"} {
		e.exec(t, "INSERT INTO tags (code, label) VALUES (?, ?)", k, "before")
	}
	e.drain(t)
	res := e.apply(t, "tag",
		upsert("k1", record.Fields{"label": "1"}),
		del("missing"),
		create("gid-2", record.Fields{"label": "2"}),
		record.Write{Op: record.Delete, GID: "unknown"},
		upsert("k3", record.Fields{"label": "3"}))
	want := []string{"k1", "missing", "gid-2", "", "k3"}
	if diff := cmp.Diff(want, resultKeys(res)); diff != "" {
		t.Errorf("result keys (-want +got):\n%s", diff)
	}
}

func permanent(t *testing.T, err error, field string) {
	t.Helper()
	if err == nil {
		t.Fatal("Apply of a bad record succeeded")
	}
	var p *connector.Permanent
	if !errors.As(err, &p) {
		t.Fatalf("error is not marked permanent: %v", err)
	}
	if p.Field != field {
		t.Errorf("permanent error names field %q, want %q: %v", p.Field, field, err)
	}
}

func testBadWrite(t *testing.T, e *env) {
	_, err := e.sys.Apply(e.ctx, "item", []record.Write{
		create("good", record.Fields{"name": "fine"}),
		create("bad", record.Fields{"name": nil, "qty": int64(1)}),
	})
	permanent(t, err, "name")
	if n := e.count(t, "SELECT COUNT(*) FROM items"); n != 0 {
		t.Errorf("a failed Apply left %d rows; nothing may be applied", n)
	}
	k := e.apply(t, "item", create("good", record.Fields{"name": "fine"}))[0].Key
	_, err = e.sys.Apply(e.ctx, "item", []record.Write{upsert(k, record.Fields{"name": nil})})
	permanent(t, err, "name")
	_, err = e.sys.Apply(e.ctx, "item", []record.Write{upsert(k, record.Fields{"no_such_column": 1})})
	permanent(t, err, "no_such_column")
}

func testBadValue(t *testing.T, e *env) {
	for field, v := range map[string]any{"qty": "many", "price": "cheap", "active": "perhaps", "at": "yesterday", "big": 1.5} {
		_, err := e.sys.Apply(e.ctx, "item", []record.Write{create("g", record.Fields{"name": "n", field: v})})
		permanent(t, err, field)
	}
	ctx, cancel := context.WithCancel(e.ctx)
	cancel()
	_, err := e.sys.Apply(ctx, "item", []record.Write{create("g", record.Fields{"name": "n"})})
	if err == nil || connector.IsPermanent(err) {
		t.Errorf("Apply with a cancelled context: %v; want a retryable error", err)
	}
}

func testGIDOnChange(t *testing.T, e *env) {
	k := e.apply(t, "item", create("gid-7", record.Fields{"name": "mine"}))[0].Key
	tk := e.apply(t, "tag", create("gid-8", record.Fields{"label": "x"}))[0].Key
	e.exec(t, "UPDATE items SET qty = 9 WHERE id = ?", k)
	e.exec(t, "UPDATE tags SET label = 'y' WHERE code = ?", tk)
	o := e.insertItem(t, "the app's own", 1)
	got := e.drain(t)
	type g struct{ Key, GID string }
	var gs []g
	for _, c := range got {
		gs = append(gs, g{c.Key, c.GID})
	}
	want := []g{{k, "gid-7"}, {tk, "gid-8"}, {o, ""}}
	if diff := cmp.Diff(want, gs); diff != "" {
		t.Errorf("GIDs of captured changes (-want +got):\n%s", diff)
	}
	rows, _, err := e.sys.Snapshot(e.ctx, "item", "", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[0].GID != "gid-7" || rows[1].GID != "" {
		t.Errorf("snapshot GIDs: %+v", rows)
	}
}

func testFetch(t *testing.T, e *env) {
	k := e.insertItem(t, "here", 1)
	cs, err := e.sys.Fetch(e.ctx, "item", []string{"999999", k, "not a number"})
	if err != nil {
		t.Fatal(err)
	}
	want := []brief{{"item", "999999", record.Delete, nil}, {"item", k, record.Upsert, "here"}, {"item", "not a number", record.Delete, nil}}
	if diff := cmp.Diff(want, briefs(cs)); diff != "" {
		t.Errorf("Fetch (-want +got):\n%s", diff)
	}
}

func testNoResurrection(t *testing.T, e *env) {
	k := e.apply(t, "item", create("g1", record.Fields{"name": "n"}))[0].Key
	e.drain(t)
	// The application deletes the row while tandem's update is on its way.
	e.exec(t, "DELETE FROM items WHERE id = ?", k)
	res := e.applyEach(t, "item", upsert(k, record.Fields{"name": "renamed"}))
	if !connector.IsGone(res[0].Err) || res[0].Key != k {
		t.Fatalf("update of a deleted row: result %+v, want its key and a gone error", res[0])
	}
	if n := e.count(t, "SELECT COUNT(*) FROM items"); n != 0 {
		t.Errorf("items has %d rows: tandem's update brought back a row the application deleted", n)
	}
	got := e.drain(t)
	want := []brief{{"item", k, record.Delete, nil}}
	if diff := cmp.Diff(want, briefs(got)); diff != "" {
		t.Errorf("captured after the delete (-want +got):\n%s", diff)
	}
}

// testCreateAfterGone: the application deletes a row tandem made, and
// tandem's update finds it gone. Where no delete of the system's users
// counts (a system that only receives the entity), delivery then makes
// the record again: that create makes a new row, instead of finding the
// deleted one by its global id and answering gone for ever.
func testCreateAfterGone(t *testing.T, e *env) {
	k := e.apply(t, "item", create("g1", record.Fields{"name": "n"}))[0].Key
	e.drain(t)
	e.exec(t, "DELETE FROM items WHERE id = ?", k)
	res := e.applyEach(t, "item", upsert(k, record.Fields{"name": "renamed"}))
	if !connector.IsGone(res[0].Err) {
		t.Fatalf("update of a deleted row: result %+v, want a gone error", res[0])
	}
	res = e.applyEach(t, "item", create("g1", record.Fields{"name": "renamed"}))
	if res[0].Err != nil || res[0].Key == "" || res[0].Key == k {
		t.Fatalf("create of the record again: result %+v, want a new row (the deleted one was %s)", res[0], k)
	}
	if got := e.fetch(t, "item", res[0].Key); got.Op != record.Upsert || got.Fields["name"] != "renamed" || got.GID != "g1" {
		t.Errorf("the new row: %+v, want it named renamed, of global id g1", got)
	}
	if n := e.count(t, "SELECT COUNT(*) FROM items"); n != 1 {
		t.Errorf("items has %d rows, want 1", n)
	}
}

func testUnsyncedEditKept(t *testing.T, e *env) {
	k := e.apply(t, "item", create("g1", record.Fields{"name": "from tandem"}))[0].Key
	e.drain(t)
	// The application edits the row; before tandem captures that edit,
	// an older state of the record arrives from elsewhere.
	e.exec(t, "UPDATE items SET name = 'edited by the app' WHERE id = ?", k)
	res := e.applyEach(t, "item", upsert(k, record.Fields{"name": "older, from another system"}))
	if !connector.IsBusy(res[0].Err) || res[0].Key != k {
		t.Fatalf("result %+v, want its key and a busy error: the edit is on its way to tandem", res[0])
	}
	if got := e.fetch(t, "item", k).Fields["name"]; got != "edited by the app" {
		t.Errorf("name %v: tandem overwrote an edit it had not captured yet", got)
	}
	got := e.drain(t)
	want := []brief{{"item", k, record.Upsert, "edited by the app"}}
	if diff := cmp.Diff(want, briefs(got)); diff != "" {
		t.Errorf("captured (-want +got):\n%s", diff)
	}
	// Once captured, tandem's writes reach the row again.
	e.apply(t, "item", upsert(k, record.Fields{"name": "merged"}))
	if got := e.fetch(t, "item", k).Fields["name"]; got != "merged" {
		t.Errorf("name %v after the edit was captured, want merged", got)
	}
}

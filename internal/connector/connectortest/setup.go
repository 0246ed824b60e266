package connectortest

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/tandemhub/tandem/internal/connector"
	"github.com/tandemhub/tandem/internal/record"
)

// HostileColumn is a column name built to end a string literal or a
// dollar-quoted body in the SQL that setup generates, and run a
// statement of its own, if the name were not quoted right.
const HostileColumn = `n\'))); DELETE FROM victim; END IF; END #$tandem$--`

// testHostileNames: a table whose column's name holds quotes, a
// backslash and a dollar tag gets capture installed like any other, and
// the application's writes to it are captured, doing nothing else.
func testHostileNames(t *testing.T, e *env, h Harness) {
	e.exec(t, "CREATE TABLE victim (id INTEGER PRIMARY KEY)")
	e.exec(t, "INSERT INTO victim (id) VALUES (1)")
	e.exec(t, "CREATE TABLE odd (id INTEGER PRIMARY KEY, "+h.Quote(HostileColumn)+" TEXT)")
	odd := connector.Table{Entity: "odd", Name: "odd", Key: "id", Columns: []string{HostileColumn}}
	sys, err := e.Open(e.ctx, []connector.Table{odd})
	if err != nil {
		t.Fatalf("open with the column %q: %v", HostileColumn, err)
	}
	t.Cleanup(func() { _ = sys.Close(context.Background()) })
	if err := sys.Setup(e.ctx); err != nil {
		t.Fatalf("Setup with the column %q: %v", HostileColumn, err)
	}
	if err := sys.(connector.Checker).Check(e.ctx); err != nil {
		t.Errorf("Check right after Setup: %v", err)
	}
	col := h.Quote(HostileColumn)
	e.exec(t, "INSERT INTO odd (id, "+col+") VALUES (7, ?)", "a")
	e.exec(t, "UPDATE odd SET "+col+" = ? WHERE id = 7", "b")
	if n := e.count(t, "SELECT COUNT(*) FROM victim"); n != 1 {
		t.Fatalf("victim holds %d rows after the application wrote to odd, want 1: the column name ran as SQL", n)
	}
	var got []record.Change
	for range 50 {
		b, err := sys.Changes(e.ctx, 100)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, b.Changes...)
		if err := sys.Ack(e.ctx, b); err != nil {
			t.Fatal(err)
		}
		if len(b.Changes) == 0 {
			break
		}
	}
	if len(got) != 1 || got[0].Key != "7" || got[0].Fields[HostileColumn] != "b" {
		t.Fatalf("captured %+v; want one change of odd 7 with the column at b", got)
	}
	if !got[0].Inserted {
		t.Errorf("the change of a row inserted and updated is not marked inserted: %+v", got[0])
	}
}

// testOutOfDateCapture: capture installed for fewer columns than the
// mapping names now would not report updates of the others; Check says
// so, naming the table, until setup runs again.
func testOutOfDateCapture(t *testing.T, e *env) {
	items := Items
	items.Columns = slices.DeleteFunc(slices.Clone(Items.Columns), func(c string) bool { return c == "note" })
	fresh, err := e.Open(e.ctx, []connector.Table{items, Tags})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = fresh.Close(context.Background()) })
	// The suite's env set up every column; set up without note.
	if err := fresh.Setup(e.ctx); err != nil {
		t.Fatal(err)
	}
	if err := fresh.(connector.Checker).Check(e.ctx); err != nil {
		t.Fatalf("Check after Setup: %v", err)
	}
	sys := e.reopen(t) // the mapping now names note too
	err = sys.(connector.Checker).Check(e.ctx)
	if err == nil || !strings.Contains(err.Error(), `"items"`) || !strings.Contains(err.Error(), "tandem setup") {
		t.Fatalf("Check with a column mapped since setup: %v; want an error naming table items and tandem setup", err)
	}
	if strings.Contains(err.Error(), `"tags"`) {
		t.Errorf("Check names tags, whose capture is in date: %v", err)
	}
	if err := sys.Setup(e.ctx); err != nil {
		t.Fatal(err)
	}
	if err := sys.(connector.Checker).Check(e.ctx); err != nil {
		t.Errorf("Check after setup ran again: %v", err)
	}
	// An update of only the new column is captured.
	k := e.insertItem(t, "n", 1)
	e.drain(t)
	e.exec(t, "UPDATE items SET note = ? WHERE id = ?", "hi", k)
	got := e.drain(t)
	if len(got) != 1 || !slices.Equal(got[0].Changed, []string{"note"}) {
		t.Errorf("update of note captured as %+v; want one change naming note", got)
	}
}

// testTextAsWritten: text the database cannot hold as it is (a NUL, bytes
// that are not UTF-8) is refused, naming its column, or stored exactly;
// never cut or rewritten on the way.
func testTextAsWritten(t *testing.T, e *env) {
	for _, s := range []string{"a\x00b", "\xc3\x28\xff", "ok é"} {
		res, err := e.sys.Apply(e.ctx, "item", []record.Write{create("g-"+s, record.Fields{"name": "n", "note": s})})
		if err == nil {
			err = res[0].Err
		}
		if err != nil {
			var p *connector.Permanent
			if !errors.As(err, &p) || p.Field != "note" {
				t.Errorf("write of note %q: %v; want it stored, or a permanent error naming note", s, err)
			}
			continue
		}
		if got := e.fetch(t, "item", res[0].Key).Fields["note"]; got != s {
			t.Errorf("note written as %q reads back as %q", s, got)
		}
	}
}

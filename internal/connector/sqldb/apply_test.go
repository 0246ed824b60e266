package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tandemhub/tandem/internal/connector"
	"github.com/tandemhub/tandem/internal/record"
)

// fake is a Dialect whose statements describe themselves, and a Tx that
// records them and makes keys.
type fake struct {
	ran    []string
	runs   int
	ids    map[string]string // gid → key already in tandem_ids
	gone   map[string]bool   // keys whose rows the system's users deleted
	busy   map[string]bool   // keys whose rows another transaction holds
	edited map[string]bool   // keys with an edit in the outbox
	nextID int
}

const fakeLock = " FOR UPDATE SKIP LOCKED"

func (*fake) LockRows() string { return fakeLock }

func (*fake) Name() string                    { return "fake" }
func (*fake) Quote(name string) string        { return name }
func (*fake) Param(args *[]any, v any) string { *args = append(*args, v); return "?" }
func (*fake) KeyText(expr string) string      { return expr }
func (*fake) Outbox() string                  { return "outbox" }
func (*fake) IDs() string                     { return "ids" }
func (f *fake) LookupIDs(args *[]any, entity string, gids []any) string {
	return LookupIDs(f, args, entity, gids)
}
func (*fake) Classify(err error) error                                        { return err }
func (*fake) Setup(context.Context, *sql.DB, []Capture) error                 { return nil }
func (*fake) Installed(context.Context, *sql.DB, []Capture) ([]string, error) { return nil, nil }
func (*fake) Columns(context.Context, *sql.DB, string) ([]Column, error)      { return nil, nil }
func (f *fake) Write(ctx context.Context, _ *sql.DB, fn func(Tx) error) error { return fn(f) }

func (f *fake) In(args *[]any, expr string, c Column, vals []any) string {
	*args = append(*args, vals...)
	return expr + " IN list"
}

func desc(kind, table string, cols []Column, rows [][]any) string {
	var names []string
	for _, c := range cols {
		names = append(names, c.Name)
	}
	var keys []string
	for _, r := range rows {
		keys = append(keys, fmt.Sprint(r[0]))
	}
	return fmt.Sprintf("%s %s [%s] %s", kind, table, strings.Join(names, " "), strings.Join(keys, ","))
}

func (*fake) Upsert(table string, keys, cols []Column, rows [][]any) []Stmt {
	return []Stmt{{SQL: desc("upsert", table, cols, rows)}}
}

func (*fake) Merge(table string, key Column, cols []Column, rows [][]any, absent []Column) []Stmt {
	return []Stmt{{SQL: desc("merge", table, cols, rows)}}
}

func (*fake) Insert(table string, key Column, cols []Column, rows [][]any, keys []*string) []Stmt {
	return []Stmt{{SQL: desc("insert", table, cols, rows), Keys: keys}}
}

func (*fake) Delete(table string, key Column, keys []any) []Stmt {
	return []Stmt{{SQL: fmt.Sprintf("delete %s %v", table, keys)}}
}

func (f *fake) Query(ctx context.Context, q string, args ...any) ([][]any, error) {
	var out [][]any
	if strings.HasPrefix(q, "SELECT k FROM outbox") { // unsynced edits
		for _, a := range args[1:] {
			if f.edited[fmt.Sprint(a)] {
				out = append(out, []any{a})
			}
		}
		return out, nil
	}
	if !strings.HasPrefix(q, "SELECT gid, k") { // which rows to write exist, and which are free
		for _, a := range args {
			k := fmt.Sprint(a)
			if !f.gone[k] && !(f.busy[k] && strings.HasSuffix(q, fakeLock)) {
				out = append(out, []any{a})
			}
		}
		return out, nil
	}
	for _, a := range args[1:] {
		if k, ok := f.ids[a.(string)]; ok {
			out = append(out, []any{a, k})
		}
	}
	return out, nil
}

func (f *fake) Run(ctx context.Context, stmts []Stmt) error {
	f.runs++
	for _, s := range stmts {
		f.ran = append(f.ran, s.SQL)
		for _, k := range s.Keys {
			f.nextID++
			*k = fmt.Sprint(100 + f.nextID)
		}
	}
	return nil
}

func fakeEngine(f *fake) *Engine {
	e := &Engine{system: "s", d: f, tables: map[string]*table{}, log: slog.New(slog.DiscardHandler)}
	e.ready.Store(true)
	name := Column{Name: "name", Kind: Text, Required: true}
	qty := Column{Name: "qty", Kind: Int}
	for _, t := range []*table{
		{Table: connector.Table{Entity: "item", Name: "items", Key: "id", KeyGenerated: true}, quoted: "items",
			key: Column{Name: "id", Kind: Int}, required: []Column{name}},
		{Table: connector.Table{Entity: "tag", Name: "tags", Key: "code"}, quoted: "tags",
			key: Column{Name: "code", Kind: Text}, required: []Column{name}},
	} {
		t.all = map[string]Column{"name": name, "qty": qty, t.Key: t.key}
		e.tables[t.Entity] = t
	}
	return e
}

func TestApplyPlan(t *testing.T) {
	up := func(k string, f record.Fields) record.Write {
		return record.Write{Op: record.Upsert, Key: k, Fields: f}
	}
	cr := func(g string, f record.Fields) record.Write {
		return record.Write{Op: record.Upsert, GID: g, Fields: f}
	}
	full := record.Fields{"name": "n", "qty": int64(1)}
	tests := []struct {
		name   string
		entity string
		writes []record.Write
		ids    map[string]string
		gone   map[string]bool
		busy   map[string]bool
		edited map[string]bool
		want   []string
		keys   []string
		failed []int // writes reported busy
		gonew  []int // writes reported gone
		runs   int
	}{{
		name:   "one statement for writes of the same shape",
		entity: "tag",
		writes: []record.Write{up("a", full), up("b", full), up("c", full)},
		want:   []string{"upsert tags [name qty] a,b,c"},
		keys:   []string{"a", "b", "c"},
	}, {
		name:   "a key seen again starts a new statement",
		entity: "tag",
		writes: []record.Write{up("a", full), up("b", full), up("a", full)},
		want:   []string{"upsert tags [name qty] a,b", "upsert tags [name qty] a"},
		keys:   []string{"a", "b", "a"},
	}, {
		name:   "other columns, deletes and partial writes split",
		entity: "tag",
		writes: []record.Write{up("a", full), {Op: record.Delete, Key: "b"}, {Op: record.Delete, Key: "c"},
			up("d", record.Fields{"qty": int64(2)}), up("e", record.Fields{"qty": int64(3)})},
		want: []string{"upsert tags [name qty] a", "delete tags [b c]", "merge tags [qty] d,e",
			"DELETE FROM ids WHERE entity = ? AND k IN list"},
		keys: []string{"a", "b", "c", "d", "e"},
		runs: 2,
	}, {
		name:   "creates use the global id as key and are recorded",
		entity: "tag",
		writes: []record.Write{cr("g1", full), cr("g2", full)},
		want:   []string{"upsert tags [name qty] g1,g2", "upsert ids [entity gid k] tag,tag"},
		keys:   []string{"g1", "g2"},
		runs:   2,
	}, {
		name:   "a known global id updates its row",
		entity: "item",
		ids:    map[string]string{"g1": "7"},
		writes: []record.Write{cr("g1", full), cr("g2", full)},
		want: []string{"upsert items [name qty] 7", "insert items [name qty] n",
			"DELETE FROM ids WHERE entity = ? AND k IN list", "upsert ids [entity gid k] item"},
		keys: []string{"7", "101"},
		runs: 3,
	}, {
		name:   "a second write of a new record waits for its key",
		entity: "item",
		writes: []record.Write{cr("g1", full), cr("g1", record.Fields{"qty": int64(5)}), {Op: record.Delete, GID: "none"}},
		want: []string{"insert items [name qty] n", "merge items [qty] 101",
			"DELETE FROM ids WHERE entity = ? AND k IN list", "upsert ids [entity gid k] item"},
		keys: []string{"101", "101", ""},
		runs: 4,
	}, {
		name:   "a create naming its own key records its global id",
		entity: "tag",
		writes: []record.Write{cr("g1", record.Fields{"code": "mine", "name": "n"})},
		want:   []string{"upsert tags [name] mine", "DELETE FROM ids WHERE entity = ? AND k IN list", "upsert ids [entity gid k] tag"},
		keys:   []string{"mine"},
		runs:   3,
	}, {
		name:   "and only once",
		entity: "tag",
		ids:    map[string]string{"g1": "mine"},
		writes: []record.Write{cr("g1", record.Fields{"code": "mine", "name": "n"})},
		want:   []string{"upsert tags [name] mine"},
		keys:   []string{"mine"},
	}, {
		name:   "a row the system's users deleted is not brought back, and its key names no record",
		entity: "tag",
		gone:   map[string]bool{"b": true, "mine": true},
		ids:    map[string]string{"g1": "mine"},
		writes: []record.Write{up("a", full), up("b", full), cr("g1", full)},
		want:   []string{"upsert tags [name qty] a", "DELETE FROM ids WHERE entity = ? AND k IN list"},
		keys:   []string{"a", "b", "mine"},
		gonew:  []int{1, 2},
		runs:   2,
	}, {
		name:   "a row with a change tandem has yet to capture is neither overwritten nor deleted but busy",
		entity: "tag",
		edited: map[string]bool{"b": true, "c": true},
		writes: []record.Write{up("a", full), up("b", full), {Op: record.Delete, Key: "c"}},
		want:   []string{"upsert tags [name qty] a"},
		keys:   []string{"a", "b", "c"},
		failed: []int{1, 2},
	}, {
		name:   "rows another transaction holds are busy and left alone",
		entity: "tag",
		busy:   map[string]bool{"b": true, "mine": true, "d": true},
		gone:   map[string]bool{"e": true},
		ids:    map[string]string{"g1": "mine"},
		writes: []record.Write{up("a", full), up("b", full), cr("g1", full), up("b", full),
			{Op: record.Delete, Key: "d"}, {Op: record.Delete, Key: "e"}, {Op: record.Delete, Key: "f"}},
		want:   []string{"upsert tags [name qty] a", "delete tags [f]", "DELETE FROM ids WHERE entity = ? AND k IN list"},
		keys:   []string{"a", "b", "mine", "b", "d", "e", "f"},
		failed: []int{1, 2, 3, 4},
		runs:   2,
	}, {
		name:   "a row made in this call is not looked for",
		entity: "item",
		busy:   map[string]bool{"101": true},
		writes: []record.Write{cr("g1", full), cr("g1", record.Fields{"qty": int64(5)}), {Op: record.Delete, GID: "g1"}},
		want: []string{"insert items [name qty] n", "merge items [qty] 101", "delete items [101]",
			"DELETE FROM ids WHERE entity = ? AND k IN list", "upsert ids [entity gid k] item"},
		keys: []string{"101", "101", "101"},
		runs: 4,
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := &fake{ids: tc.ids, gone: tc.gone, busy: tc.busy, edited: tc.edited}
			res, err := fakeEngine(f).Apply(context.Background(), tc.entity, tc.writes)
			if err != nil {
				t.Fatal(err)
			}
			var failed, gone []int
			for i, r := range res {
				switch {
				case r.Err == nil:
				case connector.IsBusy(r.Err):
					failed = append(failed, i)
				case connector.IsGone(r.Err):
					gone = append(gone, i)
				default:
					t.Errorf("write %d: %v; want no error, a busy one or a gone one", i, r.Err)
				}
			}
			if diff := cmp.Diff(tc.failed, failed); diff != "" {
				t.Errorf("writes reported busy (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.gonew, gone); diff != "" {
				t.Errorf("writes reported gone (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.want, f.ran); diff != "" {
				t.Errorf("statements (-want +got):\n%s", diff)
			}
			var keys []string
			for _, r := range res {
				keys = append(keys, r.Key)
			}
			if diff := cmp.Diff(tc.keys, keys); diff != "" {
				t.Errorf("result keys (-want +got):\n%s", diff)
			}
			if tc.runs == 0 {
				tc.runs = 1
			}
			if f.runs != tc.runs {
				t.Errorf("%d round trips, want %d", f.runs, tc.runs)
			}
		})
	}
}

func TestApplyRejectsBadValues(t *testing.T) {
	f := &fake{}
	for _, tc := range []struct {
		w     record.Write
		field string
	}{
		{record.Write{Op: record.Upsert, Key: "x", Fields: record.Fields{"name": "n"}}, "id"},
		{record.Write{Op: record.Upsert, Key: "1", Fields: record.Fields{"qty": "many"}}, "qty"},
		{record.Write{Op: record.Upsert, Key: "1", Fields: record.Fields{"nope": 1}}, "nope"},
	} {
		_, err := fakeEngine(f).Apply(context.Background(), "item", []record.Write{tc.w})
		var p *connector.Permanent
		if !errors.As(err, &p) || p.Field != tc.field {
			t.Errorf("Apply(%+v) = %v; want a permanent error naming %q", tc.w, err, tc.field)
		}
	}
	if len(f.ran) != 0 {
		t.Errorf("bad writes ran statements: %v", f.ran)
	}
	_, err := fakeEngine(f).Apply(context.Background(), "tag", []record.Write{{Op: record.Upsert, Fields: record.Fields{"name": "n"}}})
	if !connector.IsPermanent(err) {
		t.Errorf("a create without key or global id: %v; want a permanent error", err)
	}
}

func (*fake) Snapshot() *sql.TxOptions { return nil }

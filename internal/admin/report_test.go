package admin

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tandemhub/tandem/internal/health"
	"github.com/tandemhub/tandem/internal/record"
	"github.com/tandemhub/tandem/internal/store"
)

var now = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

// fixture is a data directory with a store and, if written, a health file.
type fixture struct {
	t   *testing.T
	dir string
	st  *store.SQLite
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	dir := t.TempDir()
	st, err := store.OpenSQLite(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return &fixture{t: t, dir: dir, st: st}
}

func (f *fixture) update(fn func(store.Tx) error) {
	f.t.Helper()
	if err := f.st.Update(context.Background(), fn); err != nil {
		f.t.Fatal(err)
	}
}

// hold logs a held change of system's entity key, captured at.
func (f *fixture) hold(system, entity, key, why string, at time.Time) {
	f.update(func(tx store.Tx) error {
		return tx.Append(&store.Change{Change: record.Change{System: system, Entity: entity, Key: key, Op: record.Upsert},
			State: store.Held, Note: why, Logged: at})
	})
}

// queue queues a delivery of gid to system at, waiting for a parent if why is set.
func (f *fixture) queue(system, entity, gid, why string, at time.Time) {
	f.update(func(tx store.Tx) error {
		if err := tx.Enqueue(system, entity, gid, 1, at); err != nil {
			return err
		}
		if why == "" {
			return nil
		}
		due, err := tx.Due(system, at.Add(time.Hour), 0, 1000)
		if err != nil {
			return err
		}
		for _, o := range due {
			if o.GID == gid {
				o.Wait, o.NextAt = why, now.Add(time.Second)
				return tx.Defer(o)
			}
		}
		return fmt.Errorf("queued %s not due", gid)
	})
}

// hub writes a health file of this process, last written at updated.
func (f *fixture) hub(updated time.Time, systems map[string]health.System) {
	f.t.Helper()
	host, _ := os.Hostname()
	err := health.Write(f.dir, &health.File{PID: os.Getpid(), Host: host, Started: updated.Add(-time.Hour),
		Updated: updated, Systems: systems})
	if err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) inspect(opt Options) *Report {
	f.t.Helper()
	rep, err := Inspect(context.Background(), f.st, f.dir, now, opt)
	if err != nil {
		f.t.Fatal(err)
	}
	return rep
}

func ok(since time.Time) *health.Condition { return &health.Condition{OK: true, Since: since} }

func healthy() map[string]health.System {
	return map[string]health.System{"crm": {Capture: ok(now.Add(-time.Hour)), Delivery: ok(now.Add(-time.Hour))}}
}

func problems(t *testing.T, rep *Report, want ...string) {
	t.Helper()
	if len(rep.Problems) != len(want) {
		t.Fatalf("problems %q; want %d naming %q", rep.Problems, len(want), want)
	}
	for i, w := range want {
		if !strings.Contains(rep.Problems[i], w) {
			t.Errorf("problem %d is %q; want it to say %q", i, rep.Problems[i], w)
		}
	}
	if err := rep.Err(); (err == nil) != (len(want) == 0) {
		t.Errorf("Err() = %v with problems %q", err, rep.Problems)
	} else if err != nil && strings.Contains(err.Error(), "\n") {
		t.Errorf("Err() is more than one line: %q", err)
	}
}

// A running hub with deliveries in progress and nothing held, waiting
// for a parent, dead or failing is well.
func TestInspectHealthy(t *testing.T) {
	f := newFixture(t)
	f.queue("erp", "account", "G1", "", now.Add(-time.Hour)) // in progress, however old
	f.hub(now.Add(-time.Second), healthy())
	rep := f.inspect(Options{Stuck: DefaultStuck})
	problems(t, rep)
	if !rep.Hub.Running || rep.Hub.PID != os.Getpid() {
		t.Errorf("hub %+v; want running as this process", rep.Hub)
	}
	if len(rep.Rows) != 1 || rep.Rows[0].Pending != 1 {
		t.Errorf("rows %+v; want erp account with 1 pending", rep.Rows)
	}
}

// A held change is counted in its row and listed with why and since
// when; once it has waited longer than Stuck it is a problem.
func TestInspectHeld(t *testing.T) {
	f := newFixture(t)
	f.hub(now, healthy())
	why := `waiting for account acc-9 of crm (field "account")`
	f.hold("crm", "contact", "p-1", why, now.Add(-2*time.Minute))
	f.hold("erp", "contact", "7", "waiting for account 3 of erp (field \"account\")", now.Add(-5*time.Second))
	rep := f.inspect(Options{Stuck: time.Minute})
	problems(t, rep, "crm contact: 1 change held, waiting for a record it refers to (oldest captured 2m0s ago)")
	var crm *Row
	for i := range rep.Rows {
		if rep.Rows[i].System == "crm" {
			crm = &rep.Rows[i]
		}
	}
	if crm == nil || crm.Held != 1 || !crm.HeldSince.Equal(now.Add(-2*time.Minute)) {
		t.Errorf("crm row %+v; want 1 held since 2 minutes ago", crm)
	}
	if len(rep.Held) != 2 || rep.Held[0] != (Item{System: "crm", Entity: "contact", Key: "p-1", Why: why, Since: now.Add(-2 * time.Minute)}) {
		t.Errorf("held items %+v; want crm contact p-1 first, with why and since", rep.Held)
	}
	// Any hold counts with Stuck 0.
	problems(t, f.inspect(Options{}), "crm contact: 1 change held", "erp contact: 1 change held")
}

// A delivery waiting for its parent longer than Stuck is a problem; one
// waiting for a retry is listed with its error but is not.
func TestInspectWaitingDeliveries(t *testing.T) {
	f := newFixture(t)
	f.hub(now, healthy())
	why := `waiting for account G9 to reach erp (field "account")`
	f.queue("erp", "contact", "G1", why, now.Add(-90*time.Second))
	f.queue("erp", "contact", "G2", why, now.Add(-10*time.Second))
	f.update(func(tx store.Tx) error {
		if err := tx.Enqueue("erp", "account", "G3", 1, now.Add(-time.Hour)); err != nil {
			return err
		}
		due, err := tx.Due("erp", now.Add(time.Hour), 0, 10)
		if err != nil {
			return err
		}
		for _, o := range due {
			if o.GID == "G3" {
				o.Attempts, o.Error, o.NextAt = 2, "deadlock found\nwhen trying to get lock", now.Add(time.Second)
				return tx.Defer(o)
			}
		}
		return nil
	})
	rep := f.inspect(Options{Stuck: time.Minute})
	problems(t, rep, "erp contact: 2 deliveries waiting for a parent record to reach erp (oldest queued 1m30s ago)")
	var got []string
	for _, it := range rep.Waiting {
		got = append(got, it.GID+": "+it.Why)
	}
	want := []string{"G3: retrying after 2 failed attempts: deadlock found when trying to get lock", "G1: " + why, "G2: " + why}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("waiting items:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// Within Stuck, waiting for a parent is how deliveries go.
	problems(t, f.inspect(Options{Stuck: 2 * time.Minute}))
}

func TestInspectDeadLetters(t *testing.T) {
	f := newFixture(t)
	f.hub(now, healthy())
	f.update(func(tx store.Tx) error {
		return tx.AddDead(&store.DeadLetter{Stage: store.StageDeliver, System: "erp", Entity: "product", GID: "G1",
			Error: "too long", At: now})
	})
	problems(t, f.inspect(Options{Stuck: time.Minute}), "erp product: 1 open dead letter")
}

// A failing loop of a running hub is a problem naming the system, the
// loop, since when and the error.
func TestInspectFailing(t *testing.T) {
	f := newFixture(t)
	began := now.Add(-45 * time.Second)
	f.hub(now, map[string]health.System{
		"crm": {Capture: &health.Condition{Since: began, Error: "reading changes: dial tcp 127.0.0.1:5432: connection refused", Attempts: 9}},
		"erp": {Delivery: &health.Condition{Since: began, Error: "every write failed: 503", Attempts: 3}, Capture: ok(began)},
	})
	rep := f.inspect(Options{Stuck: time.Minute})
	problems(t, rep,
		"crm capture failing since 2026-03-04T05:05:22Z (45s ago, 9 attempts): reading changes: dial tcp 127.0.0.1:5432: connection refused",
		"erp delivery failing since 2026-03-04T05:05:22Z (45s ago, 3 attempts): every write failed: 503")
	var out bytes.Buffer
	if err := WriteReport(&out, rep, now); err != nil {
		t.Fatal(err)
	}
	t.Logf("tandem status:\n%s", out.String())
	for _, line := range []string{
		"FAILING  crm capture since 2026-03-04T05:05:22Z (45s ago, 9 attempts): reading changes: dial tcp",
		"FAILING  erp delivery since",
		"hub running: pid",
	} {
		if !strings.Contains(out.String(), line) {
			t.Errorf("status output lacks %q:\n%s", line, out.String())
		}
	}
}

// A hub that no longer writes its health file, or never did, is not
// running: status says so, and does not pass its last word off as news.
func TestInspectHubNotRunning(t *testing.T) {
	f := newFixture(t)
	problems(t, f.inspect(Options{Stuck: time.Minute}), "hub not running (it never wrote health.json in "+f.dir+")")
	f.hub(now.Add(-time.Minute), map[string]health.System{
		"crm": {Capture: &health.Condition{Since: now.Add(-2 * time.Minute), Error: "boom", Attempts: 1}}})
	rep := f.inspect(Options{Stuck: time.Minute})
	problems(t, rep, "hub not running (last seen 2026-03-04T05:05:07Z, 1m0s ago)")
	var out bytes.Buffer
	if err := WriteReport(&out, rep, now); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "hub not running (last seen") || strings.Contains(out.String(), "FAILING") {
		t.Errorf("status of a stopped hub:\n%s", out.String())
	}
}

// The lists are bounded; the table counts everything and says how many
// more there are.
func TestReportListsAreBounded(t *testing.T) {
	f := newFixture(t)
	f.hub(now, healthy())
	for i := range 12 {
		f.hold("crm", "contact", fmt.Sprintf("p-%02d", i), "waiting for account a of crm (field \"account\")", now.Add(-time.Duration(60-i)*time.Second))
	}
	rep := f.inspect(Options{Stuck: time.Hour, List: 10})
	problems(t, rep)
	if len(rep.Held) != 10 || rep.HeldMore != 2 || rep.Held[0].Key != "p-00" {
		t.Fatalf("held list of %d, %d more, first %+v; want 10 oldest first and 2 more", len(rep.Held), rep.HeldMore, rep.Held[0])
	}
	var out bytes.Buffer
	if err := WriteReport(&out, rep, now); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	t.Logf("tandem status:\n%s", s)
	for _, want := range []string{"HELD", "held changes, oldest first:", "crm     contact  p-00  -    1m0s ago  waiting for account a of crm", "and 2 more"} {
		if !strings.Contains(s, want) {
			t.Errorf("status output lacks %q:\n%s", want, s)
		}
	}
	lines := strings.Split(s, "\n")
	if head, row := strings.Fields(lines[0]), strings.Fields(lines[1]); len(head) < 5 || head[4] != "HELD" || row[4] != "12" {
		t.Errorf("table head %q, row %q; want HELD 12 in the fifth column", lines[0], lines[1])
	}
}

package connectortest

import (
	"context"
	"testing"

	"go.uber.org/goleak"

	"github.com/tandemhub/tandem/internal/connector"
	"github.com/tandemhub/tandem/internal/record"
)

// Run runs the acceptance suite against the connector h adapts. Every
// test gets its own database.
func Run(t *testing.T, h Harness) {
	tests := []struct {
		name string
		fn   func(*testing.T, *env)
	}{
		{"SetupIsIdempotent", testSetupIdempotent},
		{"SnapshotInKeyOrderResumes", testSnapshot},
		{"SnapshotTextKeys", testSnapshotText},
		{"ChangesInOrder", testChangesInOrder},
		{"ChangesCoalesce", testChangesCoalesce},
		{"ReusedKeyNamesBothRecords", testReusedKeyNamesBothRecords},
		{"UpdateNamesChangedColumns", testChangedColumns},
		{"ChangesStayUntilAcked", testChangesStay},
		{"AckReleasesOnlyItsChanges", testAckExact},
		{"ChangesOfUnmappedTablesAreDropped", testUnmapped},
		{"ApplyIsNotCapturedBack", testEcho},
		{"ApplyIsIdempotent", testApplyIdempotent},
		{"UpdateDoesNotBringBackADeletedRow", testNoResurrection},
		{"CreateAfterGoneMakesANewRow", testCreateAfterGone},
		{"UpdateKeepsAnEditNotYetCaptured", testUnsyncedEditKept},
		{"ApplyWritesOnlyGivenFields", testPartialFields},
		{"CreateGeneratedKey", testCreateGenerated},
		{"CreateRetriedFindsItsRow", testCreateRetried},
		{"CreateUsesGlobalID", testCreateGID},
		{"KeyFieldIsCaptured", testKeyFieldCaptured},
		{"CreateCarriesKey", testCreateCarriesKey},
		{"KeyGivenAgainBetweenReads", testKeyGivenAgainBetweenReads},
		{"CreateWithoutKeySaysHow", testCreateWithoutKey},
		{"ResultsAreAligned", testAligned},
		{"BadWriteIsPermanent", testBadWrite},
		{"BadValueIsPermanent", testBadValue},
		{"ChangeOfCreatedRowHasGID", testGIDOnChange},
		{"FetchMissingIsDelete", testFetch},
		{"ValuesRoundTrip", testRoundTrip},
		{"ValuesFromText", testValuesFromText},
		{"TextAsWrittenOrRefused", testTextAsWritten},
	}
	tests = append(tests, struct {
		name string
		fn   func(*testing.T, *env)
	}{"HostileNamesAreQuoted", func(t *testing.T, e *env) { testHostileNames(t, e, h) }},
		struct {
			name string
			fn   func(*testing.T, *env)
		}{"OutOfDateCaptureIsFound", testOutOfDateCapture})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, open(t, h))
		})
	}
	t.Run("CloseLeaksNothing", func(t *testing.T) { testNoLeaks(t, h) })
}

// env is one test's database holding the suite's tables, and a connector
// on it with capture installed.
type env struct {
	Database
	sys System
	ctx context.Context
}

func open(t *testing.T, h Harness) *env {
	t.Helper()
	db := h.Database(t)
	db.exec(t, h.Items)
	db.exec(t, h.Tags)
	e := &env{Database: db, ctx: context.Background()}
	e.sys = e.reopen(t)
	if err := e.sys.Setup(e.ctx); err != nil {
		t.Fatalf("Setup: %v", err)
	}
	return e
}

// reopen opens another connector on the database, as a restarted hub would.
func (e *env) reopen(t *testing.T) System {
	t.Helper()
	sys, err := e.Open(context.Background(), []connector.Table{Items, Tags})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() {
		if err := sys.Close(context.Background()); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return sys
}

func (e *env) changes(t *testing.T, max int) connector.Batch {
	t.Helper()
	b, err := e.sys.Changes(e.ctx, max)
	if err != nil {
		t.Fatalf("Changes: %v", err)
	}
	return b
}

func (e *env) ack(t *testing.T, b connector.Batch) {
	t.Helper()
	if err := e.sys.Ack(e.ctx, b); err != nil {
		t.Fatalf("Ack: %v", err)
	}
}

// drain reads and acks every pending change.
func (e *env) drain(t *testing.T) []record.Change {
	t.Helper()
	var all []record.Change
	for {
		b := e.changes(t, 100)
		if len(b.Changes) == 0 {
			return all
		}
		all = append(all, b.Changes...)
		e.ack(t, b)
	}
}

func (e *env) apply(t *testing.T, entity string, ws ...record.Write) []record.Result {
	t.Helper()
	res, err := e.sys.Apply(e.ctx, entity, ws)
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if len(res) != len(ws) {
		t.Fatalf("Apply returned %d results for %d writes", len(res), len(ws))
	}
	for i, r := range res {
		if r.Err != nil {
			t.Fatalf("Apply: write %d: %v", i, r.Err)
		}
	}
	return res
}

// applyEach is Apply, failing the test only when the whole call fails.
func (e *env) applyEach(t *testing.T, entity string, ws ...record.Write) []record.Result {
	t.Helper()
	res, err := e.sys.Apply(e.ctx, entity, ws)
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if len(res) != len(ws) {
		t.Fatalf("Apply returned %d results for %d writes", len(res), len(ws))
	}
	return res
}

func (e *env) fetch(t *testing.T, entity, key string) record.Change {
	t.Helper()
	cs, err := e.sys.Fetch(e.ctx, entity, []string{key})
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	if len(cs) != 1 {
		t.Fatalf("Fetch of one key returned %d changes", len(cs))
	}
	return cs[0]
}

func testSetupIdempotent(t *testing.T, e *env) {
	if err := e.sys.Setup(e.ctx); err != nil {
		t.Fatalf("second Setup: %v", err)
	}
	if err := e.reopen(t).Setup(e.ctx); err != nil {
		t.Fatalf("Setup from another connector: %v", err)
	}
	e.insertItem(t, "one", 1)
	e.exec(t, "UPDATE items SET qty = 2 WHERE name = ?", "one")
	b := e.changes(t, 100)
	if len(b.Changes) != 1 {
		t.Fatalf("after setting up three times, one insert and one update gave %d changes, want 1: %+v", len(b.Changes), b.Changes)
	}
	if got := b.Changes[0].Fields["qty"]; got != int64(2) {
		t.Errorf("qty = %#v, want 2", got)
	}
}

func testNoLeaks(t *testing.T, h Harness) {
	db := h.Database(t)
	db.exec(t, h.Items)
	db.exec(t, h.Tags)
	ignore := goleak.IgnoreCurrent()
	ctx := context.Background()
	sys, err := db.Open(ctx, []connector.Table{Items, Tags})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	if err := sys.Setup(ctx); err != nil {
		t.Fatalf("Setup: %v", err)
	}
	if _, err := sys.Apply(ctx, "item", []record.Write{{Op: record.Upsert, GID: "g1", Fields: record.Fields{"name": "a"}}}); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if _, _, err := sys.Snapshot(ctx, "item", "", 10); err != nil {
		t.Fatalf("Snapshot: %v", err)
	}
	if _, err := sys.Changes(ctx, 10); err != nil {
		t.Fatalf("Changes: %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, _ = sys.Apply(cctx, "item", []record.Write{{Op: record.Upsert, GID: "g2", Fields: record.Fields{"name": "b"}}})
	if err := sys.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	goleak.VerifyNone(t, ignore)
}

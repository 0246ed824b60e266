package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tandemhub/tandem/internal/store"
)

// Opener makes a fresh, empty store for one test. reopen closes it and
// opens it again on the same data, as a new process would; for a store
// with no data outside the process, it returns the same store.
type Opener func(t *testing.T) (s store.Store, reopen func() store.Store)

// Run runs the whole suite on stores open makes.
func Run(t *testing.T, open Opener) {
	for _, tc := range []struct {
		name string
		fn   func(*testing.T, Opener)
	}{
		{"AllOrNothing", testAllOrNothing},
		{"CursorSurvivesReopen", testCursorSurvivesReopen},
		{"ViewIsReadOnly", testViewIsReadOnly},
		{"DueInQueueOrder", testDueInQueueOrder},
		{"DoneKeepsANewerVersion", testDoneKeepsANewerVersion},
		{"DeferAndRetry", testDeferAndRetry},
		{"OneKeyPerRecordPerSystem", testOneKeyPerRecordPerSystem},
		{"UnlinkLeavesATombstone", testUnlinkLeavesATombstone},
		{"ReadsSeeTheTransactionsWrites", testReadsSeeOwnWrites},
		{"DeadLetters", testDeadLetters},
		{"SentNotes", testSentNotes},
		{"SameAnswersAsTheTwin", testSameAnswersAsTheTwin},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open) })
	}
}

var errRollback = errors.New("roll back")

// t0 is the suite's clock: stores keep times to the nanosecond.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.UTC)

func update(t *testing.T, s store.Store, fn func(store.Tx) error) {
	t.Helper()
	if err := s.Update(context.Background(), fn); err != nil {
		t.Fatal(err)
	}
}

func view(t *testing.T, s store.Store, fn func(store.Tx) error) {
	t.Helper()
	if err := s.View(context.Background(), fn); err != nil {
		t.Fatal(err)
	}
}

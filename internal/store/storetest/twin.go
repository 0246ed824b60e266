package storetest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/tandemhub/tandem/internal/store"
	"github.com/tandemhub/tandem/internal/store/memory"
)

// call is one store call with its arguments drawn: it runs on a
// transaction and says what it got, in a form two stores' answers can be
// compared in.
type call struct {
	name string
	do   func(store.Tx) string
}

// Random sequences of calls, on the store under test and on the
// in-memory twin side by side, transaction by transaction (some rolled
// back), give the same answers. The first difference fails the test
// with the calls that led to it.
func testSameAnswersAsTheTwin(t *testing.T, open Opener) {
	seeds := 40
	if testing.Short() {
		seeds = 10
	}
	if n, err := strconv.Atoi(os.Getenv("TANDEM_STORETEST_SEEDS")); err == nil && n > 0 {
		seeds = n // a longer hunt: TANDEM_STORETEST_SEEDS=2000 go test -run Acceptance ./internal/store/...
	}
	for seed := range uint64(seeds) {
		s, _ := open(t)
		twin := memory.New()
		g := &gen{rng: rand.New(rand.NewPCG(seed, 0x73746f7265))}
		// What each store's Due calls read, for later Done and Defer
		// calls to act on: the store under test's, and the twin's.
		var seenBy [2][]store.Outbound
		var story []string
		for txn := range 40 {
			calls := make([]call, 1+g.rng.IntN(10))
			for i := range calls {
				calls[i] = g.call()
			}
			rollback := g.rng.IntN(6) == 0
			g.seen = &seenBy[0]
			got := run(s, calls, rollback)
			g.seen = &seenBy[1]
			want := run(twin, calls, rollback)
			for i := range calls {
				story = append(story, fmt.Sprintf("tx %d: %s → %s", txn, calls[i].name, want[i]))
				if i < len(got) && got[i] != want[i] {
					t.Fatalf("seed %d: the store answered %s\nwith %s\nwhere the in-memory twin answered\n     %s\nafter:\n%s",
						seed, calls[i].name, got[i], want[i], strings.Join(story[max(0, len(story)-80):], "\n"))
				}
			}
			if len(got) != len(want) {
				t.Fatalf("seed %d: the store ran %d calls, the twin %d", seed, len(got), len(want))
			}
			if rollback {
				story = append(story, fmt.Sprintf("tx %d rolled back", txn))
			}
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// run runs calls in one Update and returns their answers.
func run(s store.Store, calls []call, rollback bool) []string {
	var out []string
	err := s.Update(context.Background(), func(tx store.Tx) error {
		for _, c := range calls {
			out = append(out, c.do(tx))
		}
		if rollback {
			return errRollback
		}
		return nil
	})
	if err != nil && !errors.Is(err, errRollback) {
		out = append(out, "commit: "+err.Error())
	}
	return out
}

// gen draws calls over a few entities, systems, keys and records, so
// that they meet often.
type gen struct {
	rng   *rand.Rand
	fresh int // records made so far by NewLinkAt
	// seen is what the current store's Due calls have read, kept across
	// transactions, as delivery reads a batch in one and records it in
	// another.
	seen *[]store.Outbound
}

// args are the entity, system, key and record a call is about.
type args struct{ e, sys, key, gid string }

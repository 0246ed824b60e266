package hub_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/tandemhub/tandem/internal/config"
	"github.com/tandemhub/tandem/internal/connector/memory"
	"github.com/tandemhub/tandem/internal/hub"
	"github.com/tandemhub/tandem/internal/record"
)

// gatedSnapshot is a system whose initial snapshot of accounts stops
// after its first page until open is closed: a large copy still running.
type gatedSnapshot struct {
	*memory.System
	open chan struct{}
}

func (g *gatedSnapshot) Snapshot(ctx context.Context, entity, after string, max int) ([]record.Change, string, error) {
	if entity == "account" && after != "" {
		select {
		case <-g.open:
		case <-ctx.Done():
			return nil, "", ctx.Err()
		}
	}
	return g.System.Snapshot(ctx, entity, after, max)
}

// A system whose rows are all known (its own snapshot is in, and every
// entity it receives it also captures) gets the first records of another system's
// initial copy while that copy still runs; a row it already held is
// still matched, not made a second time.
func TestSystemsGetRowsWhileAnotherSnapshotRuns(t *testing.T) {
	open := make(chan struct{})
	f := newFixture(t, func(s map[string]*memory.System) {
		for i := range 120 {
			s["a"].Put("account", fmt.Sprintf("A%03d", i), record.Fields{"name": fmt.Sprintf("Firm %d", i), "email": fmt.Sprintf("f%d@example.com", i)})
		}
		// b already holds a's last account, which a's copy reads last.
		s["b"].Put("account", "B1", record.Fields{"AccountName": "Firm 119", "Mail": "F119@example.com"})
	}, func(_ *config.Config, opt *hub.Options) {
		opt.Systems["a"] = &gatedSnapshot{System: opt.Systems["a"].(*memory.System), open: open}
	})
	deadline := time.Now().Add(20 * time.Second)
	for len(f.sys["c"].Rows("account")) == 0 || len(f.sys["b"].Rows("account")) < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("while a's copy runs, c has %d accounts and b %d: nothing was delivered before the copy ended",
				len(f.sys["c"].Rows("account")), len(f.sys["b"].Rows("account")))
		}
		time.Sleep(10 * time.Millisecond)
	}
	select {
	case <-f.h.Ready():
		t.Fatal("the hub says the initial snapshots are done while a's is held")
	default:
	}
	close(open)
	<-f.h.Ready()
	f.drain()
	for _, s := range []string{"a", "b", "c"} {
		if n := len(f.sys[s].Rows("account")); n != 120 {
			t.Fatalf("%s has %d accounts, want 120 (b's copy of Firm 119 matched, not made again)", s, n)
		}
	}
	f.agree()
}

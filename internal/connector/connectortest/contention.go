package connectortest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"testing"

	"github.com/tandemhub/tandem/internal/connector"
	"github.com/tandemhub/tandem/internal/record"
)

// testContention checks that tandem never makes the application's own
// transactions fail: while several application sessions run
// multi-statement transactions on a captured table (inserts, updates and
// deletes, two rows in either order, a row locked and then updated),
// tandem applies batches of updates, creates and deletes to the same
// rows and reads and acks the changes they capture. No application
// statement may fail — no deadlock, lock wait timeout or serialization
// failure — and tandem's only failures may be records it reports busy.
//
// The application sessions each own their rows, so that they cannot
// conflict with one another: every conflict is one with tandem. The work
// is bounded by counts, not by time.
func testContention(t *testing.T, e *env) {
	const (
		apps    = 4
		owned   = 8   // rows each application session starts with
		txns    = 400 // transactions per application session
		batch   = 30  // writes per Apply
		minimum = 20  // Apply calls tandem makes at least
	)
	ctx, cancel := context.WithCancel(e.ctx)
	defer cancel()
	p := &pool{}
	rows := make([][]int64, apps)
	for a := range rows {
		for i := range owned {
			id, err := e.insertRow(ctx, e.App, fmt.Sprintf("app %d row %d", a, i))
			if err != nil {
				t.Fatalf("seed: %v", err)
			}
			rows[a] = append(rows[a], id)
			p.add(id)
		}
	}

	c := &tally{}
	appsDone := make(chan struct{})
	var running sync.WaitGroup
	for a := range apps {
		running.Add(1)
		go func() {
			defer running.Done()
			rng := rand.New(rand.NewPCG(uint64(a), 7))
			app := &appSession{e: e, rng: rng, p: p, mine: rows[a], name: fmt.Sprintf("app %d", a)}
			for n := range txns {
				if err := app.txn(ctx, n); err != nil {
					c.fail(&c.appErrs, err)
				}
			}
		}()
	}
	go func() { running.Wait(); close(appsDone) }()

	var wg sync.WaitGroup
	wg.Add(2)
	go func() { // tandem delivering to the system
		defer wg.Done()
		c.deliver(ctx, e, p, appsDone, batch, minimum)
	}()
	go func() { // tandem capturing from the system
		defer wg.Done()
		c.capture(ctx, e, appsDone)
	}()
	wg.Wait()
	c.report(t, apps*txns)
}

// tally is what the sessions of testContention count, and the failures
// they meet.
type tally struct {
	mu      sync.Mutex
	appErrs []error // application transactions that failed
	dstErrs []error // tandem's failures other than busy records
	busy    int     // writes reported busy, one by one
	busyAll int     // Apply calls that failed busy as a whole
	applies int
}

// fail adds err to list.
func (c *tally) fail(list *[]error, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	*list = append(*list, err)
}

// inc counts one more in n.
func (c *tally) inc(n *int) {
	c.mu.Lock()
	*n++
	c.mu.Unlock()
}

// deliver plays tandem delivering to the system: it applies batches of
// random updates, creates and deletes, the updates and deletes to rows
// of p, until the applications are done and it made at least minimum
// calls.
func (c *tally) deliver(ctx context.Context, e *env, p *pool, appsDone <-chan struct{}, batch, minimum int) {
	rng := rand.New(rand.NewPCG(99, 7))
	gid := 0
	for n := 0; ; n++ {
		select {
		case <-appsDone:
			if n >= minimum {
				return
			}
		default:
		}
		ws := randomWrites(rng, p, batch, &gid)
		res, err := e.sys.Apply(ctx, "item", ws)
		c.inc(&c.applies)
		if err != nil {
			if connector.IsBusy(err) {
				c.inc(&c.busyAll)
				continue
			}
			c.fail(&c.dstErrs, fmt.Errorf("apply: %w", err))
			continue
		}
		c.results(p, ws, res)
	}
}

// randomWrites is up to batch writes, one per record, as delivery sends
// them: updates and deletes of rows of p, and creates numbered on from
// *gid.
func randomWrites(rng *rand.Rand, p *pool, batch int, gid *int) []record.Write {
	ws := make([]record.Write, 0, batch)
	seen := map[string]bool{}
	for range batch {
		switch r := rng.IntN(10); {
		case r < 6:
			k, ok := p.pick(rng)
			if !ok || seen[k] {
				continue
			}
			seen[k] = true
			ws = append(ws, upsert(k, record.Fields{"qty": int64(rng.IntN(1000)), "note": "from tandem"}))
		case r < 9:
			*gid++
			ws = append(ws, create("contention-"+strconv.Itoa(*gid), record.Fields{"name": "made by tandem"}))
		default:
			k, ok := p.pick(rng)
			if !ok || seen[k] {
				continue
			}
			seen[k] = true
			ws = append(ws, del(k))
		}
	}
	return ws
}

// results takes the results of one Apply of ws: rows deleted, or found
// deleted by an application, leave p; busy records are counted; any
// other failure is tandem's.
func (c *tally) results(p *pool, ws []record.Write, res []record.Result) {
	for i, r := range res {
		switch {
		case r.Err == nil:
			if ws[i].Op == record.Delete {
				p.remove(ws[i].Key)
			}
		case connector.IsBusy(r.Err):
			c.inc(&c.busy)
		case connector.IsGone(r.Err) && ws[i].Op == record.Upsert:
			// An application deleted the row first: the update
			// leaves it deleted and says so.
			p.remove(ws[i].Key)
		default:
			c.fail(&c.dstErrs, fmt.Errorf("apply: write %d: %w", i, r.Err))
		}
	}
}

// capture plays tandem capturing from the system: it reads and acks
// changes until the applications are done.
func (c *tally) capture(ctx context.Context, e *env, appsDone <-chan struct{}) {
	for {
		select {
		case <-appsDone:
			return
		default:
		}
		b, err := e.sys.Changes(ctx, 200)
		if err != nil {
			c.fail(&c.dstErrs, fmt.Errorf("changes: %w", err))
			continue
		}
		if err := e.sys.Ack(ctx, b); err != nil {
			c.fail(&c.dstErrs, fmt.Errorf("ack: %w", err))
		}
	}
}

// report logs what was counted and fails t for any failure of the
// applications' txns transactions, or of tandem's other than busy.
func (c *tally) report(t *testing.T, txns int) {
	t.Helper()
	t.Logf("%d application transactions; %d Apply calls, of which %d failed busy; %d writes reported busy",
		txns, c.applies, c.busyAll, c.busy)
	if len(c.appErrs) > 0 {
		for _, err := range c.appErrs[:min(len(c.appErrs), 5)] {
			t.Logf("application error: %v", err)
		}
		t.Errorf("%d of %d application transactions failed while tandem was writing; want 0", len(c.appErrs), txns)
	}
	if len(c.dstErrs) > 0 {
		for _, err := range c.dstErrs[:min(len(c.dstErrs), 5)] {
			t.Logf("tandem error: %v", err)
		}
		t.Errorf("tandem failed %d times other than by reporting records busy; want 0", len(c.dstErrs))
	}
}

// pool holds the keys of the applications' rows that exist, for tandem
// to pick from.
type pool struct {
	mu  sync.Mutex
	ids []string
}

func (p *pool) add(id int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ids = append(p.ids, strconv.FormatInt(id, 10))
}

func (p *pool) remove(key string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if i := slices.Index(p.ids, key); i >= 0 {
		p.ids = slices.Delete(p.ids, i, i+1)
	}
}

func (p *pool) pick(rng *rand.Rand) (string, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.ids) == 0 {
		return "", false
	}
	return p.ids[rng.IntN(len(p.ids))], true
}

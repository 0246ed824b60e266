package connectortest

import (
	"context"
	"database/sql"
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

	var (
		mu       sync.Mutex
		appErrs  []error
		dstErrs  []error
		busy     int // writes reported busy, one by one
		busyAll  int // Apply calls that failed busy as a whole
		applies  int
		appsDone = make(chan struct{})
		wg       sync.WaitGroup
	)
	fail := func(list *[]error, err error) {
		mu.Lock()
		defer mu.Unlock()
		*list = append(*list, err)
	}
	var running sync.WaitGroup
	for a := range apps {
		running.Add(1)
		go func() {
			defer running.Done()
			rng := rand.New(rand.NewPCG(uint64(a), 7))
			app := &appSession{e: e, rng: rng, p: p, mine: rows[a], name: fmt.Sprintf("app %d", a)}
			for n := range txns {
				if err := app.txn(ctx, n); err != nil {
					fail(&appErrs, err)
				}
			}
		}()
	}
	go func() { running.Wait(); close(appsDone) }()

	wg.Add(2)
	go func() { // tandem delivering to the system
		defer wg.Done()
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
			// One write per record, as delivery sends them.
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
					gid++
					ws = append(ws, create("contention-"+strconv.Itoa(gid), record.Fields{"name": "made by tandem"}))
				default:
					k, ok := p.pick(rng)
					if !ok || seen[k] {
						continue
					}
					seen[k] = true
					ws = append(ws, del(k))
				}
			}
			res, err := e.sys.Apply(ctx, "item", ws)
			mu.Lock()
			applies++
			mu.Unlock()
			if err != nil {
				if connector.IsBusy(err) {
					mu.Lock()
					busyAll++
					mu.Unlock()
					continue
				}
				fail(&dstErrs, fmt.Errorf("apply: %w", err))
				continue
			}
			for i, r := range res {
				switch {
				case r.Err == nil:
					if ws[i].Op == record.Delete {
						p.remove(ws[i].Key)
					}
				case connector.IsBusy(r.Err):
					mu.Lock()
					busy++
					mu.Unlock()
				case connector.IsGone(r.Err) && ws[i].Op == record.Upsert:
					// An application deleted the row first: the update
					// leaves it deleted and says so.
					p.remove(ws[i].Key)
				default:
					fail(&dstErrs, fmt.Errorf("apply: write %d: %w", i, r.Err))
				}
			}
		}
	}()
	go func() { // tandem capturing from the system
		defer wg.Done()
		for {
			select {
			case <-appsDone:
				return
			default:
			}
			b, err := e.sys.Changes(ctx, 200)
			if err != nil {
				fail(&dstErrs, fmt.Errorf("changes: %w", err))
				continue
			}
			if err := e.sys.Ack(ctx, b); err != nil {
				fail(&dstErrs, fmt.Errorf("ack: %w", err))
			}
		}
	}()
	wg.Wait()

	t.Logf("%d application transactions; %d Apply calls, of which %d failed busy; %d writes reported busy",
		apps*txns, applies, busyAll, busy)
	if len(appErrs) > 0 {
		for _, err := range appErrs[:min(len(appErrs), 5)] {
			t.Logf("application error: %v", err)
		}
		t.Errorf("%d of %d application transactions failed while tandem was writing; want 0", len(appErrs), apps*txns)
	}
	if len(dstErrs) > 0 {
		for _, err := range dstErrs[:min(len(dstErrs), 5)] {
			t.Logf("tandem error: %v", err)
		}
		t.Errorf("tandem failed %d times other than by reporting records busy; want 0", len(dstErrs))
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

// appSession is one application session editing the rows it owns.
type appSession struct {
	e    *env
	rng  *rand.Rand
	p    *pool
	mine []int64
	name string
}

// txn runs one transaction of a randomly chosen shape and commits it.
// Rows it finds gone (tandem deleted them) it stops editing.
func (a *appSession) txn(ctx context.Context, n int) (err error) {
	for len(a.mine) < 2 {
		id, err := a.e.insertRow(ctx, a.e.App, fmt.Sprintf("%s refill %d", a.name, n))
		if err != nil {
			return fmt.Errorf("%s: insert: %w", a.name, err)
		}
		a.mine = append(a.mine, id)
		a.p.add(id)
	}
	i := a.rng.IntN(len(a.mine))
	j := (i + 1 + a.rng.IntN(len(a.mine)-1)) % len(a.mine)
	x, y := a.mine[i], a.mine[j]
	shape := a.rng.IntN(4)
	gone := map[int64]bool{}
	defer func() {
		a.mine = slices.DeleteFunc(a.mine, func(id int64) bool { return gone[id] })
		for id := range gone {
			a.p.remove(strconv.FormatInt(id, 10))
		}
	}()
	tx, err := a.e.App.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("%s: begin: %w", a.name, err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
			err = fmt.Errorf("%s: transaction %d (shape %d): %w", a.name, n, shape, err)
		}
	}()
	// exec runs a statement that writes row id, which is gone when it
	// writes nothing (every statement here changes what it finds).
	exec := func(id int64, q string, args ...any) error {
		res, err := tx.ExecContext(ctx, a.e.bind(q), append(args, id)...)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err == nil && n == 0 {
			gone[id] = true
		}
		return nil
	}
	note := fmt.Sprintf("%s, transaction %d", a.name, n)
	var made int64
	switch shape {
	case 0: // two rows, in either order
		if err := exec(x, "UPDATE items SET qty = qty + 1 WHERE id = ?"); err != nil {
			return err
		}
		if err := exec(y, "UPDATE items SET note = ? WHERE id = ?", note); err != nil {
			return err
		}
	case 1: // read a row for update, then write it
		var qty sql.NullInt64
		err := tx.QueryRowContext(ctx, a.e.bind("SELECT qty FROM items WHERE id = ? FOR UPDATE"), x).Scan(&qty)
		if err != nil && err != sql.ErrNoRows {
			return err
		}
		if err := exec(x, "UPDATE items SET qty = ?, note = ? WHERE id = ?", qty.Int64+1, note); err != nil {
			return err
		}
	case 2: // a new row, then an existing one
		if made, err = a.e.insertRow(ctx, tx, note); err != nil {
			return err
		}
		if err := exec(x, "UPDATE items SET qty = qty - 1 WHERE id = ?"); err != nil {
			return err
		}
	case 3: // delete one row, update another
		if err := exec(x, "DELETE FROM items WHERE id = ?"); err != nil {
			return err
		}
		gone[x] = true
		if err := exec(y, "UPDATE items SET note = ? WHERE id = ?", note); err != nil {
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	if made != 0 {
		a.mine = append(a.mine, made)
		a.p.add(made)
	}
	return nil
}

// querier is a connection or a transaction.
type querier interface {
	ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error)
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
}

// insertRow inserts an item through q and returns its new key.
func (db Database) insertRow(ctx context.Context, q querier, name string) (int64, error) {
	if db.Dollar {
		var id int64
		err := q.QueryRowContext(ctx, "INSERT INTO items (name, qty) VALUES ($1, 0) RETURNING id", name).Scan(&id)
		return id, err
	}
	res, err := q.ExecContext(ctx, "INSERT INTO items (name, qty) VALUES (?, 0)", name)
	if err != nil {
		return 0, err
	}
	return res.LastInsertId()
}
